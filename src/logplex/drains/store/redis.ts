// DrainStore on Redis (design.md §Redis keys; every multi-key script stays inside one `{C}` tag):
//   channel:{C}:drains   hash  drain id → JSON {token, url, created_at}
//   channel:{C}:log      the channel log; consumer group `drain:D` is the drain's read position
//   drain:{C}:D:owner    the lease (SET NX PX; the owner renews it)
//   drain:{C}:D:status   hash of delivery counters, so every node can show them
//   drains               set of `C:D`, so schedulers find every drain without SCAN
// The group has one consumer, `owner`: whichever node holds the lease reads as it, so a new
// owner's first XREADGROUP from 0 returns what the dead one read but never acked.
import { randomUUID } from 'node:crypto';
import { bySlot, type RedisClient } from '../../../shared/redis';
import { applyDelta } from './memory';
import type {
  DrainCounters,
  DrainCursor,
  DrainError,
  DrainExtras,
  DrainLine,
  DrainRecord,
  DrainStatus,
  DrainStore,
  StatusDelta,
} from './index';
import { EMPTY_COUNTERS } from './index';

// KEYS: drains hash, log stream. ARGV: id, JSON record, url, group. 0 = duplicate url.
const CREATE_LUA = `
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
  if cjson.decode(v).url == ARGV[3] then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
pcall(redis.call, 'XGROUP', 'CREATE', KEYS[2], ARGV[4], '$', 'MKSTREAM')
return 1
`;
// KEYS: owner. ARGV: node, ttl ms. Take a free lease or renew our own.
const ACQUIRE_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;
// KEYS: drains hash, log stream. ARGV: id, group. A lost read position comes back only for a
// drain that still exists: a runner reopening after its drain or channel was deleted would
// otherwise recreate the log (MKSTREAM) or the group, and nothing would ever delete them.
const REOPEN_LUA = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
pcall(redis.call, 'XGROUP', 'CREATE', KEYS[2], ARGV[2], '$', 'MKSTREAM')
return 1
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
  sydrainCreate(k1: string, k2: string, id: number, json: string, url: string, group: string): Promise<number>;
  sydrainAcquire(k: string, node: string, ttl: number): Promise<number>;
  sydrainRelease(k: string, node: string): Promise<number>;
  sydrainReopen(k1: string, k2: string, id: number, group: string): Promise<number>;
  sydrainUpdate(k: string, id: number, json: string): Promise<number>;
}

type Entry = [id: string, fields: string[] | null];
type BufferEntry = [id: Buffer, fields: Buffer[] | null];
type Batch = ReturnType<RedisClient['pipeline']>;
const CONSUMER = 'owner';
const seqOf = (id: string): number => Number(id.slice(0, id.indexOf('-')));

export class RedisDrainStore implements DrainStore {
  #redis: RedisClient;
  #prefix: string;

