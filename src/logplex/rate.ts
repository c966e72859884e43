// Per-channel fairness at ingest (design.md §Ingest): a token bucket per channel on this node,
// LOGPLEX_CHANNEL_RATE lines/s with LOGPLEX_CHANNEL_BURST lines of headroom, so one noisy app
// cannot take a node's ingest from the others. What the bucket refuses is dropped, counted,
// and returned as data at most once per REPORT_EVERY_MS, for the caller to write as one L16
// line into the channel. Pure: the caller passes the time.

/** How often a flooding channel hears about its drops (one L16 line per channel per interval). */
export const REPORT_EVERY_MS = 10_000;
/** Buckets kept at most; past it, buckets that have refilled (idle channels) are forgotten. */
export const MAX_BUCKETS = 100_000;

interface Bucket {
  tokens: number;
  last: number;
  dropped: number;
  /** ms of the first drop not yet reported. */
  since: number;
  reported: number;
}

export interface RateReport {
  dropped: number;
  since: number;
}

export class ChannelRates {
  #buckets = new Map<number, Bucket>();
  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {}

  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes up to `n` lines from the channel's bucket; returns how many may be stored, and a
   * report when drops are waiting and the channel has not heard of drops for an interval.
   */
  admit(channel: number, n: number, now: number): { allowed: number; report?: RateReport } {
    if (this.rate <= 0) return { allowed: n };
    let b = this.#buckets.get(channel);
    if (!b) {
      if (this.#buckets.size >= MAX_BUCKETS) this.#forgetIdle(now);
      b = { tokens: this.burst, last: now, dropped: 0, since: 0, reported: -Infinity };
      this.#buckets.set(channel, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.last) * this.rate) / 1000);
    b.last = now;
    const allowed = Math.min(n, Math.floor(b.tokens));
    b.tokens -= allowed;
    if (allowed < n) {
      if (b.dropped === 0) b.since = now;
      b.dropped += n - allowed;
    }
    if (b.dropped === 0 || now - b.reported < REPORT_EVERY_MS) return { allowed };
    const report = { dropped: b.dropped, since: b.since };
    b.dropped = 0;
    b.reported = now;
    return { allowed, report };
  }

  #forgetIdle(now: number): void {
    const fullAfterMs = (this.burst / this.rate) * 1000;
    for (const [ch, b] of this.#buckets) if (b.dropped === 0 && now - b.last >= fullAfterMs) this.#buckets.delete(ch);
    // Still full of busy channels: forget the oldest (a new channel starts with a full bucket).
    if (this.#buckets.size >= MAX_BUCKETS) this.#buckets.delete(this.#buckets.keys().next().value!);
  }
}
