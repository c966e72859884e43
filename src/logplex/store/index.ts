// LogStore: everything a Logplex node keeps (DESIGN §2): channels with integer ids, tokens,
// the capped channel log with per-channel sequence numbers, and tail sessions. Two
// implementations pass one contract suite (test/logplex/store.contract.ts): memory (`dev`)
// and Redis (production, multi-node).
import type { LogLine, NewLine } from '../lines';

export interface TokenRecord {
  name: string;
  token: string;
}

export interface Channel {
  id: number;
  name: string;
  /** ISO 8601, when the channel was created. */
  createdAt: string;
  tokens: TokenRecord[];
}

/** What `token:T` holds. */
export interface TokenInfo {
  channel: number;
  name: string;
}

/** A session as created by POST /v2/sessions and consumed by GET /sessions/:id. */
export interface SessionRecord {
  channel: number;
  num: number;
  tail: boolean;
  ps?: string;
  source?: string;
  /** Search terms (tail/search.ts). */
  q?: string;
  /** Time range, in the stored time shape. */
  since?: string;
  until?: string;
  /** Resume: every line after this stream id (seq) instead of the last `num`. */
  sinceId?: number;
  format?: 'json';
}

export interface ReadResult {
  lines: LogLine[];
  /** The oldest seq still kept (0 when the log is empty): a reader after `firstSeq - 1` lost lines. */
  firstSeq: number;
}

/** Lines appended by another node, delivered to this node's subscribers. */
export type RemoteLines = (lines: LogLine[]) => void;

export interface LogStore {
  readonly kind: 'memory' | 'redis';
  /** Next integer from `channels:next-id` (channels and drains share it, as in Logplex). */
  nextId(): Promise<number>;
  createChannel(name: string, tokenNames: readonly string[]): Promise<Channel>;
  getChannel(id: number): Promise<Channel | undefined>;
  /** Every channel's id and name, oldest first, at most `limit` (the viewer's app picker, `logs --app`). */
  listChannels(limit: number): Promise<{ id: number; name: string }[]>;
  /** Removes the channel, its tokens, its log and every other `channel:{C}:*` key. */
  deleteChannel(id: number): Promise<boolean>;
  /** A new `t.` + UUID token; undefined when the channel does not exist. */
  addToken(channel: number, name: string): Promise<TokenRecord | undefined>;
  resolveToken(token: string): Promise<TokenInfo | undefined>;
  /**
   * Appends a batch atomically and numbers it; undefined when the channel does not exist
   * (deleted since its token was cached). Lines beyond the history cap are trimmed.
   */
  append(channel: number, lines: readonly NewLine[]): Promise<LogLine[] | undefined>;
  /** The last `num` lines, oldest first. */
  history(channel: number, num: number): Promise<LogLine[]>;
  /** Up to `count` lines with seq < beforeSeq (Infinity: the newest), oldest first: history read backwards in pages. */
  readBefore(channel: number, beforeSeq: number, count: number): Promise<LogLine[]>;
  /** Up to `count` lines with seq > afterSeq, oldest first, and the oldest seq still kept. */
  readAfter(channel: number, afterSeq: number, count: number): Promise<ReadResult>;
  putSession(id: string, session: SessionRecord, ttlMs: number): Promise<void>;
  /** Returns and removes the session: a session URL opens once. */
  takeSession(id: string): Promise<SessionRecord | undefined>;
  /**
   * Lines other nodes append to `channel` (Redis pub/sub); the memory store has no other
   * nodes and never calls back. Returns the unsubscribe function.
   */
  watchRemote(channel: number, onLines: RemoteLines): () => void;
  /**
   * Settles once `watchRemote(channel)` hears every line appended from now on (Redis confirmed
   * the SUBSCRIBE): a resumed tail reads the log only then, so no line falls between the two.
   */
  watching?(channel: number): Promise<void>;
  /** Store reachable (readiness). */
  healthy(): boolean;
  /** Reachability changes (the memory store never changes); returns the unsubscribe function. */
  onHealth(listener: (up: boolean) => void): () => void;
  close(): Promise<void>;
}

/** Channel and token names: what Logplex's clients send (`app`, `heroku`, `my-app`). */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
