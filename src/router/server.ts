// Step 1 of the request path (design.md §Request path): the node:http listener of the data plane. It owns the
// client-facing limits and timeouts and turns what Node's parser rejects into raw H25/H26/H28
// responses; every request it accepts goes to handle.ts, every Upgrade to upgrade.ts.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';
import type { Config } from '../shared/config';
import { errorFields, type Logger } from '../shared/log';
import { closeServer, listen } from '../shared/ops-http';
import { formatRouterLine, stdoutLines, type AccessLogSink, type LineWriter } from './access-log';
import { DynoLoad, Ejections, Pickers } from './balance';
import { errorBody, rawErrorResponse } from './error-page';
import type { HCode } from './errors';
import { H_CODES } from './errors';
import { LIMITS } from './framing';
import { handle, type PlaneDeps } from './handle';
import { requestIdFor } from './headers';
import { createDataPlaneMetrics } from './metrics';
import { Pools } from './pools';
import type { RouteTable } from './table/route-table';
import { handleUpgrade } from './upgrade';

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
  /** Stops accepting, lets in-flight requests finish within `graceMs`, then closes what is left. */
  close(graceMs?: number): Promise<void>;
  /**
   * Serves HTTP/1.1 on a connection another listener accepted (the TLS listener's decrypted
   * sockets). The one adapter between TLS and the HTTP/1.1 engine: today node:http's own
   * connection handler, fed the socket as if it had accepted it.
   */
  serveConnection(socket: Duplex, facts: { proto: 'https'; port: number }): void;
  /** The request path for a request another front parsed (HTTP/2 streams, tls/h2.ts). */
  serveRequest(req: IncomingMessage, res: ServerResponse): void;
  /** The TLS listener's port, for X-Forwarded-Port and force_https redirects. */
  setTlsPort(port: number): void;
}

export async function startDataPlane(opts: DataPlaneOptions): Promise<DataPlane> {
  const { config } = opts;
  const metrics = createDataPlaneMetrics(opts.registry);
  const listener: { port: number; tlsPort?: number } = { port: 0 };
  const deps: PlaneDeps = {
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
    refused: new WeakSet(),
    listener,
  };
  const server = createServer({
    maxHeaderSize: LIMITS.headerBytes,
    insecureHTTPParser: false,
    // H28 (step 1): headers must be complete in time; bodies are watched by the dyno's idle window instead.
    headersTimeout: config.ROUTER_HEADERS_TIMEOUT_MS,
    requestTimeout: 0,
    // Node checks headersTimeout on this interval (default 30 s): a quarter of the timeout keeps H28 on time.
    connectionsCheckingInterval: Math.max(25, Math.min(1_000, Math.floor(config.ROUTER_HEADERS_TIMEOUT_MS / 4))),
    keepAlive: true,
  });
  // A client connection silent for longer than any dyno-side timer (a stalled upload, say) is closed.
  // It must outlast the response timeout, during which the client rightly sends nothing, so that
  // H12 and H15 are the dyno-side timers' to report; WebSocket pipes set their own.
  server.setTimeout(Math.max(config.ROUTER_RESPONSE_TIMEOUT_MS, config.ROUTER_IDLE_TIMEOUT_MS) + 1_000);
  // One more than allowed, so checkHead can see the 101st header instead of Node dropping it.
  server.maxHeadersCount = LIMITS.headers + 1;
  // handle.ts answers every failure itself; a throw that escapes it is a bug, and must cost one
  // connection, never the process (Node 20 exits on an unhandled rejection).
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(deps, req, res).catch((err: unknown) => bug(deps, err, res.socket));
  };
  server.on('request', onRequest);
  // We answer 100-continue ourselves, once a dyno is ready for the body (forward.ts).
  server.on('checkContinue', onRequest);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handleUpgrade(deps, req, socket, head).catch((err: unknown) => bug(deps, err, socket));
  });
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) =>
    clientError(deps, err, socket as Socket),
  );
  server.on('connection', (socket: Socket) => {
    metrics.live.clientConnections++;
    socket.once('close', () => metrics.live.clientConnections--);
  });
  /** Connections the TLS listener handed over: node:http's close() does not wait for them. */
  const handed = new Set<Duplex>();
  listener.port = await listen(server, opts.port ?? config.ROUTER_PORT, opts.host);
  return {
    port: listener.port,
    inspector: {
      inFlight: (app, dyno) => deps.load.get(`${app}/${dyno}`),
      appInFlight: (app) => deps.appInFlight.get(app) ?? 0,
    },
    close: (graceMs = config.SWITCHYARD_GRACE_MS) =>
      Promise.all([stop(server, deps, graceMs), drainHanded(server, handed, graceMs)]).then(() => undefined),
    serveConnection: (socket) => {
      handed.add(socket);
      socket.once('close', () => handed.delete(socket));
      server.emit('connection', socket);
    },
    setTlsPort: (port) => (listener.tlsPort = port),
    serveRequest: onRequest,
  };
}

