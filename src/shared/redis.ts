// ioredis factory shared by both services. Keys are built by each store from `prefix`
// (ioredis' keyPrefix does not cover pub/sub channels or SCAN patterns, so we do not use it).
// Every multi-key operation in a store uses one hash tag, so Cluster works unchanged.
//
// REDIS_URL forms:
//   redis://[:pass@]host:port[/db]  rediss://...            a single node (or a proxy)
//   redis-sentinel://[:pass@]host:port,host:port/MASTER     Sentinel, failover by ioredis
//   redis-cluster://[:pass@]host:port,host:port             Redis Cluster
import { EventEmitter } from 'node:events';
import Redis, { Cluster, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

const COMMON: RedisOptions = {
  // Fail commands within about a second while Redis is away instead of queueing forever:
  // callers keep serving from caches and report themselves degraded.
  maxRetriesPerRequest: 2,
  connectTimeout: 2_000,
  retryStrategy: (times) => Math.min(100 * times, 2_000),
  enableReadyCheck: true,
};

function hosts(list: string): { host: string; port: number }[] {
  return list.split(',').map((hp) => {
    const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(hp.trim());
    if (!m) throw new Error(`bad host in REDIS_URL: ${hp}`);
    return { host: m[1]!, port: m[2] ? Number(m[2]) : 6379 };
  });
}

export function createRedis(url: string, extra: RedisOptions = {}): RedisClient {
  const u = /^(redis-sentinel|redis-cluster):\/\/(?:([^@]*)@)?([^/]+)(?:\/(.*))?$/.exec(url);
  if (!u) return new Redis(url, { ...COMMON, ...extra });
  const password = u[2] ? decodeURIComponent(u[2].replace(/^[^:]*:/, '')) || undefined : undefined;
  if (u[1] === 'redis-sentinel') {
    return new Redis({ ...COMMON, ...extra, sentinels: hosts(u[3]!), name: u[4] || 'mymaster', password });
  }
  return new Cluster(hosts(u[3]!), {
    redisOptions: { ...COMMON, ...extra, password },
    clusterRetryStrategy: COMMON.retryStrategy as (n: number) => number,
  });
}

/**
 * Tracks whether a client can reach Redis. `up` flips on `ready` and `close`/`end`;
 * listeners get every change, so a node can report itself degraded and catch up later.
 */
export class RedisHealth extends EventEmitter {
  #up = false;
  #since = Date.now();
  constructor(client: RedisClient) {
    super();
    client.on('ready', () => this.#set(true));
    client.on('close', () => this.#set(false));
    client.on('end', () => this.#set(false));
    // ioredis emits 'error' on every failed reconnect; the listener keeps it from crashing us.
    client.on('error', () => undefined);
    if ((client as Redis).status === 'ready') this.#set(true);
  }
  get up(): boolean {
    return this.#up;
  }
  /** ms since epoch of the last change. */
  get since(): number {
    return this.#since;
  }
  #set(up: boolean): void {
    if (up === this.#up) return;
    this.#up = up;
    this.#since = Date.now();
    this.emit(up ? 'up' : 'down');
  }
}

/** Waits until the client is ready, or rejects after `timeoutMs`. */
export function waitReady(client: RedisClient, timeoutMs = 10_000): Promise<void> {
  if ((client as Redis).status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      client.off('ready', ok);
      reject(Object.assign(new Error(`Redis not ready after ${timeoutMs} ms`), { code: 'SY_REDIS_UNREACHABLE' }));
    }, timeoutMs);
    const ok = (): void => {
      clearTimeout(t);
      resolve();
    };
    client.once('ready', ok);
  });
}
