// `switchyard router`: one router node on Redis (DESIGN §1). Settings from the environment and
// flags; REDIS_URL and SWITCHYARD_API_TOKEN are required; SIGTERM stops it gracefully.
import { describeSettings, flagsToEnv, loadConfig } from '../shared/config';
import { createLogger, errorFields, type Level } from '../shared/log';
import { stopOnSignals } from '../shared/ops-http';
import { startRouter } from '../router/index';
import { RedisRouteStore } from '../router/store/redis';

export async function run(argv: string[]): Promise<number> {
  const { env, rest } = flagsToEnv(argv);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`Usage: switchyard router [--SETTING value ...]\n\nSettings:\n${describeSettings()}\n`);
    return 0;
  }
  if (rest.length > 0) {
    process.stderr.write(`switchyard router: unknown argument ${JSON.stringify(rest[0])} (see switchyard router --help)\n`);
    return 2;
  }
  const config = loadConfig({ ...process.env, ...env });
  if (!config.REDIS_URL) {
    process.stderr.write('switchyard router: REDIS_URL is not set (e.g. REDIS_URL=redis://127.0.0.1:6379); `switchyard dev` runs without Redis\n');
    return 2;
  }
  if (!config.SWITCHYARD_API_TOKEN) {
    process.stderr.write('switchyard router: SWITCHYARD_API_TOKEN is not set (16-256 printable ASCII characters; the control API requires it)\n');
    return 2;
  }
  const log = createLogger({ level: config.LOG_LEVEL as Level, fields: { svc: 'router' } });
  const store = new RedisRouteStore(config.REDIS_URL, config.SWITCHYARD_PREFIX);
  let node;
  try {
    node = await startRouter({ config, store, host: config.SWITCHYARD_HOST ?? '0.0.0.0', apiToken: config.SWITCHYARD_API_TOKEN, log });
  } catch (err) {
    log.error('router failed to start', errorFields(err));
    await store.close();
    return 1;
  }
  const started = node;
  const state = started.table.state;
  log.info('router ready', { admin_port: started.adminPort, ready: state.ready, reason: state.reason, apps: started.table.table.stats().apps });
  stopOnSignals(async () => {
    await started.close();
    await store.close();
  }, log);
  // Runs until a signal: stopOnSignals exits the process.
  return new Promise<number>(() => undefined);
}
