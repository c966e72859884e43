// `switchyard dyno --app A --name web.1 [--port N] [--ttl S] -- CMD...` (design.md §Processes and settings, §How the parts meet): the
// dyno agent. Runs CMD with PORT set, waits until it listens (R10 boot timeout), registers and
// heartbeats it with the control API (every ttl/3), ships its stdout/stderr as `app[web.1]`
// lines and platform events as `heroku[web.1]` lines, marks it `crashed` when CMD exits on its
// own (the router answers H10 once every dyno of the app has), and on SIGTERM/SIGINT forwards
// the signal, waits (SWITCHYARD_GRACE_MS, then SIGKILL) and deregisters.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { flagsToEnv, loadConfig } from '../shared/config';
import { createLogger, errorFields, type Level, type Logger } from '../shared/log';
import { LogplexClient } from '../shared/logplex-client';
import { ApiCallError, control, logplex, tokenNamed, type Endpoint } from './platform/api';
import { intOption, parseOptions, UsageError } from './platform/argv';
import { readLines } from './platform/line-reader';
import { freePort, waitListening } from './platform/wait-listening';
// Names as the control API checks them (design.md §Control API), checked here too for a clear early message.
import { APP_NAME, DYNO_NAME } from '../router/admin/validate';

const USAGE =
  'Usage: switchyard dyno --app A --name web.1 [--port N] [--ttl S] [--host H] -- CMD [ARGS...]\n' +
  'Reads ROUTER_ADMIN_URL, LOGPLEX_URL and SWITCHYARD_API_TOKEN.\n';

type State = 'starting' | 'up' | 'crashed';

