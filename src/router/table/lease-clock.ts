// The time a router judges dyno leases at (design.md §Route table). Dynos cannot heartbeat while
// the store is away, so leases must not run out on heartbeats nobody could see: while the store
// is away the clock stands still at the moment it went; when it returns, it runs the outage's
// length behind real time for as long as the outage lasted (every lease extended by the outage),
// so dynos get to heartbeat before any lease expires. An outage inside that window adds to it.
export class LeaseClock {
  #downSince: number | undefined;
  /** The lease time when the store went away: where the clock stands while it is away. */
  #frozenAt = 0;
  #grace: { shift: number; until: number } | undefined;

  constructor(readonly realNow: () => number = Date.now) {}

  /** ms since epoch the store went away, while it is. */
  get downSince(): number | undefined {
    return this.#downSince;
  }

  /**
   * The store went away at `at` (a second call while away changes nothing). A store that stopped
   * answering is found out a moment later: the clock stands where it was when it last answered.
   */
  down(at = this.realNow()): void {
    if (this.#downSince !== undefined) return;
    const since = Math.min(at, this.realNow());
    this.#frozenAt = this.now() - (this.realNow() - since);
    this.#downSince = since;
  }

  /** The store is back: returns how long it was away and how long leases stay extended (ms). */
  up(): { downFor: number; graceMs: number } | undefined {
    if (this.#downSince === undefined) return undefined;
    const now = this.realNow();
    const downFor = now - this.#downSince;
    this.#downSince = undefined;
    // Resume where the clock stood: behind by this outage plus what an earlier one still owed.
    const shift = now - this.#frozenAt;
    this.#grace = { shift, until: now + shift };
    return { downFor, graceMs: shift };
  }

  /** Frozen while the store is away, behind by the outage during the grace, else real time. */
  now(): number {
    if (this.#downSince !== undefined) return this.#frozenAt;
    const now = this.realNow();
    if (this.#grace && now >= this.#grace.until) this.#grace = undefined;
    return this.#grace ? now - this.#grace.shift : now;
  }
}
