// `switchyard logplex`: one Logplex node on Redis (DESIGN §1). REDIS_URL and
// SWITCHYARD_API_TOKEN are required; SIGTERM stops it gracefully.
import { createLogger, type Level } from '../shared/log';
import { stopOnSignals } from '../shared/ops-http';
import { startLogplex } from '../logplex/index';
import { viewerRoutes } from '../logplex/viewer/index';
import { RedisRouteStore } from '../router/store/redis';
import { nodeConfig } from './platform/node-config';
import { appDirectory } from './platform/wiring';

export async function run(argv: string[]): Promise<number> {
  const config = nodeConfig('logplex', argv);
  if (typeof config === 'number') return config;
  const log = createLogger({ level: config.LOG_LEVEL as Level, fields: { svc: 'logplex' } });
  // The viewer and `switchyard logs` find apps by name (GET /v2/apps) in the routers' store.
  const routes = new RedisRouteStore(config.REDIS_URL, config.SWITCHYARD_PREFIX);
  const apiToken = config.SWITCHYARD_API_TOKEN;
  const node = await startLogplex({
    config,
    store: 'redis',
    host: config.SWITCHYARD_HOST ?? '0.0.0.0',
    apiToken,
    log,
    routes: [() => viewerRoutes({ apiToken, apps: appDirectory(routes) })],
  }).catch(async (err: unknown) => {
    await routes.close();
    throw err;
  });
  stopOnSignals(async () => {
    await node.close();
    await routes.close();
  }, log);
  // Runs until a signal: stopOnSignals exits the process.
  return new Promise<number>(() => undefined);
}
