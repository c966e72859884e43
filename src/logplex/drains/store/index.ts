// DrainStore: drains, their fenced leases, read positions and delivery status (design.md §Stores,
// §Drain delivery). Two implementations pass one contract suite (test/logplex/drains-store.contract.ts):
// memory (`dev`, one process) and Redis (multi-node: lease `drain:{C}:D:owner` with its epoch
// counter `drain:{C}:D:epoch`, read position the fenced `seq` of the status hash
// `drain:{C}:D:status`, lines read after it from `channel:{C}:log` with XRANGE; all on the channel's hash slot).
import { randomUUID } from 'node:crypto';
import type { LogLine } from '../../lines';
import type { LogStore } from '../../store/index';

export interface DrainRecord extends DrainExtras {
  id: number;
  channel: number;
  /** `d.` + UUID. */
  token: string;
  url: string;
  /** ISO 8601. */
  createdAt: string;
}

/** Which lines a drain takes (design.md §Drains); a missing list takes every value. */
export interface DrainFilter {
  /** Token names: `app`, `heroku`. */
  sources?: string[];
  /** Process types: `web` takes `web.1` and `web.2`; `router` takes `router`. */
  processes?: string[];
}

/** What an operator may set on a drain besides its URL, kept in its record. */
export interface DrainExtras {
  /** HMAC key of the signature of HTTP and OTLP deliveries (../sign.ts). */
  secret?: string;
  /** Extra request headers of HTTP and OTLP deliveries. */
  headers?: Record<string, string>;
  filter?: DrainFilter;
  /** The channel's name when the drain was made (the app), for OTLP resources. */
  app?: string;
}

export interface DrainError {
  at: string;
  message: string;
  /** HTTP_503, ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT, L14 … */
  code: string;
}

/** Counters kept per drain, visible from every node. */
export interface DrainCounters {
  /** Lines the receiver accepted (each seq once, however often it was sent). */
  delivered: number;
  /** Lines sent again after a failed attempt (one per line per retry). */
  retried: number;
  /** Lines in batches the receiver refused with a 4xx (not 429). */
  dropped: number;
  /** Lines the drain's filter kept from the receiver (settled, never sent). */
  filtered: number;
  /** Lines that left the channel log before delivery (reported in-band as L10). */
  lost: number;
  lastSuccessAt: string | null;
  lastError: DrainError | null;
  /** Time field of the last line delivered: the "since" of the next L10. */
  lastTime: string | null;
}

/**
 * What the API shows. Computed from sequence ids (design.md §Drain delivery): `position` is the
 * last seq settled (delivered, filtered, dropped or lost), so `delivered + filtered + dropped + lost +
 * backlog` is every
 * line appended since the drain was created, after trims and takeovers alike.
 */
export interface DrainStatus extends DrainCounters {
  /** Lines still in the channel log after `position` (read or unread). */
  backlog: number;
  /** The last seq settled. */
  position: number;
  /** The node holding the lease, if any, and the lease's epoch. */
  owner: string | null;
  epoch: number | null;
}

/** How a batch was settled, written with its ack (all or nothing, fenced). */
export type Settle =
  /** `filtered`: how many of the seqs the drain's filter kept from the receiver. */
  | { as: 'delivered'; at: string; lastTime?: string; filtered?: number }
  | { as: 'dropped'; at: string; error: DrainError };

/** What an ack changed, counted by the store from the seqs: never twice, not across a takeover. */
export interface Settled {
  delivered: number;
  filtered: number;
  dropped: number;
  /** Seqs between the last position and this batch that are not in it: they left the log. */
  lost: number;
}

/**
 * A drain lease as its holder sees it. `epoch` grows with every new holder, and every read, ack
 * and status write carries it; the store refuses them once another holder took the lease.
 * `held()` is the holder's own clock: false once the last renewal may have lapsed, so a process
 * that was stopped (SIGSTOP, a long pause) sends nothing until the store confirmed the lease again.
 */
export interface DrainLease {
  readonly epoch: number;
  held(): boolean;
}

/** The store refused a read, ack or status write: the lease's epoch is no longer the holder's. */
export class FencedError extends Error {
  readonly code = 'SY_DRAIN_FENCED';
  constructor(readonly drain: number) {
    super(`drain ${drain}: lease lost to a newer epoch`);
  }
}

