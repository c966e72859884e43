// Step 5 of the request path (design.md §Request path): the connections to every dyno, keyed host:port, for plain
// and Upgrade requests alike: our own keep-alive pools (upstream/pool.ts: chosen by measurement,
// see docs/decisions.md). When the table changes, the pools of dynos that left it are closed;
// requests already running on them finish first.
import { performance } from 'node:perf_hooks';
import type { Config } from '../shared/config';
import type { RouteTable } from './table/route-table';
import { Deadlines } from './upstream/deadlines';
import { DynoPool, type PoolCounts, type PoolOptions } from './upstream/pool';

/** Idle connections kept per dyno: enough for a burst of this many requests to reuse them. */
export const MAX_IDLE_PER_DYNO = 256;

export class Pools {
  /**
   * host → port → pool. Two lookups by values the dyno record already holds: a `host:port` key
   * would be a new string to build and hash on every request (~1,500 instructions).
   */
  readonly #pools = new Map<string, Map<number, DynoPool>>();
  readonly #options: PoolOptions;
  readonly #sweeper: NodeJS.Timeout;
  readonly counts: PoolCounts;
  /** The H12/H15 deadlines of every exchange on these pools, and the timeouts they are set from. */
  readonly deadlines: Deadlines;
  readonly timeouts: { readonly responseMs: number; readonly idleMs: number };
  #table: RouteTable | undefined;

  /** `counts`: where the pools keep their open/idle connection counts (the metrics read them). */
  constructor(config: Config, counts: PoolCounts = { open: 0, idle: 0 }) {
    this.counts = counts;
    this.#options = {
      connectTimeoutMs: config.ROUTER_CONNECT_TIMEOUT_MS,
      idleMs: config.ROUTER_POOL_IDLE_MS,
      maxIdle: MAX_IDLE_PER_DYNO,
    };
    // One timer for every idle connection of every dyno, instead of one per connection.
    const sweepMs = Math.max(50, Math.min(1_000, Math.floor(config.ROUTER_POOL_IDLE_MS / 4)));
    this.#sweeper = setInterval(() => {
      const now = performance.now();
      for (const pool of this.#all()) pool.sweep(now, sweepMs);
    }, sweepMs);
    this.#sweeper.unref();
    this.timeouts = { responseMs: config.ROUTER_RESPONSE_TIMEOUT_MS, idleMs: config.ROUTER_IDLE_TIMEOUT_MS };
    this.deadlines = new Deadlines(Deadlines.tickFor(this.timeouts.responseMs, this.timeouts.idleMs));
  }

  get(host: string, port: number): DynoPool {
    let byPort = this.#pools.get(host);
    if (byPort === undefined) this.#pools.set(host, (byPort = new Map<number, DynoPool>()));
    let pool = byPort.get(port);
    if (pool === undefined) {
      pool = new DynoPool(host, port, this.#options, this.counts);
      byPort.set(port, pool);
    }
    return pool;
  }

  /** Called with the current table on each request; closes pools of departed dynos when it changed. */
  follow(table: RouteTable): void {
    if (table === this.#table) return;
    this.#table = table;
    if (this.#pools.size === 0) return;
    const live = new Set<string>();
    for (const entry of table.apps()) for (const d of entry.app.dynos) live.add(`${d.host}:${d.port}`);
    for (const [host, byPort] of this.#pools) {
      for (const [port, pool] of byPort) {
        if (live.has(`${host}:${port}`)) continue;
        byPort.delete(port);
        pool.close();
      }
      if (byPort.size === 0) this.#pools.delete(host);
    }
  }

  *#all(): IterableIterator<DynoPool> {
    for (const byPort of this.#pools.values()) yield* byPort.values();
  }

  /** After the server drained: every dyno connection still open is closed. Upgraded pipes left the pools. */
  close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.deadlines.stop();
    for (const pool of this.#all()) pool.destroy();
    this.#pools.clear();
    return Promise.resolve();
  }
}