export async function run(argv: string[]): Promise<number> {
  const { env, rest } = flagsToEnv(argv);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const config = loadConfig({ ...process.env, ...env });
  let app: string, name: string, ttl: number, wantPort: number, host: string, command: string[];
  try {
    const o = parseOptions(rest, { values: ['app', 'name', 'port', 'ttl', 'host'], flags: [] });
    app = o.values.get('app') ?? '';
    name = o.values.get('name') ?? '';
    if (!APP_NAME.test(app)) throw new UsageError(`--app must match ${APP_NAME.source}, not ${JSON.stringify(app)}`);
    if (!DYNO_NAME.test(name))
      throw new UsageError(`--name must match ${DYNO_NAME.source} (e.g. web.1), not ${JSON.stringify(name)}`);
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

  // The app's channel comes from the control API; its `app` and `heroku` tokens from Logplex.
  let tokens: { app: string; heroku: string } | undefined;
  try {
    const view = await control.getApp(admin, app);
    if (view.channel) {
      const ch = await logplex.getChannel(lp, view.channel);
      const a = tokenNamed(ch, 'app');
      const h = tokenNamed(ch, 'heroku');
      if (a && h) tokens = { app: a, heroku: h };
    }
    if (!tokens) log.warn('the app has no Logplex channel with app and heroku tokens; output is not shipped');
  } catch (err) {
    if (!(err instanceof ApiCallError)) throw err;
    const msg =
      err.id === 'not_found' ? `no app "${app}" (create it: curl -X PUT ${admin.url}/v1/apps/${app})` : err.message;
    process.stderr.write(`switchyard dyno: ${msg}\n`);
    return 1;
  }
  const port = wantPort || (await freePort(host));
  const agent = new DynoAgent({
    admin,
    app,
    name,
    host,
    port,
    ttl,
    log,
    graceMs: config.SWITCHYARD_GRACE_MS,
    tokens,
    logplexUrl: lp.url,
  });
  return agent.run(command, config.DYNO_BOOT_TIMEOUT_MS);
}

interface AgentOptions {
  admin: Endpoint;
  app: string;
  name: string;
  host: string;
  port: number;
  ttl: number;
  log: Logger;
  graceMs: number;
  tokens: { app: string; heroku: string } | undefined;
  logplexUrl: string;
}

class DynoAgent {
  readonly #o: AgentOptions;
  readonly #client: LogplexClient | undefined;
  #state: State = 'starting';
  #stopping = false;

  constructor(o: AgentOptions) {
    this.#o = o;
    this.#client = o.tokens ? new LogplexClient({ url: o.logplexUrl }) : undefined;
  }

  async run(command: string[], bootTimeoutMs: number): Promise<number> {
    const { log, name } = this.#o;
    await this.#register();
    this.#platform(`Starting process with command \`${command.join(' ')}\``);
    const child = spawn(command[0]!, command.slice(1), {
      env: { ...process.env, PORT: String(this.#o.port), DYNO: this.#o.name },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number>((resolve) => {
      child.once('error', (err) => {
        log.error('spawn failed', errorFields(err));
        resolve(127);
      });
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)));
    });
    let running = true;
    void exited.then(() => (running = false));
    readLines(child.stdout!, (line) => this.#output(line, process.stdout));
    readLines(child.stderr!, (line) => this.#output(line, process.stderr));
    const onSignal = (sig: NodeJS.Signals): void => this.#stop(child, sig);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    const heartbeat = setInterval(() => void this.#register(), Math.max(1, Math.floor((this.#o.ttl * 1000) / 3)));

    if (await waitListening(this.#o.host, this.#o.port, bootTimeoutMs, () => running && !this.#stopping)) {
      this.#setState('up');
      await this.#register();
      log.info('dyno up', { port: this.#o.port });
    } else if (running && !this.#stopping) {
      this.#platform(
        `Error R10 (Boot timeout) -> Web process failed to bind to $PORT within ${Math.round(bootTimeoutMs / 1000)} seconds of launch`,
      );
      child.kill('SIGKILL');
    }
    const status = await exited;
    clearInterval(heartbeat);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    this.#platform(`Process exited with status ${status}`);
    let code: number;
    if (this.#stopping) {
      // Asked to stop: leave the table, so the router stops sending new requests here.
      this.#platform(`State changed from ${this.#state} to down`);
      await control
        .deleteDyno(this.#o.admin, this.#o.app, name)
        .catch((err: unknown) => log.warn('deregister failed', errorFields(err)));
      code = 0;
    } else {
      // Exited on its own: the dyno stays in the table as crashed until its lease lapses (H10).
      this.#setState('crashed');
      await this.#register();
      code = status === 0 ? 1 : status;
    }
    await this.#client?.close();
    return code;
  }

  #output(line: string, echo: NodeJS.WriteStream): void {
    echo.write(line + '\n');
    if (this.#o.tokens) this.#client!.send({ token: this.#o.tokens.app, procId: this.#o.name, msg: line });
  }

  /** A `heroku[web.1]` line: the platform speaking about this dyno. */
  #platform(msg: string): void {
    this.#o.log.info('event', { event: msg });
    if (this.#o.tokens) this.#client!.send({ token: this.#o.tokens.heroku, procId: this.#o.name, msg });
  }

  #setState(next: State): void {
    if (next === this.#state) return;
    this.#platform(`State changed from ${this.#state} to ${next}`);
    this.#state = next;
  }

  async #register(): Promise<void> {
    if (this.#stopping && this.#state !== 'crashed') return;
    const { admin, app, name, host, port, ttl } = this.#o;
    try {
      await control.putDyno(admin, app, name, { host, port, ttl_s: ttl, state: this.#state });
    } catch (err) {
      // A missed heartbeat is not fatal: the lease (ttl) covers two more tries.
      this.#o.log.warn('heartbeat failed', errorFields(err));
    }
  }

  #stop(child: ChildProcess, sig: NodeJS.Signals): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#platform(`Stopping all processes with ${sig}`);
    child.kill(sig);
    const timer = setTimeout(() => {
      this.#platform('Error R12 (Exit timeout) -> At least one process failed to exit within the grace period');
      child.kill('SIGKILL');
    }, this.#o.graceMs);
    timer.unref();
    child.once('exit', () => clearTimeout(timer));
  }
}
