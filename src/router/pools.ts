// Step 5 of the request path (DESIGN §3): one undici keep-alive Pool per dyno host:port.
// Pooled connections idle for ROUTER_POOL_IDLE_MS (4 s, below Node's 5 s server default) are
// closed by undici, which shrinks the keep-alive race. When the table changes, the pools of dynos
// that left it are closed; undici's close() lets their in-flight requests finish first.
import { Pool } from 'undici';
import type { Config } from '../shared/config';
import type { RouteTable } from './table/route-table';

export class Pools {
  readonly #pools = new Map<string, Pool>();
  readonly #options: Pool.Options;
  #table: RouteTable | undefined;

  constructor(config: Config) {
    this.#options = {
      connect: { timeout: config.ROUTER_CONNECT_TIMEOUT_MS },
      // H12: request sent → response headers; H15: rolling idle window on the response body.
      headersTimeout: config.ROUTER_RESPONSE_TIMEOUT_MS,
      bodyTimeout: config.ROUTER_IDLE_TIMEOUT_MS,
      keepAliveTimeout: config.ROUTER_POOL_IDLE_MS,
      keepAliveMaxTimeout: config.ROUTER_POOL_IDLE_MS,
      keepAliveTimeoutThreshold: 1000,
      pipelining: 1,
      strictContentLength: true,
    };
  }

  get(host: string, port: number): Pool {
    const key = `${host}:${port}`;
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = new Pool(`http://${key}`, this.#options);
      // A pool's own errors reach the request handlers; this keeps an unexpected one from killing the process.
      pool.on('connectionError', () => undefined);
      this.#pools.set(key, pool);
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
    for (const [key, pool] of this.#pools) {
      if (live.has(key)) continue;
      this.#pools.delete(key);
      void pool.close().catch(() => undefined);
    }
  }

  get size(): number {
    return this.#pools.size;
  }

  /** Graceful: waits for in-flight requests on every pool, then closes the sockets. */
  async close(): Promise<void> {
    const all = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(all.map((p) => p.close().catch(() => undefined)));
  }

  destroy(): Promise<void> {
    const all = [...this.#pools.values()];
    this.#pools.clear();
    return Promise.all(all.map((p) => p.destroy().catch(() => undefined))).then(() => undefined);
  }
}
