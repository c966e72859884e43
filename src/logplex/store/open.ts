// The stores a Logplex node runs on, built by the caller and handed to startLogplex (as the
// router's RouteStore is): `switchyard logplex` opens them on REDIS_URL, `dev` in memory. The log
// store and the drain store share one connection, so a node's readiness has one answer.
import type { Logger } from '../../shared/log';
import {
  closeRedis,
  commandsInFlight,
  createRedis,
  RedisHealth,
  redisDisplay,
  reportUnreachable,
  type RedisClient,
} from '../../shared/redis';
import type { DrainStore } from '../drains/store/index';
import { MemoryDrainStore } from '../drains/store/memory';
import { RedisDrainStore } from '../drains/store/redis';
import type { LogStore } from './index';
import { Known } from './known';
import { MemoryLogStore } from './memory';
import { StoreRecovery } from './recovery';
import { RedisLogStore } from './redis';

export interface LogplexStores {
  log: LogStore;
  drains: DrainStore;
  /** Where the stores live, without password (`memory` or the Redis URL): /readyz and logs name it. */
  where: string;
  /** Closes both stores and their connections; the node calls it last. */
  close(): Promise<void>;
  /** On Redis: notices a store that came back empty and writes back what this node knows (recovery.ts). */
  recovery?: StoreRecovery;
  /** Redis commands sent and not answered yet (a gauge). */
  commandsInFlight?(): number;
}

export function memoryStores(historyLines: number): LogplexStores {
  const log = new MemoryLogStore(historyLines);
  return { log, drains: new MemoryDrainStore(log), where: 'memory', close: () => log.close() };
}

/**
 * Both stores on one Redis client. It connects in the background: a Redis away at start leaves
 * the node up and not ready, with one line per interval naming the URL (shared/redis.ts).
 */
export function redisStores(
  url: string,
  opts: { prefix: string; historyLines: number; log?: Logger },
): LogplexStores & { client: RedisClient } {
  const client = createRedis(url);
  const known = new Known();
  const log = new RedisLogStore(client, { prefix: opts.prefix, historyLines: opts.historyLines, known });
  const warn = opts.log;
  const stopReporting = warn
    ? reportUnreachable(client, new RedisHealth(client), (msg, fields) => warn.warn(msg, fields))
    : (): void => undefined;
  return {
    client,
    log,
    drains: new RedisDrainStore(client, { prefix: opts.prefix, known }),
    where: redisDisplay(client),
    recovery: new StoreRecovery(client, { prefix: opts.prefix, known, up: () => log.healthy() }),
    commandsInFlight: () => commandsInFlight(client),
    async close() {
      stopReporting();
      await log.close();
      await closeRedis(client);
    },
  };
}
