// The dyno manager behind `switchyard dyno` (design.md §Processes and settings, §How the parts
// meet): runs CMD with PORT set, registers and heartbeats it, ships its output, and restarts it
// when it crashes, by the RestartPolicy it is handed (Heroku's by default). Every state change
// is a `heroku[web.1]: State changed from X to Y` line, as Heroku writes it.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { errorFields, type Logger } from '../../shared/log';
import type { DynoView } from '../ops/calls';
import { LogplexClient, type LogplexBatchError } from '../../shared/logplex-client';
import { ApiCallError, control, logplex, tokenNamed, type Endpoint } from './api';
import { readLines } from './line-reader';
import { humanMs, type RestartPolicy } from './restart-policy';
import { waitListening } from './wait-listening';

type State = 'starting' | 'up' | 'crashed';
type Tokens = { app: string; heroku: string };

export interface AgentOptions {
  admin: Endpoint;
  logplex: Endpoint;
  app: string;
  name: string;
  host: string;
  port: number;
  ttl: number;
  log: Logger;
  graceMs: number;
  bootTimeoutMs: number;
  /** undefined: a crash ends the agent with CMD's status (`--no-restart`). */
  policy: RestartPolicy | undefined;
  /** Waits out a cool-down; resolves early when `signal` aborts (a stop). Injected by tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Where the agent speaks to its operator (stderr by default). */
  say?: (line: string) => void;
}

const realSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

export class DynoAgent {
  readonly #o: AgentOptions;
  readonly #client: LogplexClient;
  readonly #stop = new AbortController();
  readonly #say: (line: string) => void;
  #tokens: Tokens | undefined;
  #refreshing: Promise<void> | undefined;
  readonly #refused = new Set<string>();
  /** Every token this agent has held, by kind: a batch refused under an old one is resent under the new. */
  readonly #kindOf = new Map<string, keyof Tokens>();
  #state: State = 'starting';
  #child: ChildProcess | undefined;

  constructor(o: AgentOptions) {
    this.#o = o;
    this.#say = o.say ?? ((line) => void process.stderr.write(`switchyard dyno: ${line}\n`));
    this.#client = new LogplexClient({ url: o.logplex.url, onBatchError: (e) => this.#onBatchError(e) });
  }

  get stopping(): boolean {
    return this.#stop.signal.aborted;
  }