async function stop(server: Server, deps: PlaneDeps, graceMs: number): Promise<void> {
  // Upgraded sockets left Node's HTTP bookkeeping: they get the same grace, then are cut.
  const cut = setTimeout(() => {
    for (const s of deps.pipes) s.destroy();
  }, graceMs);
  try {
    await closeServer(server, graceMs);
  } finally {
    clearTimeout(cut);
    for (const s of deps.pipes) s.destroy();
  }
  await deps.pools.close();
}

/** Closes handed-over connections as they go idle, and whatever is left after `graceMs`. */
async function drainHanded(server: Server, handed: Set<Duplex>, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  while (handed.size > 0 && Date.now() < deadline) {
    server.closeIdleConnections();
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const s of handed) s.destroy();
}

function bug(p: PlaneDeps, err: unknown, socket: Duplex | null): void {
  p.log.error('request path threw', errorFields(err));
  socket?.destroy();
}

/** What llhttp refused, by error code: 431 H25 (too large), 408 H28 (too slow), 400 H26 (malformed). */
function clientErrorCode(code: string | undefined): HCode | undefined {
  if (code === 'HPE_HEADER_OVERFLOW') return 'H25';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'H28';
  if (code === 'ECONNRESET' || code === 'EPIPE') return undefined;
  return 'H26';
}

function clientError(p: PlaneDeps, err: Error & { code?: string }, socket: Socket): void {
  const code = clientErrorCode(err.code);
  const inResponse =
    (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (code === undefined || !socket.writable || inResponse) {
    socket.destroy();
    return;
  }
  const requestId = requestIdFor(undefined);
  const info = H_CODES[code];
  // A bad chunk can come after the head was accepted and forwarding began: cut that request now
  // (the dyno never gets a complete request) and let handle.ts know this line is already written.
  p.refused.add(socket);
  socket.end(rawErrorResponse(info.status, errorBody(code, info.desc, requestId, false)), () => socket.destroy());
  p.metrics.countRequest('', `${Math.floor(info.status / 100)}xx`, code);
  p.metrics.upstreamErrors.labels(code).inc();
  // No app is known before the head parsed: stdout only.
  p.writeLine(
    formatRouterLine({
      code,
      method: '',
      path: '',
      host: '',
      requestId,
      fwd: socket.remoteAddress ?? '',
      dyno: '',
      connectMs: undefined,
      serviceMs: undefined,
      status: info.status,
      bytes: undefined,
      protocol: 'http',
      tried: [],
    }) + ` err=${err.code ?? 'unknown'}`,
  );
}

/** HMAC key of the affinity cookie: configured, else derived from the API token, else per process. */
function affinitySecret(config: Config): string {
  if (config.ROUTER_AFFINITY_SECRET) return config.ROUTER_AFFINITY_SECRET;
  if (config.SWITCHYARD_API_TOKEN)
    return createHash('sha256').update(`affinity\0${config.SWITCHYARD_API_TOKEN}`).digest('hex');
  return randomBytes(32).toString('hex');
}
