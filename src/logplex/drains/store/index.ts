// DrainStore: drains, their leases, read positions and delivery status (design.md §Stores, §Drains).
// Two implementations pass one contract suite (test/logplex/drains-store.contract.ts):
// memory (`dev`, one process) and Redis (multi-node: lease `drain:{C}:D:owner`, read position
// a consumer group on `channel:{C}:log`, status hash `drain:{C}:D:status`).
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
  /** Lines the receiver accepted. */
  delivered: number;
  /** Lines sent again after a failed attempt (one per line per retry). */
  retried: number;
  /** Lines in batches the receiver refused with a 4xx (not 429). */
  dropped: number;
  /** Lines that left the channel log before delivery (reported in-band as L10). */
  lost: number;
  lastSuccessAt: string | null;
  lastError: DrainError | null;
  /** Time field of the last line delivered: the "since" of the next L10. */
  lastTime: string | null;
}

export interface DrainStatus extends DrainCounters {
  /** Lines in the channel log not yet delivered (read or unread). */
  backlog: number;
  /** The node holding the lease, if any. */
  owner: string | null;
}

export type StatusDelta = Partial<Pick<DrainCounters, 'delivered' | 'retried' | 'dropped' | 'lost'>> &
  Partial<Pick<DrainCounters, 'lastSuccessAt' | 'lastError' | 'lastTime'>>;

/**
 * A line as a drain reads it. The Redis store hands MSG over as the bytes of the stream reply,
 * so a drain frames them as they are instead of decoding them into a string and encoding that
 * back (the bulk of the per-line cost on the Redis path); the memory store hands its strings.
 */
export type DrainLine = Omit<LogLine, 'msg'> & { msg: string | Buffer };

/**
 * A drain's read position. Lines come oldest first; lines read but not acked (by this or a
 * previous owner that died) come again first: at-least-once for every line still in the log.
 */
export interface DrainCursor {
  /** The seq before the first line `read` will return: seqs missing after it were lost (L10). */
  open(): Promise<number>;
  read(max: number): Promise<DrainLine[]>;
  /**
   * Called only after the receiver accepted (or refused for good) these lines; `delta` (what
   * that delivery changes in the status) is recorded with the ack, in the same round trip and
   * all or nothing, so the status counts exactly what was acked.
   */
  ack(seqs: readonly number[], delta?: StatusDelta): Promise<void>;
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
  /** Takes the lease, or renews it when `node` holds it; false when another node does. */
  acquire(channel: number, id: number, node: string, ttlMs: number): Promise<boolean>;
  release(channel: number, id: number, node: string): Promise<void>;
  cursor(drain: DrainRecord): DrainCursor;
  record(channel: number, id: number, delta: StatusDelta): Promise<void>;
  status(channel: number, id: number): Promise<DrainStatus>;
}

/** What the memory drain store needs from the memory LogStore. */
export type LogSource = Pick<LogStore, 'nextId' | 'readAfter' | 'history' | 'getChannel'>;

export const EMPTY_COUNTERS: Readonly<DrainCounters> = {
  delivered: 0,
  retried: 0,
  dropped: 0,
  lost: 0,
  lastSuccessAt: null,
  lastError: null,
  lastTime: null,
};
