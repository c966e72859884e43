// Composition root of a Logplex node (design.md §Logplex): the caller's stores → token cache →
// hub → accept → HTTP server (ops, /v2 API, /logs, sessions) and syslog TCP/UDP listeners. The
// stores belong to the caller (`switchyard logplex` opens them on Redis, `dev` in memory); the
// node closes them last. It listens at once: a store still connecting only makes it not ready.
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Config } from '../shared/config';
import type { Logger } from '../shared/log';
import { createRegistry } from '../shared/metrics';
import { closeServer, listen } from '../shared/ops-http';
import { formatTimestamp } from '../shared/syslog/rfc5424';
import { Acceptor } from './accept';
import { channelRoutes } from './api/channels';
import { reseedRoutes } from './api/reseed';
import { SessionRegistry } from './api/sessions';
import { httpIngestRoutes } from './ingest/http';
import { otlpIngestRoutes } from './ingest/otlp';
import { startSyslog, type SyslogIngest } from './ingest/syslog';
import { createLogplexMetrics, type LogplexMetrics } from './metrics';
import { startDrains, type DrainOptions, type Drains } from './drains/node';
import { createLogplexServer, type RouteModule, type UpgradeHandler } from './server';
import type { DrainStore } from './drains/store/index';
import type { LogStore } from './store/index';
import type { LogplexStores } from './store/open';
import { ChannelRates } from './rate';
import { TailHub } from './tail/hub';
import { TOKEN_CACHE_DEFAULTS, TokenCache } from './tokens';

/** What extra route modules (drains) get to build their routes and workers from. */
export interface LogplexContext {
  config: Config;
  store: LogStore;
  drainStore: DrainStore;
  hub: TailHub;
  tokens: TokenCache;
  metrics: LogplexMetrics;
  registry: Registry;
  log: Logger;
  apiToken: string | undefined;
}

export interface LogplexOptions {
  config: Config;
  /** Built by the caller (store/open.ts); closed by the node's close(). */
  stores: LogplexStores;
  host: string;
  apiToken: string | undefined;
  log: Logger;
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

export async function startLogplex(opts: LogplexOptions): Promise<LogplexNode> {
  const { config, log, stores } = opts;
  const store = stores.log;
  const recovery = stores.recovery;
  const registry = createRegistry('logplex');
  const tokens = new TokenCache(store, TOKEN_CACHE_DEFAULTS, recovery && ((t) => recovery.lostToken(t)));
  const hub = new TailHub(store);
  let sessions: SessionRegistry | undefined;
  const rates = new ChannelRates(config.LOGPLEX_CHANNEL_RATE, config.LOGPLEX_CHANNEL_BURST);
  let listenerUrl = '';
  const metrics = createLogplexMetrics(registry, {
    tailBuffered: () => sessions?.buffered ?? 0,
    tokenCache: () => tokens.size,
    // Read at scrape time, after the acceptor below exists.
    dropChannels: () => acceptor.channelsWithDrops,
    rateBuckets: () => rates.size,
    knownChannels: () => recovery?.known.channels ?? 0,
    knownDrains: () => recovery?.known.drains ?? 0,
    redisInFlight: () => stores.commandsInFlight?.() ?? 0,
  });
  const ctx: LogplexContext = {
    config,
    store,
    drainStore: stores.drains,
    hub,
    tokens,
    metrics,
    registry,
    log,
    apiToken: opts.apiToken,
  };
  sessions = new SessionRegistry({
    store,
    hub,
    metrics,
    log,
    apiToken: opts.apiToken,
    bufferLines: config.LOGPLEX_SESSION_BUFFER,
    maxNum: config.LOGPLEX_HISTORY_LINES,
    formatTime: (ms) => formatTimestamp(ms),
    publicUrl: () => config.LOGPLEX_PUBLIC_URL ?? listenerUrl,
    ...(opts.sessionTtlMs ? { ttlMs: opts.sessionTtlMs } : {}),
  });
  const acceptor = new Acceptor({
    store,
    tokens,
    hub,
    metrics,
    log,
    rates,
    ...(recovery ? { lost: (channel: number) => recovery.lostChannel(channel) } : {}),
  });
  const drains = startDrains(ctx, opts.drains ?? {});
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
    otlpIngestRoutes({ acceptor, tokens, metrics }),
    reseedRoutes({ recovery, apiToken: opts.apiToken }),
    ...(opts.routes ?? []).map((make) => make(ctx)),
  ];
  const upgrades: UpgradeHandler[] = [sessions.upgrade()];
  const server: Server = createLogplexServer({
    ops: {
      registry,
      readiness: () => {
        const loss = recovery?.loss;
        const up = store.healthy();
        return {
          ready: up && !loss,
          detail: {
            store: store.kind,
            store_up: up,
            ...(!up
              ? { reason: 'store_unreachable', url: stores.where }
              : loss
                ? { reason: 'store_reset', expected: loss.expected, found: loss.found ?? null, missing: loss.missing }
                : {}),
          },
        };
      },
    },
    routes,
    upgrades,
    log,
    guard: { down: () => (store.healthy() ? undefined : `log store at ${stores.where} unreachable; retry`) },
  });
  let syslog: SyslogIngest | undefined;
  try {
    const httpPort = await listen(server, config.LOGPLEX_PORT, opts.host);
    listenerUrl = `http://${hostForUrl(opts.host)}:${httpPort}`;
    syslog = await startSyslog(
      { acceptor, metrics, log, storeUp: () => store.healthy() },
      opts.host,
      config.LOGPLEX_SYSLOG_PORT,
    );
    const s = syslog;
    // The store is back: held syslog frames go first, then each channel that lost lines gets its L12.
    const offHealth = store.onHealth((up) => {
      if (!up) return;
      s.storeBack();
      void acceptor.reportDrops();
    });
    // A store that came back empty: counted and told (recovery.ts); once whole again, the L12 lines.
    recovery?.start({
      log,
      onReset: () => metrics.storeResets.inc(),
      onWhole: () => void acceptor.reportDrops(),
    });
    log.info('logplex listening', { http: httpPort, syslog: syslog.port, store: store.kind, url: stores.where });
    return {
      httpPort,
      syslogPort: s.port,
      store,
      hub,
      registry,
      context: ctx,
      drains,
      async close() {
        const grace = config.SWITCHYARD_GRACE_MS;
        offHealth();
        await recovery?.stop();
        sessions?.closeAll();
        await Promise.all([closeServer(server, grace), s.close(grace)]);
        // Drains flush their batch in flight and release their leases before the store goes.
        await drains.close();
        await opts.onClose?.();
        hub.close();
        await stores.close();
      },
    };
  } catch (err) {
    await recovery?.stop();
    await drains.close();
    server.close();
    await syslog?.close(0);
    await stores.close();
    throw err;
  }
}

/** The listener as a URL host: a wildcard bind is reached on loopback; IPv6 goes in brackets (RFC 3986 §3.2.2). */
function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
