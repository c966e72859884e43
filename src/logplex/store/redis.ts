// LogStore on Redis (design.md §Redis keys). The channel log is a stream `channel:{C}:log` whose
// entry ids are `SEQ-0` and whose fields are `h` and `m` (./entry.ts: explicit fields for lines with
// MSGID or STRUCTURED-DATA); one Lua script per batch
// bumps `channel:{C}` `seq`, XADDs the batch, trims with MAXLEN ~ and publishes it on `tail:{C}` for
// the other nodes' tail sessions. Every multi-key call stays inside one `{C}` hash tag.
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../shared/redis';
import { bySlot, masters, RedisHealth } from '../../shared/redis';
import type { LogLine, NewLine } from '../lines';
import { encodeBatch, parseHead, withExtras, type ExplicitFields } from './entry';
import type { Channel, LogStore, ReadResult, RemoteLines, SessionRecord, TokenInfo, TokenRecord } from './index';
import type { Known } from './known';

// KEYS: channel hash, log stream, tail pub/sub channel.
// ARGV: maxlen, node tag, the batch as ./entry.ts encodes it: flat JSON [h1, m1, …] and the explicit
// lines' fields (sent once: decoded here and published as is, `NODE FIRST FLAT\nEXPLICIT`). A flat
// array of strings, not an array per line: cjson builds no table per line. One XTRIM per batch
// instead of MAXLEN on every XADD. No seq field beside the id (older entries have an `n`, which
// toLine still reads). Returns the first seq of the batch, or -1 when the channel is gone.
const APPEND_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local flat = cjson.decode(ARGV[3])
local explicit = ARGV[4] ~= '' and cjson.decode(ARGV[4]) or {}
local n = #flat / 2
local first = redis.call('HINCRBY', KEYS[1], 'seq', n) - n + 1
for i = 1, n do
  local id = (first + i - 1) .. '-0'
  local h = flat[2 * i - 1]
  if h ~= '' then
    redis.call('XADD', KEYS[2], id, 'h', h, 'm', flat[2 * i])
  else
    local e = explicit[tostring(i)]
    redis.call('XADD', KEYS[2], id, 't', e[1], 'p', e[2], 's', e[3], 'd', e[4], 'm', flat[2 * i], 'i', e[5], 'x', e[6])
  end
