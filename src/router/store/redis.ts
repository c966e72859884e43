// RouteStore on Redis (design.md §Stores). Per-app writes are Lua scripts on one `{a}` hash tag that
// bump the version and PUBLISH on `PREFIX route-events` (redis-scripts.ts). The two global
// keys — the `apps` set and `domain:HOST` — are written by single-key commands around them,
// ordered so that a crash in between leaves nothing a reader trusts (docs/decisions.md).
import type { Logger } from '../../shared/log';
import {
  closeRedis,
  commandsInFlight,
  createRedis,
  RedisHealth,
  redisDisplay,
  reportUnreachable,
  type RedisClient,
} from '../../shared/redis';
import type { AppRecord } from '../table/route-table';
import type { CertStore, StoredCert } from './certs';
import { StoreError, type AppSettings, type DynoInput, type RouteEvent, type RouteStore } from './index';
import { appKeys, defineLoadCommand, LOAD_CHUNK, LOAD_PARALLEL, loadApps, scanAppNames } from './redis-load';
import { RedisCerts } from './redis-certs';
import * as scripts from './redis-scripts';

/** Dynos whose lease ended this long ago are dropped at the app's next heartbeat. */
const DEAD_DYNO_GC_MS = 10 * 60_000;

type ScriptName =
  'syPutApp' | 'syDeleteApp' | 'syAttachDomain' | 'syDetachDomain' | 'syPutDyno' | 'syDeleteDyno' | 'syReleaseDomain';
type Scripted = { [K in ScriptName]: (...args: (string | number)[]) => Promise<unknown> };

export class RedisRouteStore implements RouteStore, CertStore {
  readonly #client: RedisClient;
  readonly #sub: RedisClient;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #health: RedisHealth[];
  readonly #listeners = new Set<(e: RouteEvent) => void>();
  #subscribed: Promise<unknown> | undefined;
  readonly #stopReporting: () => void;
  readonly #certs: RedisCerts;

  /**
   * Connects in the background: a Redis away at start leaves the router up and not ready, and
   * `log` (when given) gets one line per interval naming the URL (shared/redis.ts).
   */
  constructor(url: string, prefix: string, opts: { log?: Logger } = {}) {
    this.#client = createRedis(url);
    // Pub/sub needs its own connection; ioredis re-subscribes it after a reconnect.
    this.#sub = createRedis(url);
    this.#prefix = prefix;
    this.#channel = `${prefix}route-events`;
    this.#health = [new RedisHealth(this.#client), new RedisHealth(this.#sub)];
    const log = opts.log;
    this.#stopReporting = log
      ? reportUnreachable(this.#client, this.#health[0]!, (msg, fields) => log.warn(msg, fields))
      : (): void => undefined;
    const defs: [ScriptName, scripts.ScriptDef][] = [
      ['syPutApp', scripts.PUT_APP],
      ['syDeleteApp', scripts.DELETE_APP],
      ['syAttachDomain', scripts.ATTACH_DOMAIN],
      ['syDetachDomain', scripts.DETACH_DOMAIN],
      ['syPutDyno', scripts.PUT_DYNO],
      ['syDeleteDyno', scripts.DELETE_DYNO],
      ['syReleaseDomain', scripts.RELEASE_DOMAIN],
    ];
    for (const [name, def] of defs) this.#client.defineCommand(name, { numberOfKeys: def.numberOfKeys, lua: def.lua });
    defineLoadCommand(this.#client);
    this.#certs = new RedisCerts(this.#client, prefix, this.#channel);
    this.#sub.on('message', (channel: string, message: string) => this.#onMessage(channel, message));
    this.#sub.on('ready', () => {
      if (this.#listeners.size > 0 && this.#subscribed === undefined) this.#subscribe();
    });
  }

  get #run(): Scripted {
    return this.#client as unknown as Scripted;
  }

