// Drains on a Logplex node (design.md §Drains): the API routes and the scheduler that delivers
// this node's share of the drains, on the drain store the caller handed in with the log store.
// startLogplex calls startDrains once and closes it (flush, release leases) before the stores go.
import { readFileSync } from 'node:fs';
import { ConfigError, type Config } from '../../shared/config';
import { drainRoutes, drainView } from '../api/drains';
import { fullJitter, type BackoffPolicy } from './backoff';
import type { TransportOptions } from './transport';
import type { LogplexContext } from '../index';
import type { NewLine } from '../lines';
import type { RouteModule } from '../server';
import { createDrainMetrics } from './metrics';
import { DrainScheduler, type SchedulerOptions } from './scheduler';
import type { DrainStore } from './store/index';

/** Scheduler knobs a caller (tests, the bench) may set; the rest comes from the context. */
export type DrainOptions = Partial<
  Pick<SchedulerOptions, 'node' | 'leaseMs' | 'tickMs' | 'perTick' | 'pollMs' | 'transport' | 'backoff' | 'batchLines'>
>;

/** The drain settings of config.ts as scheduler options; an unreadable CA file stops start-up. */
export function drainSettings(config: Config): {
  transport: TransportOptions;
  backoff: BackoffPolicy;
  batchLines: number;
} {
  const file = config.LOGPLEX_DRAIN_CA_FILE;
  let ca: Buffer | undefined;
  if (file) {
    try {
      ca = readFileSync(file);
    } catch (err) {
      const why = (err as { code?: string }).code ?? 'unreadable';
      throw new ConfigError('LOGPLEX_DRAIN_CA_FILE', file, `a readable PEM file (${why})`);
    }
  }
  return {
    transport: {
      connectTimeoutMs: config.LOGPLEX_DRAIN_CONNECT_TIMEOUT_MS,
      responseTimeoutMs: config.LOGPLEX_DRAIN_RESPONSE_TIMEOUT_MS,
      ...(ca ? { ca } : {}),
    },
    backoff: fullJitter({ baseMs: config.LOGPLEX_DRAIN_BACKOFF_BASE_MS, capMs: config.LOGPLEX_DRAIN_BACKOFF_CAP_MS }),
    batchLines: config.LOGPLEX_DRAIN_BATCH_LINES,
  };
}

export interface Drains {
  store: DrainStore;
  scheduler: DrainScheduler;
  routes: RouteModule;
  drainsOf: (channel: number) => Promise<unknown[]>;
  close(): Promise<void>;
}

export function startDrains(ctx: LogplexContext, opts: DrainOptions): Drains {
  const { store: log, drainStore: store, hub, config } = ctx;
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
  // L13/L14 go into the channel itself, where `logs --tail` and the viewer show them.
  const report = (channel: number, line: NewLine): void => {
    log.append(channel, [line]).then(
      (stored) => stored && hub.publish(channel, stored),
      () => undefined,
    );
  };
  const settings = drainSettings(ctx.config);
  const transport: TransportOptions = { ...settings.transport, ...opts.transport };
  const scheduler = new DrainScheduler({
    ...settings,
    ...opts,
    leaseMs,
    tickMs,
    transport,
    store,
    log: ctx.log.child({ part: 'drains' }),
    metrics: createDrainMetrics(ctx.registry),
    report,
    watch: (channel, wake) => hub.subscribe(channel, wake),
    storeUp: () => log.healthy(),
  });
  scheduler.start();
  return {
    store,
    scheduler,
    routes: drainRoutes({
      store: log,
      drains: store,
      apiToken: ctx.apiToken,
      maxDrains: ctx.config.LOGPLEX_MAX_DRAINS_PER_CHANNEL,
      transport,
      onCreate: () => scheduler.kick(),
    }),
    drainsOf: async (channel) => (await store.list(channel)).map(drainView),
    close: () => scheduler.stop(),
  };
}
