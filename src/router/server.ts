// The data plane's listener (design.md §Request path): a plain TCP server whose connections the
// HTTP/1.1 engine (client/connection.ts) serves. The same engine serves TLS sockets and any other
// accepted socket through `serveConnection`; another front (HTTP/2) enters the path through
// `serveExchange`. node:http is not on the data plane.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';
import type { Config } from '../shared/config';
import { listen } from '../shared/ops-http';
import { stdoutLines, type AccessLogSink, type LineWriter } from './access-log';
import { DynoLoad, Ejections, Pickers } from './balance';
import { BodyBudget } from './client/body-budget';
import { Connection, type EngineDeps } from './client/connection';
import { adoptLent } from './client/lent-reads';
import type { ServeConnection, ServeExchange } from './client/exchange';
import { refuse } from './exit';
import { serveExchange, type PlaneDeps } from './handle';
import { createDataPlaneMetrics } from './metrics';
import { Pools } from './pools';
import type { RouteTable } from './table/route-table';
import { Deadlines } from './upstream/deadlines';
import { errorFields, type Logger } from '../shared/log';

/** Step 4: how long a dyno that refused or timed out a connect sits out (outlier ejection). */
export const EJECTION_BACKOFF_MS = 2_000;

export interface DataPlaneOptions {
  config: Config;
  table: () => RouteTable;
  registry: Registry;
  log: Logger;
  /** Gets every router line of a known app (the platform points it at Logplex). */
  accessLog?: AccessLogSink;
  host: string;
  /** Default: config.ROUTER_PORT; 0 for an ephemeral port. */
  port?: number;
  /** Where router lines go besides the sink; default stdout (always on in production). */
  writeLine?: LineWriter;
}

export interface DataPlane {
  readonly port: number;
  readonly inspector: { inFlight(app: string, dyno: string): number; appInFlight(app: string): number };
  /** Serves HTTP/1.1 on an accepted socket (a TLS listener hands its sockets here, proto 'https'). */
  readonly serveConnection: ServeConnection;
  /** Runs one request from another front (an HTTP/2 stream) down the request path. */
  readonly serveExchange: ServeExchange;
  /** Where `force_https` redirects plain-HTTP requests: the TLS listener's port, once it listens. */
  setTlsPort(port: number): void;
  /** Stops accepting, lets in-flight requests finish within `graceMs`, then closes what is left. */
  close(graceMs?: number): Promise<void>;
}

export async function startDataPlane(opts: DataPlaneOptions): Promise<DataPlane> {
  const { config } = opts;
  const metrics = createDataPlaneMetrics(opts.registry);
  const budget = new BodyBudget(config.ROUTER_BUFFER_TOTAL_BYTES);
  metrics.bufferSource.read = () => budget;
  const p: PlaneDeps = {
    config,
    table: opts.table,
    pools: new Pools(config, metrics.dynoConnections),
    pickers: new Pickers(affinitySecret(config)),
    load: new DynoLoad(),
    ejections: new Ejections(EJECTION_BACKOFF_MS),
    appInFlight: new Map(),
    metrics,
    accessLog: opts.accessLog,
    writeLine: opts.writeLine ?? stdoutLines,
    log: opts.log,
    pipes: new Set<Duplex>(),
    tls: { port: undefined },
  };
  const open = new Set<Connection>();
  const engine: EngineDeps = {
    headersTimeoutMs: config.ROUTER_HEADERS_TIMEOUT_MS,
    bodyTimeoutMs: config.ROUTER_BODY_TIMEOUT_MS,
    bufferBodyBytes: config.ROUTER_BUFFER_BODY_BYTES,
    budget,
    deadlines: new Deadlines(Deadlines.tickFor(config.ROUTER_HEADERS_TIMEOUT_MS, config.ROUTER_BODY_TIMEOUT_MS)),
    serve: (req, side) => serveExchange(p, req, side),
    refuse: (side, r) => refuse(p, side, r),
    open,
    bug: (err) => p.log.error('client engine threw', errorFields(err)),
  };
  const serveConnection: ServeConnection = (socket, listener, lent) => {
    metrics.live.clientConnections++;
    socket.once('close', () => metrics.live.clientConnections--);
    new Connection(socket, engine, listener, lent);
  };
  const server = createServer({ allowHalfOpen: true, noDelay: true });
  const port = { value: 0 };
  server.on('connection', (accepted: Socket) => {
    const adopted = adoptLent(accepted);
    serveConnection(adopted?.socket ?? accepted, { proto: 'http', port: port.value }, adopted?.reads);
  });
  port.value = await listen(server, opts.port ?? config.ROUTER_PORT, opts.host);
  return {
    port: port.value,
    inspector: {
      inFlight: (app, dyno) => p.load.get(`${app}/${dyno}`),
      appInFlight: (app) => p.appInFlight.get(app) ?? 0,
    },
    serveConnection,
    serveExchange: (req, side) => serveExchange(p, req, side),
    setTlsPort: (port) => {
      p.tls.port = port;
    },
    close: (graceMs = config.SWITCHYARD_GRACE_MS) => stop(server, p, engine, graceMs),
  };
}

async function stop(server: Server, p: PlaneDeps, engine: EngineDeps, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Idle keep-alive connections close now; busy ones after their response; what is left at the
  // end of the grace period, upgraded pipes included, is cut.
  const sweep = setInterval(() => {
    for (const c of engine.open) c.drain();
  }, 100);
  for (const c of engine.open) c.drain();
  const cut = setTimeout(() => {
    for (const c of engine.open) c.socket.destroy();
    for (const s of p.pipes) s.destroy();
  }, graceMs);
  try {
    await closed;
  } finally {
    clearTimeout(cut);
    clearInterval(sweep);
    for (const s of p.pipes) s.destroy();
    (engine.deadlines as Deadlines).stop();
  }
  await p.pools.close();
}

/** HMAC key of the affinity cookie: configured, else derived from the API token, else per process. */
function affinitySecret(config: Config): string {
  if (config.ROUTER_AFFINITY_SECRET) return config.ROUTER_AFFINITY_SECRET;
  if (config.SWITCHYARD_API_TOKEN)
    return createHash('sha256').update(`affinity\0${config.SWITCHYARD_API_TOKEN}`).digest('hex');
  return randomBytes(32).toString('hex');
}
