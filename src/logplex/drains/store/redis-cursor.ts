// A drain's read position on Redis for one lease epoch (design.md §Drain delivery): the consumer
// group `drain:D` on `channel:{C}:log`, read as consumer `e<epoch>`. Every read, ack and status
// write is a Lua script that first checks the lease key holds this epoch, so a holder that
// lost its lease (a stalled process waking up) changes nothing, atomically. A new holder claims
// what earlier ones read and never acked (XAUTOCLAIM) before it reads new entries.
import type { RedisClient } from '../../../shared/redis';
import { parseHeadBytes } from '../../store/entry';
import type { DrainCursor, DrainError, DrainLine, Settle, Settled } from './index';
import { FencedError } from './index';

/**
 * The check every fenced script opens with. KEYS[1]: the lease (`<epoch> <node>`), ARGV[1]:
 * `<epoch> ` (epochs are never reused for a drain, so the epoch alone names the holder).
 */
const FENCE = `local lease = redis.call('GET', KEYS[1])
if not lease or string.sub(lease, 1, #ARGV[1]) ~= ARGV[1] then return redis.error_reply('FENCED lease lost') end
`;

// KEYS: lease, log. ARGV: token, group, consumer, start id, count. Claims pending entries of any
// consumer from `start`; once the scan wrapped ('0-0'), forgets consumers with nothing pending.
const CLAIM_LUA = `${FENCE}
local r = redis.call('XAUTOCLAIM', KEYS[2], ARGV[2], ARGV[3], 0, ARGV[4], 'COUNT', ARGV[5])
if r[1] == '0-0' then
  for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[2], ARGV[2])) do
    if c[2] ~= ARGV[3] and c[4] == 0 then redis.call('XGROUP', 'DELCONSUMER', KEYS[2], ARGV[2], c[2]) end
  end
end
return r
`;
// KEYS: lease, log. ARGV: token, group, consumer, count.
const READ_LUA = `${FENCE}
return redis.call('XREADGROUP', 'GROUP', ARGV[2], ARGV[3], 'COUNT', ARGV[4], 'STREAMS', KEYS[2], '>')
`;
// KEYS: lease, log, status. ARGV: token, group, 'delivered'|'dropped', JSON of the last_* fields,
// lines filtered out, seqs. Counts as settleAt in ./index does: seqs after the position, and the gap up to the
// batch's last seq as lost; moves the position. A drain from before positions were kept starts
// at the batch. Returns {counted, lost}.
const ACK_LUA = `${FENCE}
local pos = tonumber(redis.call('HGET', KEYS[3], 'seq') or '')
local ids, low = {}, nil
for i = 6, #ARGV do
  local s = tonumber(ARGV[i])
  ids[#ids + 1] = ARGV[i] .. '-0'
  if low == nil or s < low then low = s end
end
if pos == nil then pos = (low or 1) - 1 end
local n, top = 0, pos
for i = 6, #ARGV do
  local s = tonumber(ARGV[i])
  if s > pos then
    n = n + 1
    if s > top then top = s end
  end
end
if #ids > 0 then redis.call('XACK', KEYS[2], ARGV[2], unpack(ids)) end
local lost = top - pos - n
local filtered = math.min(n, tonumber(ARGV[5]))
if n > filtered then redis.call('HINCRBY', KEYS[3], ARGV[3], n - filtered) end
if filtered > 0 then redis.call('HINCRBY', KEYS[3], 'filtered', filtered) end
if lost > 0 then redis.call('HINCRBY', KEYS[3], 'lost', lost) end
local set = { 'seq', string.format('%d', top) }
for k, v in pairs(cjson.decode(ARGV[4])) do set[#set + 1] = k; set[#set + 1] = v end
redis.call('HSET', KEYS[3], unpack(set))
return { n - filtered, filtered, lost }
`;
// KEYS: lease, status. ARGV: token, lines, JSON error.
const RETRIED_LUA = `${FENCE}
redis.call('HINCRBY', KEYS[2], 'retried', ARGV[2])
redis.call('HSET', KEYS[2], 'last_error', ARGV[3])
return 1
`;

