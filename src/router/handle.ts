// THE request path (design.md §Request path), read top to bottom:
//   1 framing/limits → 2 resolve Host → 3 admit → 4 pick → 5–7 forward (retry on recorded progress) → 9 log
// Every failure is a RouterError rendered in one place, `fail`, into the error page (step 10)
// and the router log line (step 9). The picture with the H codes: design.md §Request path.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../shared/config';
import type { Logger } from '../shared/log';
import { formatRouterLine, type AccessLogSink, type LineWriter, type RouterLogRecord } from './access-log';
import { admit } from './admit';
import type { DynoLoad, Ejections, Pick, Pickers } from './balance';
import { errorBody, prefersJson } from './error-page';
import { RouterError, type HCode } from './errors';
import { forward, requestHead, type Attempt, type ClientWatch } from './forward';
import { checkHead, hasBody } from './framing';
import { requestIdFor, upstreamHeaders } from './headers';
import type { DataPlaneMetrics } from './metrics';
import type { Pools } from './pools';
import { normaliseHost } from './resolve';
import type { AppEntry, RouteTable } from './table/route-table';
import { clientPort, clientProtocol, mustRedirect, redirectToHttps } from './tls/client-side';

/** design.md §Request path, step 5: at most 3 attempts in all, on different dynos, only while nothing was sent. */
export const MAX_ATTEMPTS = 3;

/** Everything the request path needs, built once by server.ts and passed explicitly. */
export interface PlaneDeps {
  readonly config: Config;
  readonly table: () => RouteTable;
  readonly pools: Pools;
  readonly pickers: Pickers;
  readonly load: DynoLoad;
  readonly ejections: Ejections;
  /** In-flight requests per app, for H11. */
  readonly appInFlight: Map<string, number>;
  readonly metrics: DataPlaneMetrics;
  readonly accessLog: AccessLogSink | undefined;
  readonly writeLine: LineWriter;
  readonly log: Logger;
  /** Upgraded client sockets still piping, closed at shutdown after the grace period. */
  readonly pipes: Set<Duplex>;
  /** Client sockets server.ts answered 400/431 on after their request began: logged there, not again. */
  readonly refused: WeakSet<object>;
  /** The ports clients reach us on (X-Forwarded-Port): plain, and TLS when it listens; set once listening. */
  readonly listener: { port: number; tlsPort?: number };
}

/** Per-request state, made here and passed along; nothing is stashed on Node's objects. */
export interface RequestContext {
  readonly acceptedAt: number;
  readonly requestId: string;
  host: string;
  app: string | undefined;
  dyno: string;
  readonly tried: string[];
  connectMs: number | undefined;
  serviceMs: number | undefined;
  bytes: number | undefined;
  status: number;
}

export function newContext(req: IncomingMessage): RequestContext {
  return {
    acceptedAt: Date.now(),
    requestId: requestIdFor(req.headers['x-request-id']),
    host: normaliseHost(req.headers.host) ?? req.headers.host ?? '',
    app: undefined,
    dyno: '',
    tried: [],
    connectMs: undefined,
    serviceMs: undefined,
    bytes: undefined,
    status: 0,
  };
}

export async function handle(p: PlaneDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const ctx = newContext(req);
  try {
    const entry = route(p, req, ctx);
    if (entry === undefined) return noSuchApp(p, req, res, ctx);
    if (mustRedirect(entry.app, clientProtocol(req.socket))) {
      ctx.bytes = redirectToHttps(res, ctx.host, req.url ?? '/', p.listener.tlsPort, ctx.requestId);
      ctx.status = 308;
      return record(p, req, ctx, undefined);
    }
    const app = entry.app.name;
    p.appInFlight.set(app, (p.appInFlight.get(app) ?? 0) + 1);
    p.metrics.live.inFlight++;
    try {
      await proxy(p, entry, req, res, ctx);
    } finally {
      const n = p.appInFlight.get(app)! - 1;
      if (n === 0) p.appInFlight.delete(app);
      else p.appInFlight.set(app, n);
      p.metrics.live.inFlight--;
    }
    record(p, req, ctx, undefined);
  } catch (err) {
    fail(p, req, res, ctx, err);
  }
}

