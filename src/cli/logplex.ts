// `switchyard logplex`: one Logplex node on Redis (design.md §Processes and settings). REDIS_URL and
// SWITCHYARD_API_TOKEN are required; SIGTERM stops it gracefully.
import { createLogger, type Level } from '../shared/log';
import { stopOnSignals } from '../shared/ops-http';
import { startLogplex } from '../logplex/index';
import { viewerRoutes } from '../logplex/viewer/index';
import { nodeConfig } from './platform/node-config';

export async function run(argv: string[]): Promise<number> {
  const config = nodeConfig('logplex', argv);
  if (typeof config === 'number') return config;
  const log = createLogger({ level: config.LOG_LEVEL as Level, fields: { svc: 'logplex' } });
  const node = await startLogplex({
    config,
    store: 'redis',
    host: config.SWITCHYARD_HOST ?? '0.0.0.0',
    apiToken: config.SWITCHYARD_API_TOKEN,
    log,
    routes: [() => viewerRoutes()],
  });
  stopOnSignals(() => node.close(), log);
  // Runs until a signal: stopOnSignals exits the process.
  return new Promise<number>(() => undefined);
}