/**
 * A line as a drain reads it. The Redis store hands MSG over as the bytes of the stream reply,
 * so a drain frames them as they are instead of decoding them into a string and encoding that
 * back (the bulk of the per-line cost on the Redis path); the memory store hands its strings.
 */
export type DrainLine = Omit<LogLine, 'msg'> & { msg: string | Buffer };

/**
 * A drain's read position for one lease epoch. Lines come oldest first: first what earlier
 * holders read and never acked (claimed from them), then new ones: at-least-once for every line
 * still in the log. Every call but `open` is refused with FencedError once the epoch is stale.
 */
export interface DrainCursor {
  /** The drain's position: seqs missing after it, before the first line `read` returns, were lost (L10). */
  open(): Promise<number>;
  read(max: number): Promise<DrainLine[]>;
  /**
   * Called only after the receiver accepted (or refused for good) these lines; the status
   * changes with the ack, in one atomic step, so it counts exactly what was acked.
   */
  ack(seqs: readonly number[], settle: Settle): Promise<Settled>;
  /** A failed attempt: `lines` to be sent again, and why. */
  retried(lines: number, error: DrainError): Promise<void>;
}

export interface DrainStore {
  /** A new drain, or 'conflict' when the channel already drains to `url`. */
  create(channel: number, url: string, extras?: DrainExtras): Promise<DrainRecord | 'conflict'>;
  /** Replaces the extras named in `patch` (a rotated secret); undefined when the drain is gone. */
  update(channel: number, id: number, patch: DrainExtras): Promise<DrainRecord | undefined>;
  list(channel: number): Promise<DrainRecord[]>;
  get(channel: number, id: number): Promise<DrainRecord | undefined>;
  remove(channel: number, id: number): Promise<boolean>;
  /** Up to about `count` drains of every channel from `cursor` ('0' starts); `next` '0' means wrapped. */
  scan(cursor: string, count: number): Promise<{ next: string; drains: DrainRecord[] }>;
  /**
   * Without `epoch`: takes a free lease under a new epoch. With it: renews that epoch, or takes
   * it back when it lapsed and nobody took it since. Returns the epoch, or 0 when refused.
   */
  acquire(channel: number, id: number, node: string, ttlMs: number, epoch?: number): Promise<number>;
  release(channel: number, id: number, node: string, epoch: number): Promise<void>;
  cursor(drain: DrainRecord, epoch: number): DrainCursor;
  status(channel: number, id: number): Promise<DrainStatus>;
}

/** What the memory drain store needs from the memory LogStore. */
export type LogSource = Pick<LogStore, 'nextId' | 'readAfter' | 'history' | 'getChannel'>;

export const EMPTY_COUNTERS: Readonly<DrainCounters> = {
  delivered: 0,
  retried: 0,
  dropped: 0,
  filtered: 0,
  lost: 0,
  lastSuccessAt: null,
  lastError: null,
  lastTime: null,
};

/**
 * What settling `seqs` at `position` counts: the seqs after it, and the ones between it and the
 * batch's last seq that are not in the batch (they left the log before delivery). The Redis ack
 * script counts the same in Lua; a seq at or before the position was settled already.
 */
export function settleAt(position: number, seqs: readonly number[]): { count: number; lost: number; position: number } {
  let count = 0;
  let top = position;
  for (const s of seqs) {
    if (s <= position) continue;
    count++;
    if (s > top) top = s;
  }
  return { count, lost: top - position - count, position: top };
}

/** A new drain's record: its own token, and the extras the API was given. */
export function newRecord(id: number, channel: number, url: string, extras: DrainExtras): DrainRecord {
  return { ...extras, id, channel, token: `d.${randomUUID()}`, url, createdAt: new Date().toISOString() };
}

/**
 * A drain's status from its counters and seqs: `firstKept` is the oldest seq still in the log
 * (`last + 1` when it is empty), `last` the newest ever appended. Lines after `position` but
 * before `firstKept` fell out of the log and are lost even before a runner reads past them (and
 * counts them).
 */
export function statusAt(
  counters: Readonly<DrainCounters>,
  position: number,
  firstKept: number,
  last: number,
  lease: { node: string; epoch: number } | undefined,
): DrainStatus {
  const from = Math.max(position, firstKept - 1);
  const fellOut = Math.max(0, Math.min(firstKept - 1, last) - position);
  return {
    ...counters,
    lost: counters.lost + fellOut,
    backlog: Math.max(0, last - from),
    position,
    owner: lease?.node ?? null,
    epoch: lease?.epoch ?? null,
  };
}
