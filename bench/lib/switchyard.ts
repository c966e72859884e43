// Switchyard's data plane as the benches run it: one child process, a static route table
// of several apps whose dynos are the bench backends, every routing feature on (balancer,
// affinity cookie, access log line built into a null sink, metrics on a registry).
// Child: `node switchyard.js BALANCER PORT,PORT...`; it plugs in through the one call
// `startDataPlane` of src/router/server.ts.
import { loadConfig } from '../../src/shared/config';
import { silentLogger } from '../../src/shared/log';
import { createRegistry } from '../../src/shared/metrics';
import { RouteTable, type AppRecord, type Balancer } from '../../src/router/table/route-table';
import { announce, startChild, type ServerChild } from './child';

/** Apps in the table besides the one under load, so lookups search a real-sized map. */
export const APPS = 8;
/** The app every bench request is for. */
export const BENCH_HOST = 'app3.bench.localhost';

export interface SwitchyardOptions {
  balancer: Balancer;
  backends: readonly number[];
  cpu?: number;
  /** Directory for `node --cpu-prof`: the profile is written when the child stops. */
  profileDir?: string;
}

export function startSwitchyard(o: SwitchyardOptions): Promise<ServerChild> {
  const nodeArgs = o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [];
  return startChild(`switchyard/${o.balancer}`, __filename, [o.balancer, o.backends.join(',')], { cpu: o.cpu, nodeArgs });
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

interface DataPlane {
  port: number;
  close(): Promise<void>;
}

type StartDataPlane = (opts: {
  config: ReturnType<typeof loadConfig>;
  table: () => RouteTable;
  registry: ReturnType<typeof createRegistry>;
  log: typeof silentLogger;
  host: string;
  port?: number;
  accessLog?: { write(entry: { app: string; line: string }): void };
  writeLine?: (line: string) => void;
}) => Promise<DataPlane>;

/** The data plane entry point, or undefined while src/router/server.ts does not export it yet. */
export function findDataPlane(): StartDataPlane | undefined {
  try {
    // Looked up at run time so the benches build (and measure the peers) before it lands.
    const mod = require('../../src/router/server') as { startDataPlane?: StartDataPlane };
    return typeof mod.startDataPlane === 'function' ? mod.startDataPlane : undefined;
  } catch (err) {
    if ((err as { code?: string }).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

async function main(argv: string[]): Promise<void> {
  const start = findDataPlane();
  if (!start) throw new Error('src/router/server.ts does not export startDataPlane');
  const balancer = argv[0] as Balancer;
  const ports = (argv[1] ?? '').split(',').map(Number);
  const config = loadConfig({}, { SWITCHYARD_API_TOKEN: 'bench-token-0123456789', ROUTER_AFFINITY_SECRET: 'bench-affinity-0123456789' });
  const table = RouteTable.build(benchApps(balancer, ports, Date.now()), Date.now());
  // The router line is still built for every request; only its destinations are null sinks.
  const nullSink = (): void => undefined;
  const plane = await start({
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
