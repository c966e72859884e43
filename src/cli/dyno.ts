// `switchyard dyno -a A --name web.1 [--port N] [--ttl S] -- CMD...` (design.md §Processes and
// settings, §How the parts meet): the dyno agent's command line. It refuses a name another live
// agent holds, then hands over to DynoAgent (platform/dyno-agent.ts): run CMD with PORT set, wait
// until it listens (R10 boot timeout), register and heartbeat it (every ttl/3), ship its output as
// `app[web.1]` lines and platform events as `heroku[web.1]` lines, mark it `crashed` when CMD exits
// on its own and restart it by Heroku's policy, and on SIGTERM/SIGINT stop CMD and deregister.
import { describeSettings, flagsToEnv, loadConfig, settingsFor } from '../shared/config';
import { createLogger, type Level } from '../shared/log';
import { ApiCallError, type Endpoint } from './platform/api';
import { intOption, parseOptions, UsageError } from './platform/argv';
import { DynoAgent } from './platform/dyno-agent';
import { HEROKU_RESTART_POLICY } from './platform/restart-policy';
import { freePort } from './platform/wait-listening';

const USAGE =
  'Usage: switchyard dyno -a APP --name web.1 [--port N] [--ttl S] [--host H] [--no-restart] -- CMD [ARGS...]\n' +
  "A crashed CMD is restarted at once, then after cool-downs doubling from 10 s up to 20 min (Heroku's policy);\n" +
  '--no-restart ends the agent with its exit status instead.\n';
// Names as the control API checks them (design.md §Control API); checked here too for a clear early message.
const APP_RE = /^[a-z][a-z0-9-]{2,29}$/;
const DYNO_RE = /^[a-z][a-z0-9_-]{0,29}\.[0-9]{1,4}$/;

export async function run(argv: string[]): Promise<number> {
  const { env, rest } = flagsToEnv(argv);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${USAGE}\nSettings:\n${describeSettings(settingsFor('dyno'))}\n`);
    return 0;
  }
  const config = loadConfig({ ...process.env, ...env });
  let app: string, name: string, ttl: number, wantPort: number, host: string, command: string[], restart: boolean;
  try {
    const dashA = rest.indexOf('-a');
    const dd = rest.indexOf('--');
    const args = dashA >= 0 && (dd < 0 || dashA < dd) ? rest.map((a, i) => (i === dashA ? '--app' : a)) : rest;
    const o = parseOptions(args, { values: ['app', 'name', 'port', 'ttl', 'host'], flags: ['no-restart'] });
    app = o.values.get('app') ?? config.SWITCHYARD_APP ?? '';
    restart = !o.flags.has('no-restart');
    name = o.values.get('name') ?? '';
    if (!APP_RE.test(app)) throw new UsageError(`--app must match ${APP_RE.source}, not ${JSON.stringify(app)}`);
    if (!DYNO_RE.test(name))
      throw new UsageError(`--name must match ${DYNO_RE.source} (e.g. web.1), not ${JSON.stringify(name)}`);
    ttl = intOption(o, 'ttl', 30, 3, 3600);
    wantPort = intOption(o, 'port', 0, 0, 65535);
    host = o.values.get('host') ?? '127.0.0.1';
    command = o.command;
    if (!command.length) throw new UsageError('a command after -- is required');
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`switchyard dyno: ${err.message}\n${USAGE}`);
    return 2;
  }
  const log = createLogger({ level: config.LOG_LEVEL as Level, fields: { svc: 'dyno', app, dyno: name } });
  const admin: Endpoint = {
    url: config.ROUTER_ADMIN_URL ?? `http://127.0.0.1:${config.ROUTER_ADMIN_PORT}`,
    token: config.SWITCHYARD_API_TOKEN,
  };
  const lp: Endpoint = {
    url: config.LOGPLEX_URL ?? `http://127.0.0.1:${config.LOGPLEX_PORT}`,
    token: config.SWITCHYARD_API_TOKEN,
  };
  const port = wantPort || (await freePort(host));
  const agent = new DynoAgent({
    admin,
    logplex: lp,
    app,
    name,
    host,
    port,
    ttl,
    log,
    graceMs: config.SWITCHYARD_GRACE_MS,
    bootTimeoutMs: config.DYNO_BOOT_TIMEOUT_MS,
    policy: restart ? HEROKU_RESTART_POLICY : undefined,
  });
  // The app's channel comes from the control API; its `app` and `heroku` tokens from Logplex.
  try {
    const dup = await agent.duplicate();
    if (dup) {
      process.stderr.write(`switchyard dyno: ${dup}\n`);
      return 1;
    }
    await agent.refreshTokens();
  } catch (err) {
    if (!(err instanceof ApiCallError)) throw err;
    const msg =
      err.id === 'not_found'
        ? `no app "${app}" (create it: switchyard apps:create ${app})`
        : err.status === 0
          ? `${err.message}: is the platform running? (ROUTER_ADMIN_URL and LOGPLEX_URL say where)`
          : err.message;
    process.stderr.write(`switchyard dyno: ${msg}\n`);
    return 1;
  }
  return agent.run(command);
}