  /** The app's `app` and `heroku` tokens, from its channel (control API → Logplex). */
  async refreshTokens(): Promise<void> {
    this.#refreshing ??= (async () => {
      const view = await control.getApp(this.#o.admin, this.#o.app);
      let next: Tokens | undefined;
      if (view.channel) {
        const ch = await logplex.getChannel(this.#o.logplex, view.channel);
        const a = tokenNamed(ch, 'app');
        const h = tokenNamed(ch, 'heroku');
        if (a && h) next = { app: a, heroku: h };
      }
      if (!next) this.#o.log.warn('the app has no Logplex channel with app and heroku tokens; output is not shipped');
      if (next) {
        this.#kindOf.set(next.app, 'app');
        this.#kindOf.set(next.heroku, 'heroku');
      }
      this.#tokens = next;
    })().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  /** A live lease under this name means another agent runs it: the reason to refuse, or undefined. */
  async duplicate(): Promise<string | undefined> {
    const view = (await control.getApp(this.#o.admin, this.#o.app)) as unknown as { dynos?: DynoView[] };
    const d = view.dynos?.find((x) => x.name === this.#o.name && x.lease_live);
    if (!d) return undefined;
    const left = Math.max(0, Math.round((Date.parse(d.lease_expires_at) - Date.now()) / 1000));
    return `${this.#o.app} already has ${d.name} (${d.state}, at ${d.host}:${d.port}, lease ${left} s left): another agent runs it. Pick another --name, stop that agent, or wait for its lease to lapse`;
  }

  async run(command: string[]): Promise<number> {
    const onSignal = (sig: NodeJS.Signals): void => this.stop(sig);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    const heartbeat = setInterval(() => void this.#register(), Math.max(1, Math.floor((this.#o.ttl * 1000) / 3)));
    try {
      return await this.#loop(command);
    } finally {
      clearInterval(heartbeat);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      await this.#client.close();
    }
  }

  async #loop(command: string[]): Promise<number> {
    const { policy } = this.#o;
    const sleep = this.#o.sleep ?? realSleep;
    await this.#register();
    let crashes = 0;
    for (;;) {
      const started = Date.now();
      const status = await this.#runOnce(command);
      this.#platform(`Process exited with status ${status}`);
      if (this.stopping) return this.#down();
      this.#setState('crashed');
      await this.#register();
      if (!policy) return status === 0 ? 1 : status;
      crashes = Date.now() - started >= policy.resetAfterMs ? 1 : crashes + 1;
      const delay = policy.delayMs(crashes);
      if (delay === undefined) return status === 0 ? 1 : status;
      if (delay > 0)
        this.#o.log.info('crashed again: cooling down before the restart', { crashes, wait: humanMs(delay) });
      await sleep(delay, this.#stop.signal);
      if (this.stopping) return this.#down();
      this.#setState('starting');
      await this.#register();
    }
  }

  /** One run of CMD: spawn, wait for it to listen (R10), up; resolves with its exit status. */
  async #runOnce(command: string[]): Promise<number> {
    const { log } = this.#o;
    this.#platform(`Starting process with command \`${command.join(' ')}\``);
    const child = spawn(command[0]!, command.slice(1), {
      env: { ...process.env, PORT: String(this.#o.port), DYNO: this.#o.name },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
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
    const boot = this.#o.bootTimeoutMs;
    if (await waitListening(this.#o.host, this.#o.port, boot, () => running && !this.stopping)) {
      this.#setState('up');
      await this.#register();
      log.info('dyno up', { port: this.#o.port });
    } else if (running && !this.stopping) {
      this.#platform(
        `Error R10 (Boot timeout) -> Web process failed to bind to $PORT within ${Math.round(boot / 1000)} seconds of launch`,
      );
      child.kill('SIGKILL');
    }
    const status = await exited;
    this.#child = undefined;
    return status;
  }

  /** Asked to stop: leave the table, so the router sends nothing new here. */
  async #down(): Promise<number> {
    this.#platform(`State changed from ${this.#state} to down`);
    await control
      .deleteDyno(this.#o.admin, this.#o.app, this.#o.name)
      .catch((err: unknown) => this.#o.log.warn('deregister failed', errorFields(err)));
    return 0;
  }

  #output(line: string, echo: NodeJS.WriteStream): void {
    echo.write(line + '\n');
    if (this.#tokens) this.#client.send({ token: this.#tokens.app, procId: this.#o.name, msg: line });
  }

  /** A `heroku[web.1]` line: the platform speaking about this dyno. */
  #platform(msg: string): void {
    this.#o.log.info('event', { event: msg });
    if (this.#tokens) this.#client.send({ token: this.#tokens.heroku, procId: this.#o.name, msg });
  }

  #setState(next: State): void {
    if (next === this.#state) return;
    this.#platform(`State changed from ${this.#state} to ${next}`);
    this.#state = next;
  }

  async #register(): Promise<void> {
    if (this.stopping && this.#state !== 'crashed') return;
    const { admin, app, name, host, port, ttl } = this.#o;
    const put = () => control.putDyno(admin, app, name, { host, port, ttl_s: ttl, state: this.#state });
    try {
      await put();
    } catch (err) {
      if (err instanceof ApiCallError && err.status === 404) return this.#reRegister(put);
      // A missed heartbeat is not fatal: the lease (ttl) covers two more tries.
      this.#o.log.warn('heartbeat failed', errorFields(err));
    }
  }

  /** 404: the app is gone from the store (Redis lost it, or it was recreated): put it back, then the dyno. */
  async #reRegister(put: () => Promise<unknown>): Promise<void> {
    const { admin, app, name } = this.#o;
    this.#say(`${app} is gone from the control API's store (404 on heartbeat); registering ${app} and ${name} again`);
    try {
      await control.putApp(admin, app);
      await put();
      await this.refreshTokens();
    } catch (err) {
      this.#o.log.warn('re-register failed; the next heartbeat tries again', errorFields(err));
    }
  }

  /** 401: the channel's tokens changed (it was recreated). Say so once, fetch them again, resend the batch. */
  #onBatchError(e: LogplexBatchError): void {
    if (e.code !== 'HTTP_401') {
      this.#o.log.warn('log lines dropped', { code: e.code, lines: e.lines });
      return;
    }
    if (!this.#refused.has(e.token)) {
      // Once per token set: the app's other tokens went with the same channel, so theirs is the same news.
      for (const token of [e.token, ...Object.values(this.#tokens ?? {})]) this.#refused.add(token);
      this.#say(
        `Logplex at ${this.#o.logplex.url} refused ${this.#o.app}'s log token (401): its channel was probably recreated; fetching the new tokens and resending`,
      );
    }
    void this.refreshTokens().then(
      () => {
        const now = this.#tokens;
        if (!now) return;
        for (const line of e.batch) {
          const kind = this.#kindOf.get(line.token);
          const token = kind && now[kind];
          if (token && token !== line.token) this.#client.send({ ...line, token });
        }
      },
      (err: unknown) =>
        this.#o.log.warn('token refresh failed; lines dropped', { lines: e.lines, ...errorFields(err) }),
    );
  }

  stop(sig: NodeJS.Signals): void {
    if (this.stopping) return;
    this.#stop.abort();
    this.#platform(`Stopping all processes with ${sig}`);
    const child = this.#child;
    if (!child) return;
    child.kill(sig);
    const timer = setTimeout(() => {
      this.#platform('Error R12 (Exit timeout) -> At least one process failed to exit within the grace period');
      child.kill('SIGKILL');
    }, this.#o.graceMs);
    timer.unref();
    child.once('exit', () => clearTimeout(timer));
  }
}
