// DrainStore in one process (`dev`): the Redis store's behaviour with a position per drain in
// memory, read through the memory LogStore's `readAfter`, and leases with expiry (several
// schedulers in one process still deliver each drain once at a time).
import { randomUUID } from 'node:crypto';
import type { LogLine } from '../../lines';
import type {
  DrainCounters,
  DrainCursor,
  DrainExtras,
  DrainRecord,
  DrainStatus,
  DrainStore,
  LogSource,
  StatusDelta,
} from './index';
import { EMPTY_COUNTERS } from './index';

interface DrainState {
  rec: DrainRecord;
  /** The last seq acknowledged. */
  acked: number;
  counters: DrainCounters;
  lease: { node: string; expires: number } | undefined;
}

export class MemoryDrainStore implements DrainStore {
  #log: LogSource;
  #drains = new Map<string, DrainState>();

  constructor(log: LogSource) {
    this.#log = log;
  }

  async create(channel: number, url: string, extras: DrainExtras = {}): Promise<DrainRecord | 'conflict'> {
    for (const s of this.#drains.values()) if (s.rec.channel === channel && s.rec.url === url) return 'conflict';
    const id = await this.#log.nextId();
    const rec: DrainRecord = {
      ...extras,
      id,
      channel,
      token: `d.${randomUUID()}`,
      url,
      createdAt: new Date().toISOString(),
    };
    // A new drain starts with the lines that arrive after it (as a consumer group created at `$`).
    const last = await this.#log.history(channel, 1);
    this.#drains.set(key(channel, id), {
      rec,
      acked: last[0]?.seq ?? 0,
      counters: { ...EMPTY_COUNTERS },
      lease: undefined,
    });
    return { ...rec };
  }

  async list(channel: number): Promise<DrainRecord[]> {
    return [...this.#drains.values()].filter((s) => s.rec.channel === channel).map((s) => ({ ...s.rec }));
  }

  async get(channel: number, id: number): Promise<DrainRecord | undefined> {
    const s = this.#drains.get(key(channel, id));
    if (s && !(await this.#log.getChannel(channel))) {
      await this.#forgetDeleted();
      return undefined;
    }
    return s && { ...s.rec };
  }

  /** A deleted channel takes its drains along (as the Redis store's `channel:{C}:*` keys). */
  async #forgetDeleted(): Promise<void> {
    const channels = new Set([...this.#drains.values()].map((s) => s.rec.channel));
    for (const c of channels) {
      if (await this.#log.getChannel(c)) continue;
      for (const [k, s] of this.#drains) if (s.rec.channel === c) this.#drains.delete(k);
    }
  }

  async update(channel: number, id: number, patch: DrainExtras): Promise<DrainRecord | undefined> {
    const s = this.#drains.get(key(channel, id));
    if (!s) return undefined;
    s.rec = { ...s.rec, ...patch };
    return { ...s.rec };
  }

  async remove(channel: number, id: number): Promise<boolean> {
    return this.#drains.delete(key(channel, id));
  }

  async scan(cursor: string, count: number): Promise<{ next: string; drains: DrainRecord[] }> {
    if (cursor === '0') await this.#forgetDeleted();
    const all = [...this.#drains.values()];
    const from = Number(cursor) || 0;
    const slice = all.slice(from, from + Math.max(count, 1));
    const next = from + slice.length >= all.length ? '0' : String(from + slice.length);
    return { next, drains: slice.map((s) => ({ ...s.rec })) };
  }

  async acquire(channel: number, id: number, node: string, ttlMs: number): Promise<boolean> {
    const s = this.#drains.get(key(channel, id));
    if (!s) return false;
    const now = Date.now();
    if (s.lease && s.lease.node !== node && s.lease.expires > now) return false;
    s.lease = { node, expires: now + ttlMs };
    return true;
  }

  async release(channel: number, id: number, node: string): Promise<void> {
    const s = this.#drains.get(key(channel, id));
    if (s?.lease?.node === node) s.lease = undefined;
  }

  cursor(drain: DrainRecord): DrainCursor {
    const state = (): DrainState | undefined => this.#drains.get(key(drain.channel, drain.id));
    const log = this.#log;
    // Like a consumer group: reads move this cursor's position; a new cursor (a new owner)
    // starts again after the last acked line, so read-but-unacked lines come again.
    let readPos = 0;
    return {
      async open(): Promise<number> {
        readPos = state()?.acked ?? 0;
        return readPos;
      },
      async read(max: number): Promise<LogLine[]> {
        if (!state()) return [];
        const { lines } = await log.readAfter(drain.channel, readPos, max);
        if (lines.length) readPos = lines[lines.length - 1]!.seq;
        return lines;
      },
      async ack(seqs: readonly number[], delta?: StatusDelta): Promise<void> {
        const s = state();
        for (const seq of seqs) if (s && seq > s.acked) s.acked = seq;
        if (s && delta) applyDelta(s.counters, delta);
      },
    };
  }

  async record(channel: number, id: number, delta: StatusDelta): Promise<void> {
    const s = this.#drains.get(key(channel, id));
    if (s) applyDelta(s.counters, delta);
  }

  async status(channel: number, id: number): Promise<DrainStatus> {
    const s = this.#drains.get(key(channel, id));
    if (!s) return { ...EMPTY_COUNTERS, backlog: 0, owner: null };
    const last = (await this.#log.history(channel, 1))[0]?.seq ?? 0;
    const { firstSeq } = await this.#log.readAfter(channel, last, 0);
    const owner = s.lease && s.lease.expires > Date.now() ? s.lease.node : null;
    return { ...s.counters, backlog: Math.max(0, last - Math.max(s.acked, firstSeq - 1)), owner };
  }
}

const key = (channel: number, id: number): string => `${channel}:${id}`;

export function applyDelta(c: DrainCounters, d: StatusDelta): void {
  c.delivered += d.delivered ?? 0;
  c.retried += d.retried ?? 0;
  c.dropped += d.dropped ?? 0;
  c.lost += d.lost ?? 0;
  if (d.lastSuccessAt !== undefined) c.lastSuccessAt = d.lastSuccessAt;
  if (d.lastError !== undefined) c.lastError = d.lastError;
  if (d.lastTime !== undefined) c.lastTime = d.lastTime;
}
