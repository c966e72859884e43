// `switchyard dev [--demo]` (`npm start`, design.md §Processes and settings, §How the parts meet): the composition root of the whole
// platform in one process on 127.0.0.1 with the embedded (memory) stores and no API token:
// Logplex (+ viewer), the router (data plane + control API) whose new apps get a channel and
// whose lines go to that channel as `heroku[router]`. `--demo` adds the app `hello` with two
// dynos, each a child `switchyard dyno` running the sample app.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, relative } from 'node:path';
import { startLogplex } from '../logplex/index';
import { memoryStores } from '../logplex/store/open';
import { viewerRoutes } from '../logplex/viewer/index';
import { startRouter, type RouterNode } from '../router/index';
import { MemoryRouteStore } from '../router/store/memory';
import { describeSettings, flagsToEnv, loadConfig, redactUrl, settingsFor } from '../shared/config';
import { createLogger, errorFields, type Level, type Logger } from '../shared/log';
import { LogplexClient } from '../shared/logplex-client';
import { createRegistry } from '../shared/metrics';
import { stopOnSignals } from '../shared/ops-http';
import { control, type Endpoint } from './platform/api';
import { LogplexAccessLog } from './platform/router-log-sink';
import { portInUse as portInUseAs } from './platform/port-in-use';
import { channelDeleteHook, channelHook } from './platform/wiring';

export const DEMO_APP = 'hello';
const DEMO_DYNOS = ['web.1', 'web.2'];

export async function run(argv: string[]): Promise<number> {
  const { env, rest } = flagsToEnv(argv);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`Usage: switchyard dev [--demo]\n\nSettings:\n${describeSettings(settingsFor('dev'))}\n`);
    return 0;
  }
  // `npm start --demo` (no `--`) hands --demo to npm, which sets npm_config_demo and passes nothing on.
  const npmTookDemo = process.env.npm_config_demo === 'true' && !rest.includes('--demo');
  if (npmTookDemo)
    process.stderr.write(
      'switchyard dev: npm kept --demo for itself (`npm start --demo`); starting the demo anyway. Type `npm start -- --demo` or `npm run demo`\n',
    );
  const demo = npmTookDemo || rest.includes('--demo');
  const unknown = rest.find((a) => a !== '--demo');
  if (unknown) {
    process.stderr.write(`switchyard dev: unknown argument ${unknown}\n`);
    return 2;
  }
  const config = loadConfig({ ...process.env, ...env });
  if (config.REDIS_URL)
    process.stderr.write(
      `switchyard dev: REDIS_URL=${redactUrl(config.REDIS_URL)} is ignored: dev runs on the embedded store, in memory. For Redis run \`switchyard router\` and \`switchyard logplex\` (docs/operations.md)\n`,
    );
  // dev accepts no token, so it binds to loopback only (design.md §Processes and settings).
  const host = '127.0.0.1';
  const log = createLogger({ level: config.LOG_LEVEL as Level, fields: { svc: 'dev' } });
  const routes = new MemoryRouteStore();

  const lp = await startLogplex({
    config,
    stores: memoryStores(config.LOGPLEX_HISTORY_LINES),
    host,
    apiToken: undefined,
    log: log.child({ svc: 'logplex' }),
    routes: [() => viewerRoutes()],
  }).catch(portInUse);
  if (typeof lp === 'number') return lp;
  const logplexUrl = `http://${host}:${lp.httpPort}`;
  const lpEp: Endpoint = { url: logplexUrl, token: undefined };
  const client = new LogplexClient({
    url: logplexUrl,
    onBatchError: (e) => log.warn('router lines dropped', { code: e.code, lines: e.lines }),
  });
  const registry = createRegistry('router');
  let node: RouterNode | undefined;
  const sink = new LogplexAccessLog(client, (app) => node?.table.table.app(app)?.app.routerToken, registry);
  try {
    node = await startRouter({
      config,
      store: routes,
      host,
      apiToken: undefined,
      log: log.child({ svc: 'router' }),
      onAppCreated: channelHook(lpEp),
      onAppDeleted: channelDeleteHook(lpEp),
      accessLog: sink,
      registry,
    });
  } catch (err) {
    await client.close();
    await lp.close();
    return portInUse(err);
  }
  const router = node;
  const adminUrl = `http://${host}:${router.adminPort}`;
  const children: ChildProcess[] = [];
  stopOnSignals(async () => {
    await stopChildren(children, config.SWITCHYARD_GRACE_MS);
    await router.close();
    await client.close();
    await lp.close();
  }, log);

  if (demo) {
    await control.putApp({ url: adminUrl, token: undefined }, DEMO_APP);
    for (const dyno of DEMO_DYNOS) children.push(startDemoDyno(dyno, adminUrl, logplexUrl, config.LOG_LEVEL, log));
  }
  const app = demo ? DEMO_APP : 'myapp';
  const cli = `node ${relative(process.cwd(), join(__dirname, 'main.js'))}`;
  process.stdout.write(
    [
      '',
      'Switchyard dev is running (embedded store, no API token, loopback only):',
      `  router        http://${host}:${router.port}   (every app is APP.${config.ROUTER_DOMAIN})`,
      `  control API   ${adminUrl}/v1/apps`,
      `  Logplex API   ${logplexUrl}/v2/channels   (syslog tcp/udp ${host}:${lp.syslogPort})`,
      `  log viewer    ${logplexUrl}/#app=${app}`,
      `  metrics       ${adminUrl}/metrics   ${logplexUrl}/metrics`,
      '',
      demo
        ? `Try it (app "${DEMO_APP}" with dynos ${DEMO_DYNOS.join(', ')}), in another terminal:`
        : 'Try it, in another terminal:',
      `  export ROUTER_ADMIN_URL=${adminUrl} LOGPLEX_URL=${logplexUrl}`,
      ...(demo ? [`  ${cli} ps -a ${app}`] : [`  ${cli} apps:create ${app}`]),
      `  curl -H 'Host: ${app}.${config.ROUTER_DOMAIN}' http://${host}:${router.port}/`,
      `  ${cli} logs --app ${app} --tail`,
      '',
    ].join('\n') + '\n',
  );
  // Runs until a signal: stopOnSignals exits the process.
  return new Promise<number>(() => undefined);
}

const portInUse = (err: unknown): number => portInUseAs('dev', err);

function startDemoDyno(dyno: string, adminUrl: string, logplexUrl: string, level: string, log: Logger): ChildProcess {
  const main = join(__dirname, 'main.js');
  const app = join(__dirname, 'demo-app.js');
  const child = spawn(
    process.execPath,
    [main, 'dyno', '--app', DEMO_APP, '--name', dyno, '--', process.execPath, app],
    {
      env: { ...process.env, ROUTER_ADMIN_URL: adminUrl, LOGPLEX_URL: logplexUrl, LOG_LEVEL: level },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  child.on('error', (err) => log.error('demo dyno failed', { dyno, ...errorFields(err) }));
  return child;
}

/** SIGTERM to every child, then wait for all (SIGKILL past the grace period). */
async function stopChildren(children: readonly ChildProcess[], graceMs: number): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const timer = setTimeout(() => c.kill('SIGKILL'), graceMs);
          c.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
}
