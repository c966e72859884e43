// DrainStore on Redis (design.md §Redis keys; every multi-key script stays inside one `{C}` tag):
//   channel:{C}:drains   hash  drain id → JSON {token, url, created_at}
//   channel:{C}:log      the channel log, read with XRANGE after the drain's position
//   drain:{C}:D:owner    the lease, `<epoch> <node>` (PX; the owner renews it)
//   drain:{C}:D:epoch    counter: the epoch of the latest holder (fences every older one)
//   drain:{C}:D:status   hash of delivery counters and `seq`, the drain's position
//   drains               set of `C:D`, so schedulers find every drain without SCAN
// The position moves only by the holder's fenced ack (./redis-cursor.ts). Drains made before
// positions were kept still have a consumer group `drain:D`: their first position comes from it.
import { bySlot, type RedisClient } from '../../../shared/redis';
import type {
  DrainCounters,
  DrainCursor,
  DrainError,
  DrainExtras,
  DrainRecord,
  DrainStatus,
  DrainStore,
} from './index';
import { EMPTY_COUNTERS, newRecord, statusAt } from './index';
import type { Known } from '../../store/known';
import { defineCursorScripts, PositionCursor } from './redis-cursor';

// KEYS: drains hash, channel hash, status. ARGV: id, JSON record, url. 0 = duplicate url. The
// position starts at the channel's last seq.
const CREATE_LUA = `
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
  if cjson.decode(v).url == ARGV[3] then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], 'seq', redis.call('HGET', KEYS[2], 'seq') or '0')
return 1
`;
// KEYS: lease, epoch counter. ARGV: node, ttl ms, epoch (0: a new take). A new take needs a free
// lease and gets the next epoch; a renewal keeps its epoch, and may take the lease back after it
// lapsed only while no other holder came in between (the counter still at that epoch).
const ACQUIRE_LUA = `
local cur = redis.call('GET', KEYS[1])
local want = tonumber(ARGV[3])
if want > 0 then
  local token = ARGV[3] .. ' ' .. ARGV[1]
  if cur == token then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return want end
  if cur or tonumber(redis.call('GET', KEYS[2]) or '0') ~= want then return 0 end
  redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
  return want
end
if cur then return 0 end
local e = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], e .. ' ' .. ARGV[1], 'PX', ARGV[2])
return e
`;
// KEYS: drains hash. ARGV: id, JSON record. Replaces a record that still exists (never revives one).
const UPDATE_LUA = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`;
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

interface Scripted {
  sydrainCreate(k1: string, k2: string, k3: string, id: number, json: string, url: string): Promise<number>;
  sydrainAcquire(k1: string, k2: string, node: string, ttl: number, epoch: number): Promise<number>;
  sydrainRelease(k: string, token: string): Promise<number>;
  sydrainUpdate(k: string, id: number, json: string): Promise<number>;
}

type Entry = [id: string, fields: string[] | null];
const seqOf = (id: string): number => Number(id.slice(0, id.indexOf('-')));

export class RedisDrainStore implements DrainStore {
  #redis: RedisClient;
  #prefix: string;
  /** What this node saw, for a reseed (../../store/known.ts). */
  #known: Known | undefined;

  constructor(redis: RedisClient, opts: { prefix: string; known?: Known }) {
    this.#redis = redis;
    this.#prefix = opts.prefix;
    this.#known = opts.known;
    redis.defineCommand('sydrainCreate', { numberOfKeys: 3, lua: CREATE_LUA });
    redis.defineCommand('sydrainAcquire', { numberOfKeys: 2, lua: ACQUIRE_LUA });
    redis.defineCommand('sydrainRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
    defineCursorScripts(redis);
    redis.defineCommand('sydrainUpdate', { numberOfKeys: 1, lua: UPDATE_LUA });
  }

  get #s(): Scripted {
    return this.#redis as unknown as Scripted;
  }
  #drains(c: number): string {
    return `${this.#prefix}channel:{${c}}:drains`;
  }
  #log(c: number): string {
    return `${this.#prefix}channel:{${c}}:log`;
  }
  #d(c: number, id: number, rest: string): string {
    return `${this.#prefix}drain:{${c}}:${id}:${rest}`;
  }
  #index(): string {
    return `${this.#prefix}drains`;
  }

  async create(channel: number, url: string, extras: DrainExtras = {}): Promise<DrainRecord | 'conflict'> {
    const id = await this.#redis.incr(`${this.#prefix}channels:next-id`);
    const rec = newRecord(id, channel, url, extras);
    const json = recordJson(rec);
    const ok = await this.#s.sydrainCreate(
      this.#drains(channel),
      `${this.#prefix}channel:{${channel}}`,
      this.#d(channel, id, 'status'),
      id,
      json,
      url,
    );
    if (!ok) return 'conflict';
    await this.#redis.sadd(this.#index(), `${channel}:${id}`);
    this.#known?.learnDrain(rec);
    return rec;
  }

  async list(channel: number): Promise<DrainRecord[]> {
    const all = await this.#redis.hgetall(this.#drains(channel));
    return Object.entries(all)
      .map(([id, json]) => parseRecord(channel, Number(id), json))
      .sort((a, b) => a.id - b.id);
  }

  async get(channel: number, id: number): Promise<DrainRecord | undefined> {
    const json = await this.#redis.hget(this.#drains(channel), String(id));
    return json === null ? undefined : parseRecord(channel, id, json);
  }

  async update(channel: number, id: number, patch: DrainExtras): Promise<DrainRecord | undefined> {
    const cur = await this.get(channel, id);
    if (!cur) return undefined;
    const rec = { ...cur, ...patch };
    if (!(await this.#s.sydrainUpdate(this.#drains(channel), id, recordJson(rec)))) return undefined;
    this.#known?.learnDrain(rec);
    return rec;
  }

  async remove(channel: number, id: number): Promise<boolean> {
    this.#known?.forgetDrain(channel, id);
    const removed = await this.#redis.hdel(this.#drains(channel), String(id));
    // The index lives in another slot than the drain's `{C}` keys: two calls (Cluster).
    await this.#redis.unlink(
      this.#d(channel, id, 'owner'),
      this.#d(channel, id, 'epoch'),
      this.#d(channel, id, 'status'),
    );
    await this.#redis.srem(this.#index(), `${channel}:${id}`);
    // A drain from before positions were kept may still have its consumer group.
    await this.#redis.xgroup('DESTROY', this.#log(channel), group(id)).catch(() => undefined);
    return removed > 0;
  }

  async scan(cursor: string, count: number): Promise<{ next: string; drains: DrainRecord[] }> {
    const [next, members] = await this.#redis.sscan(this.#index(), cursor, 'COUNT', Math.max(count, 1));
    const ids = members.map((m) => m.split(':').map(Number) as [number, number]);
    // One pipeline per slot on Cluster: the drains of many channels live in many slots.
    const res = await bySlot(
      this.#redis,
      ids.map(([c]) => this.#drains(c)),
      (p, key, i) => p.hget(key, String(ids[i]![1])),
    );
    const drains: DrainRecord[] = [];
    const stale: string[] = [];
    ids.forEach(([c, d], i) => {
      const json = res[i]?.[1] as string | null | undefined;
      if (typeof json === 'string') drains.push(parseRecord(c, d, json));
      else if (!res[i]?.[0]) stale.push(`${c}:${d}`); // its channel was deleted
    });
    if (stale.length) await this.#redis.srem(this.#index(), ...stale);
    return { next, drains };
  }

  async acquire(channel: number, id: number, node: string, ttlMs: number, epoch = 0): Promise<number> {
    return this.#s.sydrainAcquire(this.#d(channel, id, 'owner'), this.#d(channel, id, 'epoch'), node, ttlMs, epoch);
  }

  async release(channel: number, id: number, node: string, epoch: number): Promise<void> {
    await this.#s.sydrainRelease(this.#d(channel, id, 'owner'), `${epoch} ${node}`);
  }

  cursor(drain: DrainRecord, epoch: number): DrainCursor {
    const log = this.#log(drain.channel);
    return new PositionCursor(
      this.#redis,
      {
        drain: drain.id,
        lease: this.#d(drain.channel, drain.id, 'owner'),
        log,
        status: this.#d(drain.channel, drain.id, 'status'),
      },
      epoch,
      () =>
        this.#legacyPosition(log, group(drain.id)).catch(() => {
          // No position and no group: the drain was deleted (the scheduler stops the runner).
          throw new Error(`drain ${drain.id} has no read position (deleted)`);
        }),
    );
  }

  /**
   * A drain created before positions were kept: the oldest entry its consumer group left pending,
   * or the group's last read (once acked, the position is kept in its status hash).
   */
  async #legacyPosition(log: string, g: string): Promise<number> {
    const [count, smallest] = (await this.#redis.xpending(log, g)) as [number, string | null];
    if (count > 0 && smallest) return seqOf(smallest) - 1;
    const info = ((await this.#redis.xinfo('GROUPS', log)) as unknown[][]).map(fieldsOf).find((f) => f.name === g);
    return seqOf(info ? lastDelivered(info) : '0-0');
  }

  async status(channel: number, id: number): Promise<DrainStatus> {
    const log = this.#log(channel);
    const [status, owner, head, last] = (
      (await this.#redis
        .pipeline()
        .hgetall(this.#d(channel, id, 'status'))
        .get(this.#d(channel, id, 'owner'))
        .xrange(log, '-', '+', 'COUNT', 1)
        .hget(`${this.#prefix}channel:{${channel}}`, 'seq')
        .exec()) ?? []
    ).map(([, v]) => v) as [Record<string, string>, string | null, Entry[] | undefined, string | null];
    const counters: DrainCounters = {
      ...EMPTY_COUNTERS,
      delivered: Number(status?.delivered ?? 0),
      retried: Number(status?.retried ?? 0),
      dropped: Number(status?.dropped ?? 0),
      filtered: Number(status?.filtered ?? 0),
      lost: Number(status?.lost ?? 0),
      lastSuccessAt: status?.last_success_at ?? null,
      lastError: status?.last_error ? (JSON.parse(status.last_error) as DrainError) : null,
      lastTime: status?.last_time ?? null,
    };
    const lastSeq = Number(last ?? 0);
    const position =
      status?.seq !== undefined ? Number(status.seq) : await this.#legacyPosition(log, group(id)).catch(() => lastSeq);
    const firstKept = head?.[0] ? seqOf(head[0][0]) : lastSeq + 1;
    const sp = owner ? owner.indexOf(' ') : -1;
    const lease = owner && sp > 0 ? { node: owner.slice(sp + 1), epoch: Number(owner.slice(0, sp)) } : undefined;
    return statusAt(counters, position, firstKept, lastSeq, lease);
  }
}

const group = (id: number): string => `drain:${id}`;

/** The stored JSON of a record (`url` is read by CREATE_LUA); extras only when set. */
export function recordJson(r: DrainRecord): string {
  const { secret, headers, filter, app } = r;
  return JSON.stringify({ token: r.token, url: r.url, created_at: r.createdAt, secret, headers, filter, app });
}

export function parseRecord(channel: number, id: number, json: string): DrainRecord {
  const v = JSON.parse(json) as { token: string; url: string; created_at: string } & DrainExtras;
  const rec: DrainRecord = { id, channel, token: v.token, url: v.url, createdAt: v.created_at };
  if (v.secret) rec.secret = v.secret;
  if (v.headers) rec.headers = v.headers;
  if (v.filter) rec.filter = v.filter;
  if (v.app) rec.app = v.app;
  return rec;
}

function fieldsOf(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

/** A consumer group's last-delivered-id from XINFO GROUPS (a string; `0-0` when absent). */
const lastDelivered = (g: Record<string, unknown>): string => {
  const id = g['last-delivered-id'];
  return typeof id === 'string' ? id : '0-0';
};
