// `switchyard logplex`: one Logplex node on Redis (design.md §Processes and settings). REDIS_URL and
// SWITCHYARD_API_TOKEN are required; SIGTERM stops it gracefully.
// `switchyard logplex --reseed` starts nothing: it asks the running node at LOGPLEX_URL to write the
// channels, tokens and drains it knows back into a store that came back empty (design.md §Scale-out).
import { createLogger, type Level } from '../shared/log';
import { stopOnSignals } from '../shared/ops-http';
import { startLogplex } from '../logplex/index';
import { redisStores } from '../logplex/store/open';
import { viewerRoutes } from '../logplex/viewer/index';
import { nodeConfig } from './platform/node-config';
import { askReseed } from './platform/reseed';
import { portInUse } from './platform/port-in-use';

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--reseed')) return reseed(argv.filter((a) => a !== '--reseed'));
  const config = nodeConfig('logplex', argv);
  if (typeof config === 'number') return config;
  const log = createLogger({ level: config.LOG_LEVEL as Level, fields: { svc: 'logplex' } });
  // A Redis away at start leaves the node up and
  // not ready, saying so once per interval, as the router does.
  const stores = redisStores(config.REDIS_URL, {
    prefix: config.SWITCHYARD_PREFIX,
    historyLines: config.LOGPLEX_HISTORY_LINES,
    log,
  });
  let node;
  try {
    node = await startLogplex({
      config,
      stores,
      host: config.SWITCHYARD_HOST ?? '0.0.0.0',
      apiToken: config.SWITCHYARD_API_TOKEN,
      log,
      routes: [() => viewerRoutes()],
    });
  } catch (err) {
    return portInUse('logplex', err);
  }
  const started = node;
  stopOnSignals(() => started.close(), log);
  // Runs until a signal: stopOnSignals exits the process.
  return new Promise<number>(() => undefined);
}

/** POST /v2/reseed on the running node; prints what it wrote back. */
async function reseed(argv: string[]): Promise<number> {
  const config = nodeConfig('logplex', argv);
  if (typeof config === 'number') return config;
  const base = config.LOGPLEX_URL ?? `http://127.0.0.1:${config.LOGPLEX_PORT}`;
  return askReseed('logplex', `${base}/v2/reseed`, config.SWITCHYARD_API_TOKEN);
}