interface Scripted {
  sydrainClaimBuffer(
    lease: string,
    log: string,
    token: string,
    group: string,
    consumer: string,
    start: string,
    count: number,
  ): Promise<[Buffer, BufferEntry[], Buffer[]?]>;
  sydrainReadBuffer(
    lease: string,
    log: string,
    token: string,
    group: string,
    consumer: string,
    count: number,
  ): Promise<[Buffer, BufferEntry[]][] | null>;
  sydrainAck(
    lease: string,
    log: string,
    status: string,
    token: string,
    group: string,
    as: string,
    fields: string,
    filtered: number,
    ...seqs: number[]
  ): Promise<[number, number, number]>;
  sydrainRetried(lease: string, status: string, token: string, lines: number, error: string): Promise<number>;
}

type BufferEntry = [id: Buffer, fields: Buffer[] | null];

/** Defines the cursor's scripts on a connection (once per store). */
export function defineCursorScripts(redis: RedisClient): void {
  redis.defineCommand('sydrainClaim', { numberOfKeys: 2, lua: CLAIM_LUA });
  redis.defineCommand('sydrainRead', { numberOfKeys: 2, lua: READ_LUA });
  redis.defineCommand('sydrainAck', { numberOfKeys: 3, lua: ACK_LUA });
  redis.defineCommand('sydrainRetried', { numberOfKeys: 2, lua: RETRIED_LUA });
}

export interface CursorKeys {
  drain: number;
  lease: string;
  log: string;
  status: string;
  group: string;
}

export class GroupCursor implements DrainCursor {
  #redis: RedisClient;
  #k: CursorKeys;
  #token: string;
  #consumer: string;
  /** Where the claim of earlier holders' pending entries goes on; undefined once it wrapped. */
  #claimFrom: string | undefined = '0-0';
  /** The drain's position before this change (no `seq` in the status hash): from the group. */
  #legacy: () => Promise<number>;
  /** Makes sure the group exists (recreated at the log's end if the drain still does). */
  #ensureGroup: () => Promise<void>;

  constructor(
    redis: RedisClient,
    keys: CursorKeys,
    epoch: number,
    group: { ensure: () => Promise<void>; legacyPosition: () => Promise<number> },
  ) {
    this.#redis = redis;
    this.#k = keys;
    this.#token = `${epoch} `;
    this.#consumer = `e${epoch}`;
    this.#ensureGroup = group.ensure;
    this.#legacy = group.legacyPosition;
  }

  get #s(): Scripted {
    return this.#redis as unknown as Scripted;
  }

  async open(): Promise<number> {
    this.#claimFrom = '0-0';
    await this.#ensureGroup();
    const seq = await this.#redis.hget(this.#k.status, 'seq');
    return seq === null ? this.#legacy() : Number(seq);
  }

  async read(max: number): Promise<DrainLine[]> {
    while (this.#claimFrom !== undefined) {
      const [next, entries] = await this.#fenced(() =>
        this.#s.sydrainClaimBuffer(
          this.#k.lease,
          this.#k.log,
          this.#token,
          this.#k.group,
          this.#consumer,
          this.#claimFrom!,
          max,
        ),
      );
      const from = next.toString('latin1');
      this.#claimFrom = from === '0-0' ? undefined : from;
      // Entries trimmed from the log come back as ids only (and leave the PEL): the position gap counts them.
      const lines = entries.filter((e) => e[1] !== null).map(([id, f]) => drainLine(id, f!));
      if (lines.length) return lines;
    }
    const res = await this.#fenced(() =>
      this.#s.sydrainReadBuffer(this.#k.lease, this.#k.log, this.#token, this.#k.group, this.#consumer, max),
    );
    return (res?.[0]?.[1] ?? []).filter((e) => e[1] !== null).map(([id, f]) => drainLine(id, f!));
  }

  async ack(seqs: readonly number[], settle: Settle): Promise<Settled> {
    const fields: Record<string, string> =
      settle.as === 'delivered'
        ? { last_success_at: settle.at, ...(settle.lastTime ? { last_time: settle.lastTime } : {}) }
        : { last_error: JSON.stringify(settle.error) };
    const [n, filtered, lost] = await this.#fenced(() =>
      this.#s.sydrainAck(
        this.#k.lease,
        this.#k.log,
        this.#k.status,
        this.#token,
        this.#k.group,
        settle.as,
        JSON.stringify(fields),
        settle.as === 'delivered' ? (settle.filtered ?? 0) : 0,
        ...seqs,
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
