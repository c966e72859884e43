// The response (H12) and idle (H15) timers of every exchange in flight, checked by one interval
// instead of a Node timer armed and cleared per request (two per request showed up in profiles).
// A deadline fires at most one tick late; the tick is a tenth of the shortest timeout, so
// timeouts stay within 10% (and within 250 ms) of the setting.

/** What a deadline calls when it passes. */
export interface Expiring {
  /** Absolute time (performance.now() ms) after which `expire` runs. */
  deadline: number;
  expire(): void;
}

export class Deadlines {
  readonly #live = new Set<Expiring>();
  readonly #timer: NodeJS.Timeout;

  constructor(readonly tickMs: number) {
    this.#timer = setInterval(() => this.#tick(), tickMs);
    this.#timer.unref();
  }

  /** The tick for a set of timeouts: a tenth of the shortest, between 5 and 250 ms. */
  static tickFor(...timeoutsMs: number[]): number {
    return Math.max(5, Math.min(250, Math.floor(Math.min(...timeoutsMs) / 10)));
  }

  watch(e: Expiring): void {
    this.#live.add(e);
  }

  unwatch(e: Expiring): void {
    this.#live.delete(e);
  }

  get size(): number {
    return this.#live.size;
  }

  #tick(): void {
    const now = performance.now();
    for (const e of this.#live) {
      if (e.deadline > now) continue;
      this.#live.delete(e);
      e.expire();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#live.clear();
  }
}
