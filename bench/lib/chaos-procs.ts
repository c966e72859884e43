// The services under the chaos harness, each the real `switchyard` binary in a child process
// on Redis: Logplex nodes (whose drain scheduler ids are learnt from their `drain acquired`
// log lines, to find the owner to kill or stop) and routers. Ports are picked free up front.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { request } from 'undici';
import { freePort } from '../../test/fixtures/redis-server';

export const API_TOKEN = 'chaos-api-token-0123456789';
const MAIN = join(__dirname, '..', '..', 'src', 'cli', 'main.js');

export interface Proc {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly port: number;
  /** Logplex: the syslog port; router: the admin port. */
  readonly port2: number;
  /** Logplex: drain scheduler ids this node logged (one per process). */
  readonly nodeIds: Set<string>;
  alive(): boolean;
  /** Between SIGSTOP and SIGCONT. */
  readonly stopped: boolean;
  signal(sig: NodeJS.Signals): void;
  stop(): Promise<void>;
}

async function waitHealthy(url: string, proc: ChildProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`${url}: exited with ${proc.exitCode}`);
    const ok = await request(url)
      .then(async (r) => (await r.body.dump(), r.statusCode === 200))
      .catch(() => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url}: not healthy within ${timeoutMs} ms`);
}

async function spawnService(
  name: string,
  command: 'logplex' | 'router',
  env: Record<string, string>,
  port: number,
  port2: number,
  healthPort: number,
): Promise<Proc> {
  const proc = spawn(process.execPath, [MAIN, command], {
    env: { ...process.env, SWITCHYARD_API_TOKEN: API_TOKEN, SWITCHYARD_HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const nodeIds = new Set<string>();
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const m = / msg="?drain acquired"? .*node=([0-9a-f-]{36})/.exec(line);
    if (m) nodeIds.add(m[1]!);
  });
  await waitHealthy(`http://127.0.0.1:${healthPort}/healthz`, proc, 15_000);
  const alive = (): boolean => proc.exitCode === null && proc.signalCode === null;
  let stopped = false;
  return {
    name,
    proc,
    port,
    port2,
    nodeIds,
    alive,
    get stopped() {
      return stopped;
    },
    signal: (sig) => {
      if (!alive()) return;
      if (sig === 'SIGSTOP') stopped = true;
      if (sig === 'SIGCONT') stopped = false;
      proc.kill(sig);
    },
    stop: async () => {
      if (!alive()) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGCONT');
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface NodeSettings {
  redisUrl: string;
  prefix: string;
  leaseMs: number;
  renewMs: number;
  historyLines: number;
}

export async function startLogplexNode(name: string, s: NodeSettings): Promise<Proc> {
  const [port, syslog] = [await freePort(), await freePort()];
  const env = {
    REDIS_URL: s.redisUrl,
    SWITCHYARD_PREFIX: s.prefix,
    LOGPLEX_PORT: String(port),
    LOGPLEX_SYSLOG_PORT: String(syslog),
    LOGPLEX_DRAIN_LEASE_MS: String(s.leaseMs),
    LOGPLEX_DRAIN_RENEW_MS: String(s.renewMs),
    LOGPLEX_HISTORY_LINES: String(s.historyLines),
    SWITCHYARD_GRACE_MS: '2000',
  };
  return spawnService(name, 'logplex', env, port, syslog, port);
}

export async function startRouterNode(
  name: string,
  redisUrl: string,
  prefix: string,
  logplexUrl: string,
): Promise<Proc> {
  const [port, admin] = [await freePort(), await freePort()];
  const env = {
    REDIS_URL: redisUrl,
    SWITCHYARD_PREFIX: prefix,
    ROUTER_PORT: String(port),
    ROUTER_ADMIN_PORT: String(admin),
    // The load is plain HTTP; left at its default (8443), a second router could not start.
    ROUTER_TLS_PORT: '0',
    LOGPLEX_URL: logplexUrl,
    SWITCHYARD_GRACE_MS: '2000',
  };
  return spawnService(name, 'router', env, port, admin, admin);
}

/** A JSON call to a service's API with the harness token. */
export async function api(port: number, method: string, path: string, body?: unknown): Promise<any> {
  const res = await request(`http://127.0.0.1:${port}${path}`, {
    method: method as 'GET',
    headersTimeout: 5_000,
    bodyTimeout: 5_000,
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  if (res.statusCode >= 400) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
  return text ? JSON.parse(text) : undefined;
}
