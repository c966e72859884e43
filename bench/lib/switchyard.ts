// Switchyard's data plane as the benches run it: one child process, a static route table
// of several apps whose dynos are the bench backends, every routing feature on (balancer,
// affinity cookie, access log line built into a null sink, metrics on a registry).
// Child: `node switchyard.js BALANCER PORT,PORT...`; it plugs in through the one call
// `startDataPlane` of src/router/server.ts, exactly as the router's composition root does.
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

export interface SwitchyardOptions {
  balancer: Balancer;
  backends: readonly number[];
  cpu?: number;
  /** Directory for `node --cpu-prof`: the profile is written when the child stops. */
  profileDir?: string;
}

export function startSwitchyard(o: SwitchyardOptions): Promise<ServerChild> {
  const nodeArgs = o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [];
  return startChild(`switchyard/${o.balancer}`, __filename, [o.balancer, o.backends.join(',')], {
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
  const config = loadConfig(
    {},
    { SWITCHYARD_API_TOKEN: 'bench-token-0123456789', ROUTER_AFFINITY_SECRET: 'bench-affinity-0123456789' },
  );
  const table = RouteTable.build(benchApps(balancer, ports, Date.now()), Date.now());
  // The router line is still built for every request; only its destinations are null sinks.
  const nullSink = (): void => undefined;
  const plane = await startDataPlane({
    config,
    table: () => table,
    registry: createRegistry('router'),
    log: silentLogger,
    host: '127.0.0.1',
    port: 0,
    accessLog: { write: nullSink },
    writeLine: nullSink,
  });
  announce([plane.port], () => {
    setTimeout(() => process.exit(0), 2_000).unref();
    plane.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

if (require.main === module) void main(process.argv.slice(2));
