// A drain's read position on Redis for one lease epoch (design.md §Drain delivery): the position
// is `seq` in the drain's status hash, and lines after it are read with XRANGE. Every call proves
// the lease: a read is one MULTI of the lease key and the XRANGE (the lines are dropped unless the
// lease held this epoch at that instant: a read changes nothing in Redis, so checking an atomic
// snapshot is as good as checking inside it, without Lua copying 500 entries into tables and back),
// and every write (the ack that moves the position and counts, the retry count) is a Lua script
// that first checks the lease key holds this epoch, so a stale holder writes nothing. A new holder
// starts at the position: what an earlier one read and never acked comes again.
import type { RedisClient } from '../../../shared/redis';
import { parseHeadBytes, withExtras } from '../../store/entry';
import type { DrainCursor, DrainError, DrainLine, Settle, Settled } from './index';
import { FencedError } from './index';

/**
 * The check every fenced script opens with. KEYS[1]: the lease (`<epoch> <node>`), ARGV[1]:
 * `<epoch> ` (epochs are never reused for a drain, so the epoch alone names the holder).
 */
const FENCE = `local lease = redis.call('GET', KEYS[1])
if not lease or string.sub(lease, 1, #ARGV[1]) ~= ARGV[1] then return redis.error_reply('FENCED lease lost') end
`;

// KEYS: lease, status. ARGV: token, 'delivered'|'dropped', JSON of the last_* fields, lines filtered
// out, then the batch's seqs as runs `first last` (a batch is usually one run: two numbers instead of
// 500). Counts as settleAt in ./index does: seqs after the position, and the gap up to the batch's
// last seq as lost; moves the position. A drain from before positions were kept starts at the
// batch. Returns {counted, filtered, lost}.
const ACK_LUA = `${FENCE}
local pos = tonumber(redis.call('HGET', KEYS[2], 'seq') or '')
if pos == nil then
  pos = tonumber(ARGV[5] or '1') - 1
  for i = 7, #ARGV, 2 do pos = math.min(pos, tonumber(ARGV[i]) - 1) end
end
local n, top = 0, pos
for i = 5, #ARGV, 2 do
  local a, b = math.max(tonumber(ARGV[i]), pos + 1), tonumber(ARGV[i + 1])
  if b >= a then
    n = n + b - a + 1
    if b > top then top = b end
  end
end
local lost = top - pos - n
local filtered = math.min(n, tonumber(ARGV[4]))
if n > filtered then redis.call('HINCRBY', KEYS[2], ARGV[2], n - filtered) end
if filtered > 0 then redis.call('HINCRBY', KEYS[2], 'filtered', filtered) end
if lost > 0 then redis.call('HINCRBY', KEYS[2], 'lost', lost) end
local set = { 'seq', string.format('%d', top) }
for k, v in pairs(cjson.decode(ARGV[3])) do set[#set + 1] = k; set[#set + 1] = v end
redis.call('HSET', KEYS[2], unpack(set))
return { n - filtered, filtered, lost }
`;
// KEYS: lease, status. ARGV: token, lines, JSON error.
const RETRIED_LUA = `${FENCE}
redis.call('HINCRBY', KEYS[2], 'retried', ARGV[2])
redis.call('HSET', KEYS[2], 'last_error', ARGV[3])
return 1
`;

interface Scripted {
  sydrainAck(
    lease: string,
    status: string,
    token: string,
    as: string,
    fields: string,
    filtered: number,
    ...runs: number[]
  ): Promise<[number, number, number]>;
  sydrainRetried(lease: string, status: string, token: string, lines: number, error: string): Promise<number>;
}

type BufferEntry = [id: Buffer, fields: Buffer[]];

/** Defines the cursor's scripts on a connection (once per store). */
export function defineCursorScripts(redis: RedisClient): void {
  redis.defineCommand('sydrainAck', { numberOfKeys: 2, lua: ACK_LUA });
  redis.defineCommand('sydrainRetried', { numberOfKeys: 2, lua: RETRIED_LUA });
}

export interface CursorKeys {
  drain: number;
  lease: string;
  log: string;
  status: string;
}