/**
 * Steps 1–3, for plain and upgrade requests alike: limits and framing, Host → app, app checks.
 * Throws the RouterError of a refusal; undefined means no app owns the Host (404, counted here).
 */
export function route(p: PlaneDeps, req: IncomingMessage, ctx: RequestContext): AppEntry | undefined {
  const bad = checkHead(req);
  if (bad !== undefined) throw new RouterError(bad);
  const table = p.table();
  p.pools.follow(table);
  const entry = table.lookup(ctx.host);
  if (entry === undefined) {
    p.metrics.unknownHost.inc();
    return undefined;
  }
  ctx.app = entry.app.name;
  const refused = admit(entry, p.appInFlight.get(ctx.app) ?? 0, p.config.ROUTER_APP_MAX_INFLIGHT);
  if (refused !== undefined) throw new RouterError(refused);
  return entry;
}

/** Steps 4–7 for a plain request: stream the response into `res`. */
function proxy(
  p: PlaneDeps,
  entry: AppEntry,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
): Promise<void> {
  const watch: ClientWatch = { current: undefined };
  res.once('close', () => {
    if (!res.writableFinished) watch.current?.clientGone();
  });
  const body = hasBody(req);
  // A body the client sent chunked goes on chunked; one with a length keeps its Content-Length.
  const chunked = body && req.headers['content-length'] === undefined;
  const method = req.method!;
  const done = attempts(p, entry, req, ctx, (headers, pick) =>
    forward(
      {
        pool: p.pools.get(pick.dyno.host, pick.dyno.port),
        req,
        res,
        method,
        head: requestHead(method, req.url!, headers, chunked),
        hasBody: body,
        chunked,
        setCookie: pick.setCookie,
        timeouts: p.pools.timeouts,
        deadlines: p.pools.deadlines,
      },
      watch,
    ),
  );
  // Whatever the outcome, a request body no attempt still reads is drained, never left paused
  // (forward.ts pauses it between attempts, and for backpressure): a paused one stalls the client.
  return body ? done.finally(() => req.resume()) : done;
}

export type RunAttempt = (headers: string[], pick: Pick) => Promise<Attempt>;

/**
 * Steps 4–5 and their retries, for plain and upgrade requests alike: pick a dyno, run one attempt,
 * and retry only on recorded progress — on another dyno after a connect failure
 * (H19/H21) while fewer than 3 attempts ran, or once on the same dyno after a keep-alive race.
 */
export async function attempts(
  p: PlaneDeps,
  entry: AppEntry,
  req: IncomingMessage,
  ctx: RequestContext,
  run: RunAttempt,
): Promise<void> {
  const picker = p.pickers.for(entry);
  let connectMs = 0;
  let replay = false;
  let pick: Pick | undefined;
  let last: RouterError | undefined;
  for (;;) {
    if (!replay) {
      pick = picker.pick(p.load, p.ejections, Date.now(), ctx.tried, req.headers.cookie);
      if (pick === undefined) throw last ?? new RouterError('H14');
    }
    ctx.tried.push(pick!.dyno.name);
    ctx.dyno = pick!.dyno.name;
    const headers = upstreamHeaders(
      req.rawHeaders,
      req.headers.connection,
      {
        requestId: ctx.requestId,
        remote: req.socket.remoteAddress ?? '',
        proto: clientProtocol(req.socket),
        port: clientPort(clientProtocol(req.socket), p.listener),
        acceptedAt: ctx.acceptedAt,
        connectMs,
      },
      Date.now(),
    );
    p.load.add(pick!.key, 1);
    const a = await run(headers, pick!);
    p.load.add(pick!.key, -1);
    connectMs += a.connectMs;
    ctx.connectMs = connectMs;
    ctx.serviceMs = a.serviceMs;
    ctx.bytes = a.bytes;
    p.metrics.connectSeconds.observe(a.connectMs / 1000);
    if (a.ok) {
      ctx.status = a.status;
      p.metrics.serviceSeconds.observe(a.serviceMs / 1000);
      return;
    }
    const e = (last = a.error);
    const connectFailed = e.code === 'H19' || e.code === 'H21';
    if (connectFailed) {
      // Outlier ejection (step 4): this dyno sits out a short back-off.
      p.ejections.eject(pick!.key, Date.now());
      p.metrics.ejections.inc();
    }
    if (connectFailed && e.progress === 'not-sent' && ctx.tried.length < MAX_ATTEMPTS) {
      p.metrics.retries.labels('connect').inc();
      replay = false;
      continue;
    }
    if (a.replayable && !replay) {
      // Step 5, keep-alive race: once more on the same dyno; its pool opens a fresh connection.
      p.metrics.retries.labels('keepalive-race').inc();
      replay = true;
      continue;
    }
    throw e;
  }
}

