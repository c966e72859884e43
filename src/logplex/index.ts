// Composition root of a Logplex node (design.md §Logplex): config → store → token cache → hub →
// accept → HTTP server (ops, /v2 API, /logs, sessions) and syslog TCP/UDP listeners.
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Config } from '../shared/config';
import type { Logger } from '../shared/log';
import { createRegistry } from '../shared/metrics';
import { closeServer, listen } from '../shared/ops-http';
import { createRedis, waitReady } from '../shared/redis';
import { formatTimestamp } from '../shared/syslog/rfc5424';
import { Acceptor } from './accept';
import { channelRoutes } from './api/channels';
import { SessionRegistry } from './api/sessions';
import { httpIngestRoutes } from './ingest/http';
import { startSyslog, type SyslogIngest } from './ingest/syslog';
import { createLogplexMetrics, type LogplexMetrics } from './metrics';
import { startDrains, type DrainOptions, type Drains } from './drains/node';
import { createLogplexServer, type RouteModule, type UpgradeHandler } from './server';
import type { LogStore } from './store/index';
import { MemoryLogStore } from './store/memory';
import { RedisLogStore } from './store/redis';
import { TailHub } from './tail/hub';
import { TokenCache } from './tokens';

/** What extra route modules (drains) get to build their routes and workers from. */
export interface LogplexContext {
  config: Config;
  store: LogStore;
  hub: TailHub;
  tokens: TokenCache;
  metrics: LogplexMetrics;
  registry: Registry;
  log: Logger;
  apiToken: string | undefined;
}

export interface LogplexOptions {
  config: Config;
  /** 'memory' (dev), 'redis' (REDIS_URL from config), or a store built by the caller; default: redis when REDIS_URL is set. */
  store?: 'memory' | 'redis' | LogStore;
  host: string;
  apiToken: string | undefined;
  log: Logger;
  /** Redis key prefix; default config.SWITCHYARD_PREFIX (tests pass their own). */
  prefix?: string;
  /** Extra routes (drains), added after the built-in ones. */
  routes?: ((ctx: LogplexContext) => RouteModule)[];
  /** Drains' GET /v2/channels/:id view. */
  drainsOf?: (ctx: LogplexContext) => (channel: number) => Promise<unknown[]>;
  /** How long a session URL stays valid until opened (default 5 minutes; tests shorten it). */
  sessionTtlMs?: number;
  /** Called on close() before the store goes (drains stop here). */
  onClose?: () => Promise<void>;
  /** Drain scheduler knobs (lease, tick, CA for receivers); defaults suit production. */
  drains?: DrainOptions;
}

export interface LogplexNode {
  httpPort: number;
  syslogPort: number;
  store: LogStore;
  hub: TailHub;
  registry: Registry;
  context: LogplexContext;
  drains: Drains;
  close(): Promise<void>;
}

function openStore(opts: LogplexOptions): { store: LogStore; quit: () => void } {
  const kind = opts.store ?? (opts.config.REDIS_URL ? 'redis' : 'memory');
  if (typeof kind === 'object') return { store: kind, quit: () => undefined };
  if (kind === 'memory') return { store: new MemoryLogStore(opts.config.LOGPLEX_HISTORY_LINES), quit: () => undefined };
  const url = opts.config.REDIS_URL;
  if (!url) throw Object.assign(new Error('REDIS_URL is required for the redis store'), { code: 'SY_CONFIG' });
  const redis = createRedis(url);
  const store = new RedisLogStore(redis, {
    prefix: opts.prefix ?? opts.config.SWITCHYARD_PREFIX,
    historyLines: opts.config.LOGPLEX_HISTORY_LINES,
  });
  return { store, quit: () => redis.disconnect() };
}

export async function startLogplex(opts: LogplexOptions): Promise<LogplexNode> {
  const { config, log } = opts;
  const { store, quit } = openStore(opts);
  const registry = createRegistry('logplex');
  const tokens = new TokenCache(store);
  const hub = new TailHub(store);
  let sessions: SessionRegistry | undefined;
  const metrics = createLogplexMetrics(registry, {
    tailBuffered: () => sessions?.buffered ?? 0,
    tokenCache: () => tokens.size,
  });
  const ctx: LogplexContext = { config, store, hub, tokens, metrics, registry, log, apiToken: opts.apiToken };
  sessions = new SessionRegistry({
    store,
    hub,
    metrics,
    log,
    apiToken: opts.apiToken,
    bufferLines: config.LOGPLEX_SESSION_BUFFER,
    maxNum: config.LOGPLEX_HISTORY_LINES,
    formatTime: (ms) => formatTimestamp(ms),
    ...(opts.sessionTtlMs ? { ttlMs: opts.sessionTtlMs } : {}),
  });
  const acceptor = new Acceptor({ store, tokens, hub, metrics, log });
  const drains = startDrains(ctx, { prefix: opts.prefix ?? config.SWITCHYARD_PREFIX, ...opts.drains });
  const routes: RouteModule[] = [
    channelRoutes({
      store,
      tokens,
      apiToken: opts.apiToken,
      drainsOf: opts.drainsOf ? opts.drainsOf(ctx) : drains.drainsOf,
    }),
    drains.routes,
    sessions.routes(),
    httpIngestRoutes({ acceptor, tokens, metrics }),
    ...(opts.routes ?? []).map((make) => make(ctx)),
  ];
  const upgrades: UpgradeHandler[] = [sessions.upgrade()];
  const server: Server = createLogplexServer({
    ops: {
      registry,
      readiness: () => ({ ready: store.healthy(), detail: { store: store.kind, store_up: store.healthy() } }),
    },
    routes,
    upgrades,
    log,
  });
  let syslog: SyslogIngest | undefined;
  try {
    if (store instanceof RedisLogStore) await waitReady(store.client);
    const httpPort = await listen(server, Number(config.LOGPLEX_PORT), opts.host);
    syslog = await startSyslog({ acceptor, metrics, log }, opts.host, Number(config.LOGPLEX_SYSLOG_PORT));
    log.info('logplex listening', { http: httpPort, syslog: syslog.port, store: store.kind });
    const s = syslog;
    return {
      httpPort,
      syslogPort: s.port,
      store,
      hub,
      registry,
      context: ctx,
      drains,
      async close() {
        // Config's `ms()` settings type as string | number (shared/config.ts); they are numbers.
        const grace = Number(config.SWITCHYARD_GRACE_MS);
        sessions?.closeAll();
        await Promise.all([closeServer(server, grace), s.close(grace)]);
        // Drains flush their batch in flight and release their leases before the store goes.
        await drains.close();
        await opts.onClose?.();
        hub.close();
        await store.close();
        quit();
      },
    };
  } catch (err) {
    await drains.close();
    server.close();
    await syslog?.close(0);
    await store.close();
    quit();
    throw err;
  }
}