export class PositionCursor implements DrainCursor {
  #redis: RedisClient;
  #k: CursorKeys;
  #token: string;
  /** The last seq read (ahead of the stored position by what is read and not yet acked). */
  #readTo = 0;
  /**
   * The position of a drain whose status hash has none: one from before positions were kept
   * (from its old consumer group), or a deleted drain (this throws; the scheduler stops the runner).
   */
  #legacy: () => Promise<number>;

  constructor(redis: RedisClient, keys: CursorKeys, epoch: number, legacyPosition: () => Promise<number>) {
    this.#redis = redis;
    this.#k = keys;
    this.#token = `${epoch} `;
    this.#legacy = legacyPosition;
  }

  get #s(): Scripted {
    return this.#redis as unknown as Scripted;
  }

  async open(): Promise<number> {
    const seq = await this.#redis.hget(this.#k.status, 'seq');
    this.#readTo = seq === null ? await this.#legacy() : Number(seq);
    return this.#readTo;
  }

  async read(max: number): Promise<DrainLine[]> {
    const res = (await this.#redis
      .multi()
      .get(this.#k.lease)
      .xrangeBuffer(this.#k.log, `(${this.#readTo}-0`, '+', 'COUNT', max)
      .exec()) as [[Error | null, string | null], [Error | null, BufferEntry[]]] | null;
    if (!res) throw new Error(`drain ${this.#k.drain}: read aborted`);
    const [[leaseErr, lease], [rangeErr, entries]] = res;
    if (leaseErr) throw leaseErr;
    if (rangeErr) throw rangeErr;
    if (lease === null || !lease.startsWith(this.#token)) throw new FencedError(this.#k.drain);
    // Entries trimmed from the log are simply not there: the position gap counts them (L10).
    const lines = entries.map(([id, f]) => drainLine(id, f));
    if (lines.length) this.#readTo = lines[lines.length - 1]!.seq;
    return lines;
  }

  async ack(seqs: readonly number[], settle: Settle): Promise<Settled> {
    const fields: Record<string, string> =
      settle.as === 'delivered'
        ? { last_success_at: settle.at, ...(settle.lastTime ? { last_time: settle.lastTime } : {}) }
        : { last_error: JSON.stringify(settle.error) };
    const [n, filtered, lost] = await this.#fenced(() =>
      this.#s.sydrainAck(
        this.#k.lease,
        this.#k.status,
        this.#token,
        settle.as,
        JSON.stringify(fields),
        settle.as === 'delivered' ? (settle.filtered ?? 0) : 0,
        ...runsOf(seqs),
      ),
    );
    return settle.as === 'delivered'
      ? { delivered: n, filtered, dropped: 0, lost }
      : { delivered: 0, filtered: 0, dropped: n, lost };
  }

  async retried(lines: number, error: DrainError): Promise<void> {
    await this.#fenced(() =>
      this.#s.sydrainRetried(this.#k.lease, this.#k.status, this.#token, lines, JSON.stringify(error)),
    );
  }

  /** A script's FENCED reply as a FencedError (matched on the reply's code, its first word). */
  async #fenced<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('FENCED')) throw new FencedError(this.#k.drain);
      throw err;
    }
  }
}

/** Seqs as runs of consecutive numbers, `first last` each, in the order given. */
export function runsOf(seqs: readonly number[]): number[] {
  const out: number[] = [];
  for (const s of seqs) {
    if (out.length && s === out[out.length - 1]! + 1) out[out.length - 1] = s;
    else out.push(s, s);
  }
  return out;
}

const EMPTY: Buffer = Buffer.alloc(0);

/**
 * A channel-log entry (`SEQ-0`, fields h m or t p s d m, as `toLine` in ../../store/redis reads them)
 * from its Buffers: the seq from the id, MSG kept as bytes, the short header fields decoded.
 */
function drainLine(id: Buffer, f: Buffer[]): DrainLine {
  let h: Buffer | undefined;
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
      case 0x68:
        h = v;
        break; // h: TIME PRI SOURCE PS (../../store/entry.ts)
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
  const head = h && parseHeadBytes(h);
  if (head) ({ time: t, pri: p, source: s, ps: d } = head);
  const line: DrainLine = { seq: digitsOf(id, dash < 0 ? id.length : dash), time: t, pri: p, source: s, ps: d, msg: m };
  return withExtras(line, msgid, sd);
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
