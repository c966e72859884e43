// Drains on a Logplex node (design.md §Drains): the drain store that matches the log store, the API
// routes, and the scheduler that delivers this node's share of the drains. startLogplex
// calls startDrains once and closes it (flush, release leases) before the store goes.
import { drainRoutes, drainView } from '../api/drains';
import { ConfigError } from '../../shared/config';
import type { LogplexContext } from '../index';
import type { NewLine } from '../lines';
import type { RouteModule } from '../server';
import { RedisLogStore } from '../store/redis';
import { createDrainMetrics } from './metrics';
import { DrainScheduler, type SchedulerOptions } from './scheduler';
import type { DrainStore } from './store/index';
import { MemoryDrainStore } from './store/memory';
import { RedisDrainStore } from './store/redis';

/** Scheduler knobs a caller (tests, the bench) may set; the rest comes from the context. */
export type DrainOptions = Partial<
  Pick<SchedulerOptions, 'node' | 'leaseMs' | 'tickMs' | 'perTick' | 'pollMs' | 'transport' | 'backoff'>
>;

export interface Drains {
  store: DrainStore;
  scheduler: DrainScheduler;
  routes: RouteModule;
  drainsOf: (channel: number) => Promise<unknown[]>;
  close(): Promise<void>;
}

export function startDrains(ctx: LogplexContext, opts: DrainOptions & { prefix: string }): Drains {
  const { store: log, hub, config } = ctx;
  const leaseMs = opts.leaseMs ?? config.LOGPLEX_DRAIN_LEASE_MS;
  const tickMs = opts.tickMs ?? config.LOGPLEX_DRAIN_RENEW_MS;
  // A runner trusts a renewal for TRUSTED_SHARE of the TTL: renewing less often than half of it
  // would leave it waiting on its own lease between ticks.
  if (tickMs * 2 > leaseMs) {
    throw new ConfigError(
      'LOGPLEX_DRAIN_RENEW_MS',
      String(tickMs),
      `at most half of LOGPLEX_DRAIN_LEASE_MS (${leaseMs})`,
    );
  }
  const store: DrainStore =
    log instanceof RedisLogStore ? new RedisDrainStore(log.client, { prefix: opts.prefix }) : new MemoryDrainStore(log);
  // L13/L14 go into the channel itself, where `logs --tail` and the viewer show them.
  const report = (channel: number, line: NewLine): void => {
    log.append(channel, [line]).then(
      (stored) => stored && hub.publish(channel, stored),
      () => undefined,
    );
  };
  const scheduler = new DrainScheduler({
    ...opts,
    leaseMs,
    tickMs,
    store,
    log: ctx.log.child({ part: 'drains' }),
    metrics: createDrainMetrics(ctx.registry),
    report,
    watch: (channel, wake) => hub.subscribe(channel, wake),
  });
  scheduler.start();
  return {
    store,
    scheduler,
    routes: drainRoutes({ store: log, drains: store, apiToken: ctx.apiToken, onCreate: () => scheduler.kick() }),
    drainsOf: async (channel) => (await store.list(channel)).map(drainView),
    close: () => scheduler.stop(),
  };
}
