// Peak load: closed loop, N keep-alive connections, bounded duration, the generator in
// its own process on its own CPU. wrk (C, one thread) when installed, since a Node
// generator on one core saturates before nginx does; autocannon otherwise (workers
// would only share the one core we give it). Both report requests/s, p50 and p99.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pinned } from './child';

export interface LoadResult {
  rps: number;
  /** Requests answered during the run. */
  requests: number;
  /** Latencies in ms. */
  p50: number;
  p99: number;
  /** Non-2xx answers plus socket errors and timeouts. */
  errors: number;
}

export interface PeakOptions {
  url: string;
  /** Request headers, `host` included. */
  headers: Readonly<Record<string, string>>;
  connections: number;
  durationS: number;
  cpu?: number;
  tool?: LoadTool;
}

export type LoadTool = 'wrk' | 'autocannon';

const WRK = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((p) => existsSync(p));

export const defaultTool: LoadTool = WRK ? 'wrk' : 'autocannon';

export function peak(opts: PeakOptions): Promise<LoadResult> {
  return (opts.tool ?? defaultTool) === 'wrk' ? wrk(opts) : autocannon(opts);
}

/** Runs a command (bounded: killed after `limitMs`) and returns its stdout. */
function capture(cmd: string, args: string[], limitMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited with ${code}: ${err.slice(0, 500)}`));
    });
  });
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function wrkLatency(out: string, pct: string): number {
  const m = new RegExp(`^\\s*${pct}%\\s+([0-9.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
  if (!m) throw new Error(`wrk output has no ${pct}% latency:\n${out}`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

const titleCase = (name: string): string =>
  name.replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());

async function wrk(o: PeakOptions): Promise<LoadResult> {
  // wrk adds its own `Host` unless one is given under exactly that spelling (a Lua table
  // key): a lower-case `host` would make two Host fields, which proxies rightly refuse (400).
  const headers = Object.entries(o.headers).flatMap(([k, v]) => ['-H', `${titleCase(k)}: ${v}`]);
  const args = ['-t1', `-c${o.connections}`, `-d${o.durationS}s`, '--timeout', '5s', '--latency', ...headers, o.url];
  const [cmd, argv] = pinned(o.cpu, WRK!, args);
  const out = await capture(cmd, argv, (o.durationS + 15) * 1000);
  const rps = /^Requests\/sec:\s+([0-9.]+)/m.exec(out);
  const non2xx = /Non-2xx or 3xx responses: ([0-9]+)/.exec(out);
  const sockErr = /Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)/.exec(out);
  const errors = Number(non2xx?.[1] ?? 0) + (sockErr ? sockErr.slice(1).reduce((n, v) => n + Number(v), 0) : 0);
  const requests = /([0-9]+) requests in/.exec(out);
  return {
    rps: Number(rps?.[1] ?? 0),
    requests: Number(requests?.[1] ?? 0),
    p50: wrkLatency(out, '50'),
    p99: wrkLatency(out, '99'),
    errors,
  };
}

async function autocannon(o: PeakOptions): Promise<LoadResult> {
  const bin = require.resolve('autocannon/autocannon.js');
  const headers = Object.entries(o.headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]);
  const args = [bin, '-c', String(o.connections), '-d', String(o.durationS), ...headers, '--json', o.url];
  const [cmd, argv] = pinned(o.cpu, process.execPath, args);
  const out = await capture(cmd, argv, (o.durationS + 15) * 1000);
  const r = JSON.parse(out) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    timeouts: number;
  };
  return {
    rps: r.requests.average,
    requests: r.requests.total,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.non2xx + r.errors + r.timeouts,
  };
}