function noSuchApp(p: PlaneDeps, req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
  const page = errorBody('no_such_app', `No such app: ${ctx.host}`, ctx.requestId, prefersJson(req.headers.accept));
  writePage(res, 404, page.contentType, page.body, ctx.requestId, false);
  ctx.status = 404;
  ctx.bytes = Buffer.byteLength(page.body);
  // Stdout only: an unknown host has no app channel to log to (design.md §Request path, step 2).
  p.writeLine(formatRouterLine(logRecord(req, ctx, undefined)));
}

/** The one place a failure becomes a response and a log line. */
export function fail(p: PlaneDeps, req: IncomingMessage, res: ServerResponse, ctx: RequestContext, err: unknown): void {
  let e: RouterError;
  if (err instanceof RouterError) {
    e = err;
  } else {
    p.log.error('request failed', { err: String(err), request_id: ctx.requestId });
    e = new RouterError('H13', 'sent', 'internal');
  }
  if (e.code === 'H27' && p.refused.has(req.socket)) {
    res.destroy();
    return;
  }
  ctx.status = e.status;
  p.metrics.upstreamErrors.labels(e.code).inc();
  if (res.headersSent || e.code === 'H27') {
    // Response already under way (H15, H18) or nobody to answer (H27): close both sides.
    res.destroy();
  } else if (!res.destroyed) {
    const page = errorBody(e.code, e.desc, ctx.requestId, prefersJson(req.headers.accept));
    const bad = e.code === 'H25' || e.code === 'H26';
    writePage(res, e.status, page.contentType, page.body, ctx.requestId, bad);
    ctx.bytes = Buffer.byteLength(page.body);
  }
  record(p, req, ctx, e.code);
}

function writePage(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  requestId: string,
  close: boolean,
): void {
  const headers: Record<string, string | number> = {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': requestId,
  };
  // A request we refused for its framing may have left bytes we must not read as a next request.
  if (close) headers.connection = 'close';
  res.writeHead(status, headers).end(body);
}

export function logRecord(req: IncomingMessage, ctx: RequestContext, code: HCode | undefined): RouterLogRecord {
  return {
    code,
    method: req.method ?? '',
    path: req.url ?? '',
    host: ctx.host,
    requestId: ctx.requestId,
    fwd: req.socket.remoteAddress ?? '',
    dyno: ctx.dyno,
    connectMs: ctx.connectMs,
    serviceMs: ctx.serviceMs,
    status: ctx.status,
    bytes: ctx.bytes,
    protocol: clientProtocol(req.socket),
    ...(req.httpVersion === '2.0' ? { httpVersion: '2.0' } : {}),
    tried: ctx.tried,
  };
}

/** Step 9: metrics, stdout, and the app's channel. */
export function record(p: PlaneDeps, req: IncomingMessage, ctx: RequestContext, code: HCode | undefined): void {
  const app = ctx.app ?? '';
  p.metrics.countRequest(app, statusClass(ctx.status), code ?? 'none');
  const line = formatRouterLine(logRecord(req, ctx, code));
  p.writeLine(line);
  if (p.accessLog !== undefined && ctx.app !== undefined) {
    if (p.accessLog.write({ app: ctx.app, line, status: ctx.status, code }) === false) p.metrics.accessLogDropped.inc();
  }
}

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

function statusClass(status: number): string {
  return status >= 100 && status < 600 ? CLASSES[Math.floor(status / 100) - 1]! : 'other';
}
