// A drain lease as this node holds it (design.md §Drain delivery): the epoch the store gave it,
// and how long the node may act on it by its own monotonic clock. The store fences a stale
// epoch on every read and ack; this clock keeps a node from *sending* on a lease that may have
// lapsed: a process stopped past its lease (SIGSTOP, a long GC or VM pause) wakes up with
// `held()` false and sends nothing until its scheduler confirmed the lease or stopped the runner.
import { performance } from 'node:perf_hooks';
import type { DrainLease } from './store/index';

/**
 * The share of the TTL a holder trusts its last renewal for. The rest covers the two clocks
 * (Redis expires the key by its own) running at slightly different rates.
 */
export const TRUSTED_SHARE = 0.8;

export class HeldLease implements DrainLease {
  #until: number;

  /** `sentAt`: the monotonic time the acquiring request was sent (the TTL started after it). */
  constructor(
    readonly epoch: number,
    readonly ttlMs: number,
    sentAt: number,
  ) {
    this.#until = sentAt + ttlMs * TRUSTED_SHARE;
  }

  held(): boolean {
    return performance.now() < this.#until;
  }

  /** The store renewed the lease by a request sent at `sentAt`. */
  renewed(sentAt: number): void {
    this.#until = sentAt + this.ttlMs * TRUSTED_SHARE;
  }

  /** The lease went elsewhere (or the drain did): nothing more is sent on it. */
  lost(): void {
    this.#until = -Infinity;
  }
}
