// `switchyard router` (design.md §Processes and settings): one router node (data plane + control API) on Redis; SIGTERM
// stops it gracefully.
// REDIS_URL and SWITCHYARD_API_TOKEN are required. With LOGPLEX_URL set, every new app gets its
// Logplex channel (tokens `app`, `heroku`) and router lines go to it as `heroku[router]`
// (batched, bounded, dropped and counted when Logplex is away); without it they go to stdout only.
// `switchyard router --reseed` starts nothing: it asks the running node at ROUTER_ADMIN_URL to
// write its table back into a store that lost its data (design.md §Route table).
import { startRouter, type RouterNode } from '../router/index';
import { RedisRouteStore } from '../router/store/redis';
import { createLogger, errorFields, type Level } from '../shared/log';
import { LogplexClient } from '../shared/logplex-client';
import { createRegistry } from '../shared/metrics';
import { runClustered } from '../router/cluster';
import { LogplexAccessLog } from './platform/router-log-sink';
import { nodeConfig } from './platform/node-config';
import { askReseed } from './platform/reseed';
import { portInUseMessage } from './platform/port-in-use';
import { channelDeleteHook, channelHook, LOGPLEX_PROBE, probeLogplex } from './platform/wiring';
import { redactUrl } from '../shared/config';

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--reseed')) return reseed(argv.filter((a) => a !== '--reseed'));
  const config = nodeConfig('router', argv);
  if (typeof config === 'number') return config;
  const log = createLogger({ level: config.LOG_LEVEL as Level, fields: { svc: 'router' } });
  const redisUrl = config.REDIS_URL;
  const apiToken = config.SWITCHYARD_API_TOKEN;
  const lpUrl = config.LOGPLEX_URL;
  if (!lpUrl) log.warn('LOGPLEX_URL is not set: new apps get no Logplex channel and router lines go to stdout only');
  else {
    // A wrong LOGPLEX_URL would leave every new app without logs: refuse to start instead (design.md §How the parts meet).
    const why = await probeLogplex({ url: lpUrl, token: apiToken });
    if (why !== undefined) {
      const waited = ((LOGPLEX_PROBE.tries - 1) * LOGPLEX_PROBE.intervalMs) / 1000;
      process.stderr.write(
        `switchyard router: LOGPLEX_URL=${redactUrl(lpUrl)} is not usable: ${why} (tried for ${waited} s). Start Logplex first, fix LOGPLEX_URL, or unset it to run without app logs\n`,
      );
      return 1;
    }
  }
  // One node per process; ROUTER_WORKERS > 1 runs one per worker on the same ports (cluster.ts).
  const start = async (): Promise<{ close(): Promise<void> }> => {
    const store = new RedisRouteStore(redisUrl, config.SWITCHYARD_PREFIX, { log });
    const registry = createRegistry('router');
    const client = lpUrl
      ? new LogplexClient({
          url: lpUrl,
          onBatchError: (e) => log.warn('router lines dropped', { code: e.code, lines: e.lines }),
        })
      : undefined;
    let node: RouterNode | undefined;
    const sink = client
      ? new LogplexAccessLog(client, (app) => node?.table.table.app(app)?.app.routerToken, registry)
      : undefined;
    try {
      node = await startRouter({
        config,
        store,
        host: config.SWITCHYARD_HOST ?? '0.0.0.0',
        apiToken,
        log,
        registry,
        ...(lpUrl ? { onAppCreated: channelHook({ url: lpUrl, token: apiToken }) } : {}),
        ...(lpUrl ? { onAppDeleted: channelDeleteHook({ url: lpUrl, token: apiToken }) } : {}),
        ...(sink ? { accessLog: sink } : {}),
      });
    } catch (err) {
      await client?.close();
      await store.close();
      throw err;
    }
    const started = node;
    const state = started.table.state;
    log.info('router ready', {
      port: started.port,
      admin_port: started.adminPort,
      ready: state.ready,
      reason: state.reason,
      apps: started.table.table.stats().apps,
    });
    return {
      close: async () => {
        await started.close();
        await client?.close();
        await store.close();
      },
    };
  };
  try {
    await runClustered({ workers: config.ROUTER_WORKERS, start, log, graceMs: config.SWITCHYARD_GRACE_MS });
  } catch (err) {
    const inUse = portInUseMessage('router', err);
    if (inUse) process.stderr.write(inUse + '\n');
    else log.error('router failed to start', errorFields(err));
    return 1;
  }
  // Runs until a signal: stopOnSignals (in runClustered) exits the process.
  return new Promise<number>(() => undefined);
}

/** POST /v1/table/reseed on the running node; prints what it wrote back. */
async function reseed(argv: string[]): Promise<number> {
  const config = nodeConfig('router', argv);
  if (typeof config === 'number') return config;
  const base = config.ROUTER_ADMIN_URL ?? `http://127.0.0.1:${config.ROUTER_ADMIN_PORT}`;
  return askReseed('router', `${base}/v1/table/reseed`, config.SWITCHYARD_API_TOKEN);
}
