// `switchyard logplex`: one Logplex node on Redis (DESIGN §1). REDIS_URL and
// SWITCHYARD_API_TOKEN are required; SIGTERM stops it gracefully.
import { describeSettings, flagsToEnv, loadConfig } from '../shared/config';
import { createLogger, type Level } from '../shared/log';
import { stopOnSignals } from '../shared/ops-http';
import { startLogplex } from '../logplex/index';
import { viewerRoutes } from '../logplex/viewer/index';
import { RedisRouteStore } from '../router/store/redis';
import { appDirectory } from './platform/wiring';

export async function run(argv: string[]): Promise<number> {
  const { env, rest } = flagsToEnv(argv);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`Usage: switchyard logplex\n\nSettings:\n${describeSettings()}\n`);
    return 0;
  }
  if (rest.length) {
    process.stderr.write(`switchyard logplex: unknown argument ${rest[0]}\n`);
    return 2;
  }
  const config = loadConfig({ ...process.env, ...env });
  if (!config.REDIS_URL) {
    process.stderr.write('switchyard logplex: REDIS_URL is required (e.g. REDIS_URL=redis://127.0.0.1:6379)\n');
    return 2;
  }
  if (!config.SWITCHYARD_API_TOKEN) {
    process.stderr.write('switchyard logplex: SWITCHYARD_API_TOKEN is required (16-256 printable ASCII characters)\n');
    return 2;
  }
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