  /** The URL without password: what /readyz and logs name. */
  get where(): string {
    return redisDisplay(this.#client);
  }

  get up(): boolean {
    return this.#health.every((h) => h.up);
  }

  commandsInFlight(): number {
    return commandsInFlight(this.#client) + commandsInFlight(this.#sub);
  }

  onHealth(listener: (up: boolean, at: number) => void): () => void {
    let last = this.up;
    const check = (): void => {
      const now = this.up;
      if (now === last) return;
      // Down: since the first connection went away (or fell silent); up: now.
      const at = now ? Date.now() : Math.min(...this.#health.filter((h) => !h.up).map((h) => h.since));
      listener((last = now), at);
    };
    for (const h of this.#health) h.on('up', check).on('down', check);
    return () => {
      for (const h of this.#health) h.off('up', check).off('down', check);
    };
  }

  async listApps(): Promise<string[]> {
    return (await scanAppNames(this.#client, this.#key('apps'))).sort();
  }

  async loadApp(name: string): Promise<AppRecord | undefined> {
    return (await loadApps(this.#client, this.#prefix, [name]))[0];
  }

  async loadAll(): Promise<AppRecord[]> {
    const names = await scanAppNames(this.#client, this.#key('apps'));
    const chunks: string[][] = [];
    for (let i = 0; i < names.length; i += LOAD_CHUNK) chunks.push(names.slice(i, i + LOAD_CHUNK));
    const out: AppRecord[] = [];
    // A few pipelines in flight overlap Redis' work with our parsing; more only queue up.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        for (const app of await loadApps(this.#client, this.#prefix, chunk)) out.push(app);
      }
    };
    await Promise.all(Array.from({ length: Math.min(LOAD_PARALLEL, chunks.length) }, worker));
    return out;
  }

  async putApp(name: string, settings: AppSettings): Promise<{ app: AppRecord; created: boolean }> {
    const fields: string[] = [];
    for (const [k, v] of Object.entries(settings)) {
      if (v !== undefined) fields.push(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
    }
    // The `apps` member first: a reader skips a member without its hash, never the reverse.
    await this.#client.sadd(this.#key('apps'), name);
    const [created] = (await this.#run.syPutApp(appKeys(this.#prefix, name).app, this.#channel, name, ...fields)) as [
      number,
      string,
    ];
    const app = await this.loadApp(name);
    if (!app) throw new StoreError('SY_APP_NOT_FOUND', `app ${name} was deleted while being written`);
    return { app, created: created === 1 };
  }

  async deleteApp(name: string): Promise<boolean> {
    const k = appKeys(this.#prefix, name);
    const domains = (await this.#run.syDeleteApp(k.app, k.domains, k.dynos, k.leases, this.#channel, name)) as
      string[] | null;
    await this.#client.srem(this.#key('apps'), name);
    if (domains === null) return false;
    await this.#certs.forget(name);
    for (const host of domains) await this.#run.syReleaseDomain(this.#key(`domain:${host}`), name);
    return true;
  }

  async attachDomain(app: string, host: string): Promise<{ created: boolean }> {
    const k = appKeys(this.#prefix, app);
    if (!(await this.#client.exists(k.app))) throw notFound(app);
    // Ownership is decided by one atomic SET NX on the global key (Cluster-safe: one key).
    const domainKey = this.#key(`domain:${host}`);
    const won = await this.#client.set(domainKey, app, 'NX');
    if (won === null) {
      const owner = await this.#client.get(domainKey);
      if (owner !== null && owner !== app)
        throw new StoreError('SY_DOMAIN_TAKEN', `domain ${host} belongs to app ${owner}`, owner);
      if (owner === null) return this.attachDomain(app, host);
    }
    const added = (await this.#run.syAttachDomain(k.app, k.domains, this.#channel, app, host)) as number | null;
    if (added === null) {
      // The app was deleted between the claim and the attach: give the name back.
      await this.#run.syReleaseDomain(domainKey, app);
      throw notFound(app);
    }
    return { created: added === 1 };
  }

  async detachDomain(app: string, host: string): Promise<boolean> {
    const k = appKeys(this.#prefix, app);
    const removed = (await this.#run.syDetachDomain(k.app, k.domains, this.#channel, app, host)) as number | null;
    if (removed === null) throw notFound(app);
    if (removed === 1) await this.#run.syReleaseDomain(this.#key(`domain:${host}`), app);
    if (removed === 1) await this.#certs.forget(app, host);
    return removed === 1;
  }

  async putDyno(app: string, dyno: string, input: DynoInput): Promise<{ leaseExpiresAt: number; created: boolean }> {
    const k = appKeys(this.#prefix, app);
    const now = Date.now();
    const leaseExpiresAt = now + input.ttl_s * 1000;
    const json = JSON.stringify({ host: input.host, port: input.port, state: input.state });
    const created = (await this.#run.syPutDyno(
      k.app,
      k.dynos,
      k.leases,
      this.#channel,
      app,
      dyno,
      json,
      leaseExpiresAt,
      now - DEAD_DYNO_GC_MS,
    )) as number | null;
    if (created === null) throw notFound(app);
    return { leaseExpiresAt, created: created === 1 };
  }

  async deleteDyno(app: string, dyno: string): Promise<boolean> {
    const k = appKeys(this.#prefix, app);
    const removed = (await this.#run.syDeleteDyno(k.app, k.dynos, k.leases, this.#channel, app, dyno)) as number | null;
    if (removed === null) throw notFound(app);
    return removed === 1;
  }

  async generation(): Promise<string | undefined> {
    return (await this.#client.get(this.#key('generation'))) ?? undefined;
  }

  async claimGeneration(id: string, force = false): Promise<string> {
    const key = this.#key('generation');
    if (force) await this.#client.set(key, id);
    else await this.#client.set(key, id, 'NX');
    return (await this.#client.get(key)) ?? id;
  }

  putCert(cert: StoredCert): Promise<{ created: boolean }> {
    return this.#certs.put(cert);
  }

  getCert(app: string, host: string): Promise<StoredCert | undefined> {
    return this.#certs.get(app, host);
  }

  deleteCert(app: string, host: string): Promise<boolean> {
    return this.#certs.delete(app, host);
  }

  loadCerts(app: string): Promise<StoredCert[]> {
    return this.#certs.load(app);
  }

  loadAllCerts(): Promise<StoredCert[]> {
    return this.#certs.loadAll();
  }

  ticketKey(epoch: number, ttlMs: number): Promise<Buffer> {
    return this.#certs.ticketKey(epoch, ttlMs);
  }

  subscribe(onEvent: (event: RouteEvent) => void): () => void {
    this.#listeners.add(onEvent);
    if (this.#subscribed === undefined) this.#subscribe();
    return () => this.#listeners.delete(onEvent);
  }

  #subscribe(): void {
    this.#subscribed = this.#sub.subscribe(this.#channel).catch(() => {
      // Redis away at start: tried again on 'ready' (ioredis' autoResubscribe covers later reconnects).
      this.#subscribed = undefined;
    });
  }

  /** Resolves once the SUBSCRIBE has been acknowledged (tests and start-up ordering). */
  async subscribed(): Promise<void> {
    await this.#subscribed;
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#stopReporting();
    await Promise.all([closeRedis(this.#client), closeRedis(this.#sub)]);
  }

  #key(name: string): string {
    return this.#prefix + name;
  }

  #onMessage(channel: string, message: string): void {
    if (channel !== this.#channel) return;
    let event: RouteEvent;
    try {
      event = JSON.parse(message) as RouteEvent;
    } catch {
      return;
    }
    if (typeof event?.app !== 'string' || typeof event.version !== 'number') return;
    for (const l of this.#listeners) l(event);
  }
}

const notFound = (app: string): StoreError => new StoreError('SY_APP_NOT_FOUND', `no app ${app}`);
