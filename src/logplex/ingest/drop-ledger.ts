// Syslog lines dropped per channel while the store was away (design.md §Ingest): loss kept as
// data, `{dropped, since}` per channel, and turned into one in-band L12 line per channel when
// the store returns, so whoever reads the channel knows (TCP senders were paused first: only
// what no sender could hold is dropped).

/** Channels remembered; past this, new channels' drops are counted only in the metric. */
export const MAX_LEDGER_CHANNELS = 10_000;

export interface Drops {
  dropped: number;
  /** ms since epoch of the first drop. */
  since: number;
}

export class DropLedger {
  #byChannel = new Map<number, Drops>();

  add(channel: number, lines: number, now = Date.now()): void {
    const d = this.#byChannel.get(channel);
    if (d) d.dropped += lines;
    else if (this.#byChannel.size < MAX_LEDGER_CHANNELS) this.#byChannel.set(channel, { dropped: lines, since: now });
  }

  get size(): number {
    return this.#byChannel.size;
  }

  /** Takes every entry out; the caller puts back (`add`) what it could not report. */
  take(): [channel: number, drops: Drops][] {
    const all = [...this.#byChannel];
    this.#byChannel.clear();
    return all;
  }

  restore(channel: number, d: Drops): void {
    const cur = this.#byChannel.get(channel);
    if (cur) {
      cur.dropped += d.dropped;
      cur.since = Math.min(cur.since, d.since);
    } else this.#byChannel.set(channel, { ...d });
  }
}