end
redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', ARGV[1])
redis.call('PUBLISH', KEYS[3], ARGV[2] .. ' ' .. first .. ' ' .. ARGV[3] .. '\\n' .. ARGV[4])
return first
`;

type Entry = [id: string, fields: string[]];

interface Scripted {
  sylogAppend(...args: (string | number)[]): Promise<number>;
}

export class RedisLogStore implements LogStore {
  readonly kind = 'redis';
  #redis: RedisClient;
  #sub: RedisClient | undefined;
  #prefix: string;
  #maxLen: number;
  #health: RedisHealth;
  /** Tags this node's publishes so its own subscriber skips them (local fan-out is direct). */
  #node = randomUUID().slice(0, 8);
  #watchers = new Map<string, Set<RemoteLines>>();
  /** Settles once Redis confirmed the SUBSCRIBE of each watched channel (or it failed). */
  #subscribed = new Map<string, Promise<void>>();
  /** What this node saw, for a reseed (known.ts). */
  #known: Known | undefined;

  /** The command connection (readiness waits on it). */
  get client(): RedisClient {
    return this.#redis;
  }

  constructor(redis: RedisClient, opts: { prefix: string; historyLines: number; known?: Known }) {
    this.#redis = redis;
    this.#prefix = opts.prefix;
    this.#maxLen = opts.historyLines;
    this.#known = opts.known;
    this.#health = new RedisHealth(redis);
    redis.defineCommand('sylogAppend', { numberOfKeys: 3, lua: APPEND_LUA });
  }

  #k(key: string): string {
    return this.#prefix + key;
  }
  #ch(id: number, rest = ''): string {
    return `${this.#prefix}channel:{${id}}${rest}`;
  }

  async nextId(): Promise<number> {
    return this.#redis.incr(this.#k('channels:next-id'));
  }

  async createChannel(name: string, tokenNames: readonly string[]): Promise<Channel> {
    const id = await this.nextId();
    const createdAt = new Date().toISOString();
    const tokens = [...new Set(tokenNames)].map((n) => ({ name: n, token: `t.${randomUUID()}` }));
    // token:T keys live in other slots (one pipeline per slot on Cluster); they go first, then the
    // channel's own keys in one `{C}` transaction, so a half-written channel has no hash and
    // refuses appends.
    const tokenKeys = tokens.map((t) => this.#k(`token:${t.token}`));
    throwFirst(
      await bySlot(this.#redis, tokenKeys, (p, key, i) =>
        p.set(key, JSON.stringify({ channel: id, name: tokens[i]!.name })),
      ),
    );
    const m = this.#redis.multi();
    for (const t of tokens) m.hset(this.#ch(id, ':tokens'), t.name, t.token);
    m.hset(this.#ch(id), 'name', name, 'created', createdAt);
    await exec(m);
    await this.#redis.zadd(this.#k('channels'), id, String(id));
    const channel = { id, name, createdAt, tokens };
    this.#known?.learnChannel(channel, { seq: 0 });
    return channel;
  }

  async getChannel(id: number): Promise<Channel | undefined> {
    const [hash, tokens] = (await exec(
      this.#redis.pipeline().hgetall(this.#ch(id)).hgetall(this.#ch(id, ':tokens')),
    )) as [Record<string, string>, Record<string, string>];
    if (hash.name === undefined) return undefined;
    const channel = {
      id,
      name: hash.name,
      createdAt: hash.created ?? '',
      tokens: Object.entries(tokens).map(([name, token]) => ({ name, token })),
    };
    this.#known?.learnChannel(channel);
    return channel;
  }

  async listChannels(limit: number): Promise<{ id: number; name: string }[]> {
    const ids = await this.#redis.zrange(this.#k('channels'), 0, limit - 1);
    if (ids.length === 0) return [];
    const replies = await bySlot(
      this.#redis,
      ids.map((id) => this.#ch(Number(id))),
      (p, key) => p.hget(key, 'name'),
    );
    const names = throwFirst(replies) as (string | null)[];
    const out: { id: number; name: string }[] = [];
    ids.forEach((id, i) => {
      if (names[i] !== null) out.push({ id: Number(id), name: names[i]! });
    });
    return out;
  }

  async deleteChannel(id: number): Promise<boolean> {
    this.#known?.forgetChannel(id);
    await this.#redis.zrem(this.#k('channels'), String(id));
    const tokens = await this.#redis.hvals(this.#ch(id, ':tokens'));
    // The hash first: from here on appends see the channel gone.
    const existed = (await this.#redis.unlink(this.#ch(id))) > 0;
    // token:T keys hash to different slots: one UNLINK each (pipelined), never one multi-key call.
    throwFirst(
      await bySlot(
        this.#redis,
        tokens.map((t) => this.#k(`token:${t}`)),
        (p, key) => p.unlink(key),
      ),
    );
    for (const pattern of [this.#ch(id, ':*'), `${this.#prefix}drain:{${id}}:*`]) await this.#unlinkMatching(pattern);
    return existed || tokens.length > 0;
  }

  /** Every key of one `{C}` hash tag matching `pattern` (same slot: multi-key UNLINK is fine). */
  async #unlinkMatching(pattern: string): Promise<void> {
    const match = pattern
      .replace(/[?[\]\\]/g, '\\$&')
      .replace(/\{/g, '\\{')
      .replace(/\}/g, '\\}');
    // SCAN walks one node: on a Cluster, walk every master (the keys live on one of them).
    for (const node of masters(this.#redis)) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await this.#redis.unlink(...keys);
      } while (cursor !== '0');
    }
  }

  async addToken(channel: number, name: string): Promise<TokenRecord | undefined> {
    if (!(await this.#redis.exists(this.#ch(channel)))) return undefined;
    const token = `t.${randomUUID()}`;
    // Names are unique per channel (the hash is name → token): an existing name keeps its token.
    const created = await this.#redis.hsetnx(this.#ch(channel, ':tokens'), name, token);
    if (!created) {
      const existing = await this.#redis.hget(this.#ch(channel, ':tokens'), name);
      return existing ? { name, token: existing } : undefined;
    }
    await this.#redis.set(this.#k(`token:${token}`), JSON.stringify({ channel, name }));
    this.#known?.learnToken(channel, { name, token });
    return { name, token };
  }

  async resolveToken(token: string): Promise<TokenInfo | undefined> {
    const raw = await this.#redis.get(this.#k(`token:${token}`));
    if (raw === null) return undefined;
    const v = JSON.parse(raw) as TokenInfo;
    return { channel: v.channel, name: v.name };
  }

  async append(channel: number, lines: readonly NewLine[]): Promise<LogLine[] | undefined> {
    if (lines.length === 0) return [];
    const { flat, explicit } = encodeBatch(lines);
    const first = await (this.#redis as unknown as Scripted).sylogAppend(
      this.#ch(channel),
      this.#ch(channel, ':log'),
      this.#k(`tail:{${channel}}`),
      this.#maxLen,
      this.#node,
      flat,
      explicit,
    );
    if (first < 0) return undefined;
    this.#known?.advance(channel, first + lines.length - 1);
    return numbered(lines, first);
  }

  async history(channel: number, num: number): Promise<LogLine[]> {
    if (num <= 0) return [];
    const entries = (await this.#redis.xrevrange(this.#ch(channel, ':log'), '+', '-', 'COUNT', num)) as Entry[];
    return entries.reverse().map(toLine);
  }

  async readBefore(channel: number, beforeSeq: number, count: number): Promise<LogLine[]> {
    if (count <= 0 || beforeSeq <= 1) return [];
    const end = Number.isFinite(beforeSeq) ? `(${beforeSeq}-0` : '+';
    const entries = (await this.#redis.xrevrange(this.#ch(channel, ':log'), end, '-', 'COUNT', count)) as Entry[];
    return entries.reverse().map(toLine);
  }

  async readAfter(channel: number, afterSeq: number, count: number): Promise<ReadResult> {
    const key = this.#ch(channel, ':log');
    const [head, rest] = (await exec(
      this.#redis
        .pipeline()
        .xrange(key, '-', '+', 'COUNT', 1)
        .xrange(key, `(${afterSeq}-0`, '+', 'COUNT', Math.max(count, 1)),
    )) as [Entry[], Entry[]];
    const firstSeq = head.length ? toLine(head[0]!).seq : 0;
    return { lines: count <= 0 ? [] : rest.map(toLine), firstSeq };
  }

  async putSession(id: string, session: SessionRecord, ttlMs: number): Promise<void> {
    await this.#redis.set(this.#k(`session:${id}`), JSON.stringify(session), 'PX', ttlMs);
  }

  async takeSession(id: string): Promise<SessionRecord | undefined> {
    const raw = await this.#redis.getdel(this.#k(`session:${id}`));
    return raw === null ? undefined : (JSON.parse(raw) as SessionRecord);
  }

  watchRemote(channel: number, onLines: RemoteLines): () => void {
    const name = this.#k(`tail:{${channel}}`);
    let set = this.#watchers.get(name);
    if (!set) {
      set = new Set();
      this.#watchers.set(name, set);
      this.#subscribed.set(
        name,
        this.#subscriber()
          .subscribe(name)
          .then(
            () => undefined,
            () => undefined,
          ),
      );
    }
    set.add(onLines);
    return () => {
      const s = this.#watchers.get(name);
      if (!s?.delete(onLines) || s.size > 0) return;
      this.#watchers.delete(name);
      this.#subscribed.delete(name);
      void this.#sub?.unsubscribe(name).catch(() => undefined);
    };
  }

  /** Settles once lines appended to `channel` from now on reach this node's watchers. */
  watching(channel: number): Promise<void> {
    return this.#subscribed.get(this.#k(`tail:{${channel}}`)) ?? Promise.resolve();
  }

  #subscriber(): RedisClient {
    if (this.#sub) return this.#sub;
    const sub = this.#redis.duplicate();
    sub.on('error', () => undefined);
    sub.on('message', (name: string, message: string) => this.#onMessage(name, message));
    this.#sub = sub;
    return sub;
  }

  #onMessage(name: string, message: string): void {
    const set = this.#watchers.get(name);
    if (!set) return;
    const sp1 = message.indexOf(' ');
    const sp2 = message.indexOf(' ', sp1 + 1);
    if (sp1 < 0 || sp2 < 0 || message.slice(0, sp1) === this.#node) return;
    const first = Number(message.slice(sp1 + 1, sp2));
    const nl = message.indexOf('\n', sp2);
    let flat: string[];
    let explicit: Record<string, ExplicitFields>;
    try {
      flat = JSON.parse(message.slice(sp2 + 1, nl < 0 ? undefined : nl)) as string[];
      explicit = nl < 0 || nl === message.length - 1 ? {} : (JSON.parse(message.slice(nl + 1)) as typeof explicit);
    } catch {
      return;
    }
    const lines: LogLine[] = [];
    for (let i = 0; 2 * i + 1 < flat.length; i++) {
      const e = explicit[i + 1];
      const head = e ? undefined : parseHead(flat[2 * i]!);
      const msg = flat[2 * i + 1]!;
      if (head) lines.push({ seq: first + i, time: head.time, pri: head.pri, source: head.source, ps: head.ps, msg });
      else if (e)
        lines.push(
          withExtras<LogLine>({ seq: first + i, time: e[0], pri: e[1], source: e[2], ps: e[3], msg }, e[4], e[5]),
        );
    }
    for (const cb of set) cb(lines);
  }

  healthy(): boolean {
    return this.#health.up;
  }

  onHealth(listener: (up: boolean) => void): () => void {
    const up = (): void => listener(true);
    const down = (): void => listener(false);
    this.#health.on('up', up).on('down', down);
    return () => void this.#health.off('up', up).off('down', down);
  }

  async close(): Promise<void> {
    this.#watchers.clear();
    this.#sub?.disconnect();
    this.#sub = undefined;
  }
}

/**
 * The batch as stored lines, `first` onwards: one object literal per line, as the memory store
 * makes them (an object spread here cost more than parsing the line).
 */
function numbered(lines: readonly NewLine[], first: number): LogLine[] {
  const out = new Array<LogLine>(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const line: LogLine = { seq: first + i, time: l.time, pri: l.pri, source: l.source, ps: l.ps, msg: l.msg };
    if (l.msgid !== undefined) line.msgid = l.msgid;
    if (l.sd !== undefined) line.sd = l.sd;
    out[i] = line;
  }
  return out;
}

/** A channel-log stream entry (`SEQ-0`, fields t p s d m; `n` in older entries) as a LogLine; drains read the same entries. */
export function toLine([id, f]: Entry): LogLine {
  // Fields into locals (no per-entry dictionary object): this runs once per line read.
  let n: string | undefined;
  let h: string | undefined;
  let t = '';
  let p: string | undefined;
  let s = '';
  let d = '';
  let m = '';
  let msgid: string | undefined;
  let sd: string | undefined;
  for (let i = 0; i + 1 < f.length; i += 2) {
    const v = f[i + 1]!;
    switch (f[i]) {
      case 'n':
        n = v;
        break;
      case 'h':
        h = v;
        break;
      case 't':
        t = v;
        break;
      case 'p':
        p = v;
        break;
      case 's':
        s = v;
        break;
      case 'd':
        d = v;
        break;
      case 'm':
        m = v;
        break;
      case 'i':
        msgid = v;
        break;
      case 'x':
        sd = v;
        break;
    }
  }
  const seq = Number(n ?? id.split('-')[0]);
  const head = h === undefined ? undefined : parseHead(h);
  if (head) return { seq, time: head.time, pri: head.pri, source: head.source, ps: head.ps, msg: m };
  return withExtras<LogLine>({ seq, time: t, pri: Number(p ?? 0), source: s, ps: d, msg: m }, msgid, sd);
}

/** Runs a pipeline (or MULTI) and rethrows the first command error. */
async function exec(p: ReturnType<RedisClient['pipeline']>): Promise<unknown[]> {
  return throwFirst(((await p.exec()) ?? []) as [Error | null, unknown][]);
}

/** The values of a pipeline's results; the first error is thrown. */
export function throwFirst(results: [Error | null, unknown][]): unknown[] {
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
