// LogStore in one process (`dev`): a real store with the Redis store's semantics — integer
// ids, `t.` tokens, a capped log per channel numbered 1, 2, 3…, sessions that expire.
import { randomUUID } from 'node:crypto';
import type { LogLine, NewLine } from '../lines';
import type { Channel, LogStore, ReadResult, SessionRecord, TokenInfo, TokenRecord } from './index';

/** The last `cap` lines of a channel in a ring; seqs are contiguous, so a seq maps to a slot. */
class CappedLog {
  #ring: (LogLine | undefined)[];
  #lastSeq = 0;
  #size = 0;
  constructor(readonly cap: number) {
    this.#ring = new Array(cap);
  }
  get firstSeq(): number {
    return this.#size === 0 ? 0 : this.#lastSeq - this.#size + 1;
  }
  append(lines: readonly NewLine[]): LogLine[] {
    const out: LogLine[] = new Array(lines.length);
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      const line: LogLine = { seq: ++this.#lastSeq, time: l.time, pri: l.pri, source: l.source, ps: l.ps, msg: l.msg };
      if (l.msgid !== undefined) line.msgid = l.msgid;
      if (l.sd !== undefined) line.sd = l.sd;
      this.#ring[line.seq % this.cap] = line;
      if (this.#size < this.cap) this.#size++;
      out[i] = line;
    }
    return out;
  }
  /** Lines with seq in [from, to], clipped to what is kept. */
  range(from: number, to: number): LogLine[] {
    const lo = Math.max(from, this.firstSeq, 1);
    const hi = Math.min(to, this.#lastSeq);
    const out: LogLine[] = [];
    for (let s = lo; s <= hi; s++) out.push(this.#ring[s % this.cap]!);
    return out;
  }
  get lastSeq(): number {
    return this.#lastSeq;
  }
}

interface ChannelState {
  channel: Channel;
  log: CappedLog;
}

/** Bound on stored sessions: creating more while all are unexpired evicts the oldest. */
const MAX_SESSIONS = 10_000;

export class MemoryLogStore implements LogStore {
  readonly kind = 'memory';
  #nextId = 0;
  #channels = new Map<number, ChannelState>();
  #tokens = new Map<string, TokenInfo>();
  #sessions = new Map<string, { session: SessionRecord; expires: number }>();
  constructor(readonly historyLines: number) {}

  async nextId(): Promise<number> {
    return ++this.#nextId;
  }

  async createChannel(name: string, tokenNames: readonly string[]): Promise<Channel> {
    const id = await this.nextId();
    const channel: Channel = { id, name, createdAt: new Date().toISOString(), tokens: [] };
    this.#channels.set(id, { channel, log: new CappedLog(this.historyLines) });
    for (const t of new Set(tokenNames)) await this.addToken(id, t);
    return copy(channel);
  }

  async getChannel(id: number): Promise<Channel | undefined> {
    const st = this.#channels.get(id);
    return st && copy(st.channel);
  }

  async listChannels(limit: number): Promise<{ id: number; name: string }[]> {
    const out: { id: number; name: string }[] = [];
    for (const { channel } of this.#channels.values()) {
      if (out.length >= limit) break;
      out.push({ id: channel.id, name: channel.name });
    }
    return out;
  }

  async deleteChannel(id: number): Promise<boolean> {
    const st = this.#channels.get(id);
    if (!st) return false;
    for (const t of st.channel.tokens) this.#tokens.delete(t.token);
    this.#channels.delete(id);
    return true;
  }

  async addToken(channel: number, name: string): Promise<TokenRecord | undefined> {
    const st = this.#channels.get(channel);
    if (!st) return undefined;
    // Names are unique per channel (as the Redis hash name → token): an existing name keeps its token.
    const existing = st.channel.tokens.find((t) => t.name === name);
    if (existing) return { ...existing };
    const rec = { name, token: `t.${randomUUID()}` };
    st.channel.tokens.push(rec);
    this.#tokens.set(rec.token, { channel, name });
    return { ...rec };
  }

  async resolveToken(token: string): Promise<TokenInfo | undefined> {
    const info = this.#tokens.get(token);
    return info && { ...info };
  }

  async append(channel: number, lines: readonly NewLine[]): Promise<LogLine[] | undefined> {
    return this.appendNow(channel, lines);
  }

  /** Synchronous append for the hot path: the memory store needs no round trip. */
  appendNow(channel: number, lines: readonly NewLine[]): LogLine[] | undefined {
    return this.#channels.get(channel)?.log.append(lines);
  }

  async history(channel: number, num: number): Promise<LogLine[]> {
    const log = this.#channels.get(channel)?.log;
    if (!log || num <= 0) return [];
    return log.range(log.lastSeq - num + 1, log.lastSeq);
  }

  async readBefore(channel: number, beforeSeq: number, count: number): Promise<LogLine[]> {
    const log = this.#channels.get(channel)?.log;
    if (!log || count <= 0) return [];
    const to = Math.min(beforeSeq - 1, log.lastSeq);
    return log.range(to - count + 1, to);
  }

  async readAfter(channel: number, afterSeq: number, count: number): Promise<ReadResult> {
    const log = this.#channels.get(channel)?.log;
    if (!log || count <= 0) return { lines: [], firstSeq: log?.firstSeq ?? 0 };
    const from = Math.max(afterSeq + 1, log.firstSeq);
    return { lines: log.range(from, from + count - 1), firstSeq: log.firstSeq };
  }

  async putSession(id: string, session: SessionRecord, ttlMs: number): Promise<void> {
    const now = Date.now();
    for (const [k, v] of this.#sessions) {
      if (v.expires > now && this.#sessions.size < MAX_SESSIONS) break;
      this.#sessions.delete(k);
    }
    this.#sessions.set(id, { session: { ...session }, expires: now + ttlMs });
  }

  async takeSession(id: string): Promise<SessionRecord | undefined> {
    const entry = this.#sessions.get(id);
    this.#sessions.delete(id);
    return entry && entry.expires > Date.now() ? entry.session : undefined;
  }

  watchRemote(): () => void {
    return () => undefined;
  }

  healthy(): boolean {
    return true;
  }

  onHealth(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {
    this.#sessions.clear();
  }
}

function copy(c: Channel): Channel {
  return { ...c, tokens: c.tokens.map((t) => ({ ...t })) };
}
