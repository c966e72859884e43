// A bounded FIFO that reports loss as data (heroku/logplex:src/logplex_msg_buffer.erl):
// pushing into a full buffer displaces the oldest item and counts it; `take` hands back the
// loss since the last take (count and time of the first loss) before the items, so the caller
// can write one L11 line in the right place. Pure: no I/O, no timers.

export interface Taken<T> {
  /** Items displaced since the previous take. */
  lost: number;
  /** ms since epoch of the first of those losses (0 when lost is 0). */
  since: number;
  items: T[];
}

export class LineBuffer<T> {
  #ring: (T | undefined)[];
  #head = 0;
  #size = 0;
  #lost = 0;
  #since = 0;
  constructor(readonly cap: number) {
    this.#ring = new Array(cap);
  }
  get size(): number {
    return this.#size;
  }
  /** Appends; returns false when the oldest item was displaced to make room. */
  push(item: T, now: number): boolean {
    const tail = (this.#head + this.#size) % this.cap;
    this.#ring[tail] = item;
    if (this.#size < this.cap) {
      this.#size++;
      return true;
    }
    this.#head = (this.#head + 1) % this.cap;
    if (this.#lost === 0) this.#since = now;
    this.#lost++;
    return false;
  }
  /** Removes up to `max` items, oldest first, with the loss recorded since the last take. */
  take(max: number): Taken<T> {
    const n = Math.min(max, this.#size);
    const items: T[] = new Array(n);
    for (let i = 0; i < n; i++) {
      items[i] = this.#ring[this.#head]!;
      this.#ring[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.cap;
    }
    this.#size -= n;
    const out = { lost: this.#lost, since: this.#since, items };
    this.#lost = 0;
    this.#since = 0;
    return out;
  }
}
