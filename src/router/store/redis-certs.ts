// Certificates and ticket keys on Redis (design.md §Redis keys). A domain's certificate lives
// in `app:{a}:certs` (hash host → JSON {chain, key}) next to the app's other keys, so every
// script touches one hash tag (one Cluster slot), checks the domain in `app:{a}:domains`,
// bumps the app's version and publishes `{app, version, certs: true}` on route-events in the
// same atomic step. Ticket keys are single keys `tls:ticket-key:EPOCH`, created by SET NX.
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../../shared/redis';
import { TICKET_KEY_BYTES, type StoredCert } from './certs';
import { StoreError } from './index';
import { appKeys, LOAD_CHUNK, scanAppNames } from './redis-load';

const BUMP_CERTS = `
local function bump(appkey, channel, app)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local v = tonumber(redis.call('HGET', appkey, 'version') or '0') + 1
  if now > v then v = now end
  local vs = string.format('%.0f', v)
  redis.call('HSET', appkey, 'version', vs)
  redis.call('PUBLISH', channel, '{"app":' .. cjson.encode(app) .. ',"version":' .. vs .. ',"certs":true}')
end
`;

/** KEYS: app, domains, certs. ARGV: channel, app, host, json. → 1 created, 0 replaced, -1 no app, -2 no domain. */
const PUT_CERT = `${BUMP_CERTS}
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 0 then return -2 end
local created = redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
bump(KEYS[1], ARGV[1], ARGV[2])
return created`;

/** KEYS: app, certs. ARGV: channel, app, host. → 1 removed, 0 none, -1 no app. */
const DELETE_CERT = `${BUMP_CERTS}
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local removed = redis.call('HDEL', KEYS[2], ARGV[3])
if removed == 1 then bump(KEYS[1], ARGV[1], ARGV[2]) end
return removed`;

/** KEYS: domains, certs. → [host, json, …] of the hosts still attached (a detached domain's leftover is skipped). */
const LOAD_CERTS = `local out = {}
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  if redis.call('SISMEMBER', KEYS[1], all[i]) == 1 then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  end
end
return out`;

type Scripted = {
  syPutCert(...args: string[]): Promise<number>;
  syDeleteCert(...args: string[]): Promise<number>;
  syLoadCerts(...args: string[]): Promise<string[]>;
};

export const certsKey = (prefix: string, app: string): string => `${appKeys(prefix, app).app}:certs`;
export const ticketKeyName = (prefix: string, epoch: number): string => `${prefix}tls:ticket-key:${epoch}`;

/** The certificate and ticket-key operations of RedisRouteStore, on its client. */
export class RedisCerts {
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #channel: string;

  constructor(client: RedisClient, prefix: string, channel: string) {
    this.#client = client;
    this.#prefix = prefix;
    this.#channel = channel;
    client.defineCommand('syPutCert', { numberOfKeys: 3, lua: PUT_CERT });
    client.defineCommand('syDeleteCert', { numberOfKeys: 2, lua: DELETE_CERT });
    client.defineCommand('syLoadCerts', { numberOfKeys: 2, lua: LOAD_CERTS });
  }

  get #run(): Scripted {
    return this.#client as unknown as Scripted;
  }

  async put(c: StoredCert): Promise<{ created: boolean }> {
    const k = appKeys(this.#prefix, c.app);
    const json = JSON.stringify({ chain: c.chain, key: c.key });
    const r = await this.#run.syPutCert(
      k.app,
      k.domains,
      certsKey(this.#prefix, c.app),
      this.#channel,
      c.app,
      c.host,
      json,
    );
    if (r === -1) throw new StoreError('SY_APP_NOT_FOUND', `no app ${c.app}`);
    if (r === -2) throw new StoreError('SY_DOMAIN_NOT_FOUND', `app ${c.app} has no domain ${c.host}`);
    return { created: r === 1 };
  }

  async get(app: string, host: string): Promise<StoredCert | undefined> {
    return (await this.load(app)).find((c) => c.host === host);
  }

  async delete(app: string, host: string): Promise<boolean> {
    const k = appKeys(this.#prefix, app);
    const r = await this.#run.syDeleteCert(k.app, certsKey(this.#prefix, app), this.#channel, app, host);
    if (r === -1) throw new StoreError('SY_APP_NOT_FOUND', `no app ${app}`);
    return r === 1;
  }

  async load(app: string): Promise<StoredCert[]> {
    const flat = await this.#run.syLoadCerts(appKeys(this.#prefix, app).domains, certsKey(this.#prefix, app));
    const out: StoredCert[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      try {
        const { chain, key } = JSON.parse(flat[i + 1]!) as { chain: string; key: string };
        out.push({ app, host: flat[i]!, chain, key });
      } catch {
        // A value we did not write: skipped, never served.
      }
    }
    return out;
  }

  async loadAll(): Promise<StoredCert[]> {
    const names = await scanAppNames(this.#client, `${this.#prefix}apps`);
    const out: StoredCert[] = [];
    for (let i = 0; i < names.length; i += LOAD_CHUNK) {
      // One call per app (one hash tag each), LOAD_CHUNK in flight on the connection at once.
      for (const certs of await Promise.all(names.slice(i, i + LOAD_CHUNK).map((n) => this.load(n))))
        out.push(...certs);
    }
    return out;
  }

  /** Removes what a deleted app or detached domain left (LOAD_CERTS already skips it). */
  async forget(app: string, host?: string): Promise<void> {
    if (host === undefined) await this.#client.del(certsKey(this.#prefix, app));
    else await this.#client.hdel(certsKey(this.#prefix, app), host);
  }

  async ticketKey(epoch: number, ttlMs: number): Promise<Buffer> {
    const name = ticketKeyName(this.#prefix, epoch);
    await this.#client.set(name, randomBytes(TICKET_KEY_BYTES).toString('base64'), 'PX', ttlMs, 'NX');
    const b64 = await this.#client.get(name);
    const key = b64 === null ? undefined : Buffer.from(b64, 'base64');
    if (key === undefined || key.length !== TICKET_KEY_BYTES)
      throw new Error(`ticket key ${name} is missing or malformed`);
    return key;
  }
}
