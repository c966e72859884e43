// The response (H12) and idle (H15) timers of every exchange in flight, checked by one interval
// instead of a Node timer armed and cleared per request (two per request showed up in profiles).
// A deadline fires at most one tick late; the tick is a tenth of the shortest timeout, so
// timeouts stay within 10% (and within 250 ms) of the setting.
// Exchanges sit in numbered slots of a plain array, not in a Set: a long-lived Set that young
// objects pass through kept each exchange (its request and response) alive through minor GCs,
// which made scavenges copy ~30% of the young generation (7 ms pauses instead of 0.6 ms).

/** What a deadline calls when it passes. */
export interface Expiring {
  /** Absolute time (performance.now() ms) after which `expire` runs. */
  deadline: number;
  /** The slot Deadlines gave it; -1 while not watched. */
  slot: number;
  expire(): void;
}

export class Deadlines {
  readonly #slots: (Expiring | undefined)[] = [];
  readonly #free: number[] = [];
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
    if (e.slot !== -1) return;
    const i = this.#free.length > 0 ? this.#free.pop()! : this.#slots.length;
    this.#slots[i] = e;
    e.slot = i;
  }

  unwatch(e: Expiring): void {
    const i = e.slot;
    if (i === -1 || this.#slots[i] !== e) return;
    this.#slots[i] = undefined;
    e.slot = -1;
    this.#free.push(i);
  }

  #tick(): void {
    const now = performance.now();
    const slots = this.#slots;
    for (let i = 0; i < slots.length; i++) {
      const e = slots[i];
      if (e === undefined || e.deadline > now) continue;
      this.unwatch(e);
      e.expire();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    for (const e of this.#slots) if (e !== undefined) e.slot = -1;
    this.#slots.length = 0;
    this.#free.length = 0;
  }
}
