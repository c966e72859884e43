// Switchyard's data plane as the benches run it: one child process, a static route table
// of several apps whose dynos are the bench backends, every routing feature on (balancer,
// affinity cookie, the router line written to a real file as production writes it to stdout,
// metrics on a registry). With `workers` > 1 it runs as ROUTER_WORKERS does (node:cluster).
// Child: `node switchyard.js BALANCER PORT,PORT... LINES-FILE WORKERS`; it plugs in through the
// one call `startDataPlane` of src/router/server.ts, exactly as the router's composition root does.
import cluster from 'node:cluster';
import { openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batchedLines } from '../../src/router/access-log';
import { loadConfig } from '../../src/shared/config';
import { silentLogger } from '../../src/shared/log';
import { createRegistry } from '../../src/shared/metrics';
import { startDataPlane } from '../../src/router/server';
import { RouteTable, type AppRecord, type Balancer } from '../../src/router/table/route-table';
import { announce, startChild, type ServerChild } from './child';

/** Apps in the table (one under load), so lookups search a map of some size. */
export const APPS = 8;
/**
 * What every bench request carries: the host of one app, and an affinity cookie with a bad
 * signature, so each request runs the cookie check, then the balancer, then sets a cookie.
 */
export const BENCH_HEADERS: Readonly<Record<string, string>> = {
  host: 'app3.bench.localhost',
  cookie: 'theme=dark; switchyard-affinity=web.2~AAAAAAAAAAAAAAAAAAAAAA',
};

/** The file this bench run's router lines go to (in the temp directory; the caller removes it). */
export function linesFile(): string {
  return join(tmpdir(), `sy-bench-router-lines-${process.pid}.log`);
}

export interface SwitchyardOptions {
  balancer: Balancer;
  backends: readonly number[];
  cpu?: number;
  /** Directory for `node --cpu-prof`: the profile is written when the child stops. */
  profileDir?: string;
  /** Where the router lines go (appended); a real file, as in production. Default: linesFile(). */
  linesFile?: string;
  /** Worker processes (ROUTER_WORKERS); default 1. */
  workers?: number;
}

export function startSwitchyard(o: SwitchyardOptions): Promise<ServerChild> {
  const nodeArgs = o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [];
  const args = [o.balancer, o.backends.join(','), o.linesFile ?? linesFile(), String(o.workers ?? 1)];
  return startChild(`switchyard/${o.balancer}`, __filename, args, {
    cpu: o.cpu,
    nodeArgs,
  });
}

/** The bench table: `APPS` apps, each with one dyno per backend, leases a day long. */
export function benchApps(balancer: Balancer, backends: readonly number[], now: number): AppRecord[] {
  return Array.from({ length: APPS }, (_, a) => ({
    name: `app${a}`,
    maintenance: false,
    balancer,
    affinity: true,
    domains: [`app${a}.bench.localhost`, `www.app${a}.example.com`],
    dynos: backends.map((port, d) => ({
      name: `web.${d + 1}`,
      host: '127.0.0.1',
      port,
      state: 'up' as const,
      leaseExpiresAt: now + 86_400_000,
    })),
  }));
}

async function main(argv: string[]): Promise<void> {
  const balancer = argv[0] as Balancer;
  const ports = (argv[1] ?? '').split(',').map(Number);
  const linesFile = argv[2]!;
  const workers = Number(argv[3] ?? 1);
  if (workers > 1 && cluster.isPrimary) return primary(workers);
  const config = loadConfig(
    {},
    { SWITCHYARD_API_TOKEN: 'bench-token-0123456789', ROUTER_AFFINITY_SECRET: 'bench-affinity-0123456789' },
  );
  const table = RouteTable.build(benchApps(balancer, ports, Date.now()), Date.now());
  const fd = openSync(linesFile, 'a');
  const writeLine = batchedLines((batch) => writeSync(fd, batch));
  const plane = await startDataPlane({
    config,
    table: () => table,
    registry: createRegistry('router'),
    log: silentLogger,
    host: '127.0.0.1',
    // Workers share one port through node:cluster (the primary picks it on the first listen).
    port: workers > 1 ? Number(process.env.SY_BENCH_PORT) : 0,
    // The app's Logplex channel is another service: here its sink takes the line and drops it.
    accessLog: { write: () => undefined },
    writeLine,
  });
  if (workers > 1) {
    process.send?.({ listening: plane.port });
    process.on('SIGTERM', () => process.exit(0));
    return;
  }
  announce([plane.port], () => {
    setTimeout(() => process.exit(0), 2_000).unref();
    plane.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

/** ROUTER_WORKERS as the bench runs it: the primary forks the workers onto one free port. */
async function primary(workers: number): Promise<void> {
  const { createServer } = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    const w = cluster.fork({ SY_BENCH_PORT: String(port) });
    w.on('message', () => {
      if (++ready === workers) {
        announce([port], () => {
          for (const x of Object.values(cluster.workers ?? {})) x?.kill('SIGTERM');
          setTimeout(() => process.exit(0), 500).unref();
        });
      }
    });
  }
}

if (require.main === module) void main(process.argv.slice(2));
