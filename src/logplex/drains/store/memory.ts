// DrainStore in one process (`dev`): the Redis store's behaviour with a position per drain in
// memory, read through the memory LogStore's `readAfter`, and fenced leases with expiry and an
// epoch (several schedulers in one process still deliver each drain once at a time, and a
// cursor of an older epoch changes nothing).
import type { LogLine } from '../../lines';
import type {
  DrainCounters,
  DrainCursor,
  DrainError,
  DrainExtras,
  DrainRecord,
  DrainStatus,
  DrainStore,
} from './index';
import {
  EMPTY_COUNTERS,
  FencedError,
  newRecord,
  settleAt,
  statusAt,
  type LogSource,
  type Settle,
  type Settled,
} from './index';

interface DrainState {
  rec: DrainRecord;
  /** The last seq settled (delivered, dropped or lost). */
  acked: number;
  counters: DrainCounters;
  lease: { node: string; epoch: number; expires: number } | undefined;
  /** The epoch of the latest holder. */
  epoch: number;
}

export class MemoryDrainStore implements DrainStore {
  #log: LogSource;
  #drains = new Map<string, DrainState>();

  constructor(log: LogSource) {
    this.#log = log;
  }

  async create(channel: number, url: string, extras: DrainExtras = {}): Promise<DrainRecord | 'conflict'> {
    for (const s of this.#drains.values()) if (s.rec.channel === channel && s.rec.url === url) return 'conflict';
    const rec = newRecord(await this.#log.nextId(), channel, url, extras);
    // A new drain starts with the lines that arrive after it (as a consumer group created at `$`).
    const last = await this.#log.history(channel, 1);
    this.#drains.set(key(channel, rec.id), {
      rec,
      acked: last[0]?.seq ?? 0,
      counters: { ...EMPTY_COUNTERS },
      lease: undefined,
      epoch: 0,
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

  async acquire(channel: number, id: number, node: string, ttlMs: number, epoch = 0): Promise<number> {
    const s = this.#drains.get(key(channel, id));
    if (!s) return 0;
    const now = Date.now();
    const live = s.lease && s.lease.expires > now ? s.lease : undefined;
    if (epoch > 0) {
      // A renewal, or taking the lease back after it lapsed while nobody took it since.
      if (live ? live.epoch !== epoch || live.node !== node : s.epoch !== epoch) return 0;
    } else {
      if (live) return 0;
      epoch = ++s.epoch;
    }
    s.lease = { node, epoch, expires: now + ttlMs };
    return epoch;
  }

  async release(channel: number, id: number, node: string, epoch: number): Promise<void> {
    const s = this.#drains.get(key(channel, id));
    if (s?.lease?.node === node && s.lease.epoch === epoch) s.lease = undefined;
  }

  cursor(drain: DrainRecord, epoch: number): DrainCursor {
    const log = this.#log;
    /** The drain's state while `epoch` holds a live lease on it; FencedError otherwise. */
    const fenced = (): DrainState => {
      const s = this.#drains.get(key(drain.channel, drain.id));
      if (!s?.lease || s.lease.epoch !== epoch || s.lease.expires <= Date.now()) throw new FencedError(drain.id);
      return s;
    };
    // Like a consumer group: reads move this cursor's position; a new cursor (a new holder)
    // starts again after the last settled line, so read-but-unacked lines come again.
    let readPos = 0;
    return {
      open: async (): Promise<number> => {
        readPos = this.#drains.get(key(drain.channel, drain.id))?.acked ?? 0;
        return readPos;
      },
      async read(max: number): Promise<LogLine[]> {
        fenced();
        const { lines } = await log.readAfter(drain.channel, readPos, max);
        fenced(); // the lease may have gone while the log was read
        if (lines.length) readPos = lines[lines.length - 1]!.seq;
        return lines;
      },
      async ack(seqs: readonly number[], settle: Settle): Promise<Settled> {
        const s = fenced();
        const { count, lost, position } = settleAt(s.acked, seqs);
        s.acked = position;
        const c = s.counters;
        c.lost += lost;
        if (settle.as === 'delivered') {
          const filtered = Math.min(count, settle.filtered ?? 0);
          c.delivered += count - filtered;
          c.filtered += filtered;
          c.lastSuccessAt = settle.at;
          if (settle.lastTime) c.lastTime = settle.lastTime;
          return { delivered: count - filtered, filtered, dropped: 0, lost };
        }
        c.dropped += count;
        c.lastError = settle.error;
        return { delivered: 0, filtered: 0, dropped: count, lost };
      },
      async retried(lines: number, error: DrainError): Promise<void> {
        const c = fenced().counters;
        c.retried += lines;
        c.lastError = error;
      },
    };
  }

  async status(channel: number, id: number): Promise<DrainStatus> {
    const s = this.#drains.get(key(channel, id));
    if (!s) return statusAt(EMPTY_COUNTERS, 0, 1, 0, undefined);
    const last = (await this.#log.history(channel, 1))[0]?.seq ?? 0;
    const { firstSeq } = await this.#log.readAfter(channel, last, 0);
    const lease = s.lease && s.lease.expires > Date.now() ? s.lease : undefined;
    return statusAt(s.counters, s.acked, firstSeq || last + 1, last, lease);
  }
}

const key = (channel: number, id: number): string => `${channel}:${id}`;