  constructor(redis: RedisClient, opts: { prefix: string }) {
    this.#redis = redis;
    this.#prefix = opts.prefix;
    redis.defineCommand('sydrainCreate', { numberOfKeys: 2, lua: CREATE_LUA });
    redis.defineCommand('sydrainAcquire', { numberOfKeys: 1, lua: ACQUIRE_LUA });
    redis.defineCommand('sydrainRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
    redis.defineCommand('sydrainReopen', { numberOfKeys: 2, lua: REOPEN_LUA });
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
    const rec: DrainRecord = {
      ...extras,
      id,
      channel,
      token: `d.${randomUUID()}`,
      url,
      createdAt: new Date().toISOString(),
    };
    const json = recordJson(rec);
    const ok = await this.#s.sydrainCreate(this.#drains(channel), this.#log(channel), id, json, url, group(id));
    if (!ok) return 'conflict';
    await this.#redis.sadd(this.#index(), `${channel}:${id}`);
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
    return (await this.#s.sydrainUpdate(this.#drains(channel), id, recordJson(rec))) ? rec : undefined;
  }

  async remove(channel: number, id: number): Promise<boolean> {
    const removed = await this.#redis.hdel(this.#drains(channel), String(id));
    // The index lives in another slot than the drain's `{C}` keys: two calls (Cluster).
    await this.#redis.unlink(this.#d(channel, id, 'owner'), this.#d(channel, id, 'status'));
    await this.#redis.srem(this.#index(), `${channel}:${id}`);
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

  async acquire(channel: number, id: number, node: string, ttlMs: number): Promise<boolean> {
    return (await this.#s.sydrainAcquire(this.#d(channel, id, 'owner'), node, ttlMs)) === 1;
  }

  async release(channel: number, id: number, node: string): Promise<void> {
    await this.#s.sydrainRelease(this.#d(channel, id, 'owner'), node);
  }

  cursor(drain: DrainRecord): DrainCursor {
    const reopen = (): Promise<number> =>
      this.#s.sydrainReopen(this.#drains(drain.channel), this.#log(drain.channel), drain.id, group(drain.id));
    return new GroupCursor(
      this.#redis,
      this.#log(drain.channel),
      group(drain.id),
      this.#d(drain.channel, drain.id, 'status'),
      reopen,
    );
  }

  async record(channel: number, id: number, delta: StatusDelta): Promise<void> {
    const p = this.#redis.pipeline();
    addDelta(p, this.#d(channel, id, 'status'), delta);
    if (p.length) await p.exec();
  }

  async status(channel: number, id: number): Promise<DrainStatus> {
    const log = this.#log(channel);
    const [status, owner, groups, last] = (
      (await this.#redis
        .pipeline()
        .hgetall(this.#d(channel, id, 'status'))
        .get(this.#d(channel, id, 'owner'))
        .xinfo('GROUPS', log)
        .xrevrange(log, '+', '-', 'COUNT', 1)
        .exec()) ?? []
    ).map(([, v]) => v) as [Record<string, string>, string | null, unknown[][] | undefined, Entry[] | undefined];
    const counters: DrainCounters = { ...EMPTY_COUNTERS };
    applyDelta(counters, {
      delivered: Number(status?.delivered ?? 0),
      retried: Number(status?.retried ?? 0),
      dropped: Number(status?.dropped ?? 0),
      lost: Number(status?.lost ?? 0),
      lastSuccessAt: status?.last_success_at ?? null,
      lastError: status?.last_error ? (JSON.parse(status.last_error) as DrainError) : null,
      lastTime: status?.last_time ?? null,
    });
    const g = (groups ?? []).map(fieldsOf).find((f) => f.name === group(id));
    let backlog = 0;
    if (g) {
      const pending = Number(g.pending ?? 0);
      const lag =
        typeof g.lag === 'number' ? g.lag : Math.max(0, (last?.[0] ? seqOf(last[0][0]) : 0) - seqOf(lastDelivered(g)));
      backlog = pending + lag;
    }
    return { ...counters, backlog, owner: owner ?? null };
  }
}

/** The read position as a consumer group: pending entries (read, never acked) first, then new ones. */
class GroupCursor implements DrainCursor {
  /**
   * While re-delivering pending entries: the id after which to read the PEL next ('0' = its
   * start), so a read-ahead does not return the batch still in flight; undefined once the PEL
   * is done and reads take new entries ('>').
   */
  #pendingAfter: string | undefined = '0';
  constructor(
    readonly redis: RedisClient,
    readonly key: string,
    readonly group: string,
    readonly statusKey: string,
    /** Recreates the group (and the log) at the log's end, if the drain still exists. */
    readonly reopen: () => Promise<number>,
  ) {}

  async open(): Promise<number> {
    this.#pendingAfter = '0';
    const info = await this.#groupInfo();
    const [count, smallest] = (await this.redis.xpending(this.key, this.group)) as [number, string | null];
    if (count > 0 && smallest) return seqOf(smallest) - 1;
    return seqOf(lastDelivered(info));
  }

  async #groupInfo(): Promise<Record<string, unknown>> {
    const find = async (): Promise<Record<string, unknown> | undefined> =>
      ((await this.redis.xinfo('GROUPS', this.key).catch(() => [])) as unknown[][])
        .map(fieldsOf)
        .find((f) => f.name === this.group);
    const found = await find();
    if (found) return found;
    // The log was deleted and recreated under us: start again at its end. (A deleted drain gets
    // nothing back: the XPENDING below then fails, and the scheduler stops the runner.)
    await this.reopen();
    return (await find()) ?? {};
  }

  async read(max: number): Promise<DrainLine[]> {
    while (this.#pendingAfter !== undefined) {
      const { lines, lastId } = await this.#read(max, this.#pendingAfter);
      if (lastId === undefined) this.#pendingAfter = undefined;
      else {
        this.#pendingAfter = lastId;
        if (lines.length) return lines;
      }
    }
    return (await this.#read(max, '>')).lines;
  }

  async #read(max: number, from: string): Promise<{ lines: DrainLine[]; lastId: string | undefined }> {
    // As Buffers (ioredis has no typed xreadgroupBuffer): it would otherwise decode every field
    // of every entry into a string.
    const res = (await this.redis.callBuffer(
      'XREADGROUP',
      'GROUP',
      this.group,
      CONSUMER,
      'COUNT',
      max,
      'STREAMS',
      this.key,
      from,
    )) as [Buffer, BufferEntry[]][] | null;
    const entries = res?.[0]?.[1] ?? [];
    const lines: DrainLine[] = [];
    const gone: string[] = [];
    for (const [id, f] of entries) {
      // A pending entry trimmed from the log comes back without fields: lost, and counted by the seq gap.
      if (f === null) gone.push(id.toString('latin1'));
      else lines.push(drainLine(id, f));
    }
    if (gone.length) await this.redis.xack(this.key, this.group, ...gone);
    return { lines, lastId: entries.length ? entries[entries.length - 1]![0].toString('latin1') : undefined };
  }

  async ack(seqs: readonly number[], delta?: StatusDelta): Promise<void> {
    if (!seqs.length && !delta) return;
    // MULTI: one round trip, and the status never counts a delivery whose ack did not land.
    const m = this.redis.multi();
    if (seqs.length) m.xack(this.key, this.group, ...seqs.map((s) => `${s}-0`));
    if (delta) addDelta(m, this.statusKey, delta);
    // A command that failed inside (NOGROUP: the drain was removed) fails the ack, as alone.
    for (const [err] of (await m.exec()) ?? []) if (err) throw err;
  }
}

/** The status hash commands for a delta (HINCRBY per counter, one HSET of the last fields). */
function addDelta(p: Batch, key: string, delta: StatusDelta): void {
  for (const f of ['delivered', 'retried', 'dropped', 'lost'] as const) if (delta[f]) p.hincrby(key, f, delta[f]!);
  const set: Record<string, string> = {};
  if (delta.lastSuccessAt) set.last_success_at = delta.lastSuccessAt;
  if (delta.lastError) set.last_error = JSON.stringify(delta.lastError);
  if (delta.lastTime) set.last_time = delta.lastTime;
  if (Object.keys(set).length) p.hset(key, set);
}

const EMPTY: Buffer = Buffer.alloc(0);

/**
 * A channel-log entry (`SEQ-0`, fields n t p s d m, as `toLine` in ../../store/redis reads them)
 * from its Buffers: the seq from the id, MSG kept as bytes, the short header fields decoded.
 */
function drainLine(id: Buffer, f: Buffer[]): DrainLine {
  let t = '';
  let p = 0;
  let s = '';
  let d = '';
  let m = EMPTY;
  let msgid: string | undefined;
  let sd: string | undefined;
  for (let i = 0; i + 1 < f.length; i += 2) {
    const k = f[i]!;
    if (k.length !== 1) continue;
    const v = f[i + 1]!;
    switch (k[0]) {
      case 0x74:
        t = v.toString();
        break; // t
      case 0x70:
        p = digitsOf(v, v.length);
        break; // p
      case 0x73:
        s = v.toString();
        break; // s
      case 0x64:
        d = v.toString();
        break; // d
      case 0x6d:
        m = v;
        break; // m
      case 0x69:
        msgid = v.toString();
        break; // i: MSGID, when the sender gave one
      case 0x78:
        sd = v.toString();
        break; // x: STRUCTURED-DATA as JSON, when the sender gave any
    }
  }
  const dash = id.indexOf(0x2d);
  const line: DrainLine = { seq: digitsOf(id, dash < 0 ? id.length : dash), time: t, pri: p, source: s, ps: d, msg: m };
  if (msgid) line.msgid = msgid;
  if (sd) {
    try {
      line.sd = JSON.parse(sd) as DrainLine['sd'];
    } catch {
      /* not ours: sent without it */
    }
  }
  return line;
}

/** The decimal number in b[0, end), NaN when a byte is not a digit (0 when empty, as Number('')). */
function digitsOf(b: Buffer, end: number): number {
  let n = 0;
  for (let i = 0; i < end; i++) {
    const c = b[i]! - 0x30;
    if (c < 0 || c > 9) return NaN;
    n = n * 10 + c;
  }
  return n;
}

const group = (id: number): string => `drain:${id}`;

/** The stored JSON of a record (`url` is read by CREATE_LUA); extras only when set. */
function recordJson(r: DrainRecord): string {
  const { secret, headers, filter, app } = r;
  return JSON.stringify({ token: r.token, url: r.url, created_at: r.createdAt, secret, headers, filter, app });
}

function parseRecord(channel: number, id: number, json: string): DrainRecord {
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
