// The one way out (design.md §Request path, steps 9 and 10): every answer the router makes
// itself — refusals of malformed or oversized requests, slow clients, unknown hosts, platform
// and dyno errors — goes through `fail`, which writes the page, the router line and the metric;
// every request the path served ends in `record`. What each code does is data (errors.ts).
import { Buffer } from 'node:buffer';
import { formatRouterLine } from './access-log';
import type { Refusal } from './client/connection';
import type { ClientSide } from './client/exchange';
import { errorBody, prefersJson } from './error-page';
import { H_CODES, RouterError, type HCode } from './errors';
import type { PlaneDeps, RequestContext } from './handle';
import { requestIdFor } from './headers';

/** An unknown host: 404, written to stdout only (no app channel to log to, step 2). */
export const NO_SUCH_APP = 'no_such_app';

/** The one place a failure becomes a response, a log line and a metric. */
export function fail(
  p: PlaneDeps,
  side: ClientSide,
  ctx: RequestContext,
  /** A RouterError, NO_SUCH_APP, or anything else a step threw (logged as a bug and answered H13). */
  err: unknown,
): void {
  if (err === NO_SUCH_APP) {
    p.metrics.unknownHost.inc();
    const page = errorBody(NO_SUCH_APP, `No such app: ${ctx.host}`, ctx.requestId, prefersJson(ctx.accept));
    ctx.status = 404;
    ctx.bytes = writePage(side, 404, page.contentType, page.body, ctx.requestId, false);
    p.writeLine(formatRouterLine(ctx, undefined));
    return;
  }
  let e: RouterError;
  if (err instanceof RouterError) {
    e = err;
  } else {
    p.log.error('request failed', { err: String(err), request_id: ctx.requestId });
    e = new RouterError('H13', 'sent', 'internal');
  }
  const info = H_CODES[e.code];
  ctx.status = e.status;
  p.metrics.upstreamErrors.labels(e.code).inc();
  if (side.headSent || info.silent) {
    // A response already under way (H15, H18) or nobody to answer (H27): cut the connection.
    side.abort();
  } else {
    const page = errorBody(e.code, e.desc, ctx.requestId, prefersJson(ctx.accept));
    ctx.bytes = writePage(side, e.status, page.contentType, page.body, ctx.requestId, info.close);
  }
  record(p, ctx, e.code);
}

/** A request the client engine refused before it reached the path (no app known: stdout only). */
export function refuse(p: PlaneDeps, side: ClientSide, r: Refusal): void {
  const ctx: RequestContext = {
    acceptedAt: Date.now(),
    requestId: requestIdFor(undefined),
    method: r.method,
    path: r.path,
    host: r.host,
    fwd: r.remoteAddress,
    // A refused head may have stopped anywhere in its checks: the line checks what it names.
    headChecked: false,
    protocol: r.proto,
    httpVersion: undefined,
    accept: undefined,
    cookie: undefined,
    app: undefined,
    dyno: '',
    tried: [],
    connectMs: undefined,
    serviceMs: undefined,
    bytes: undefined,
    status: 0,
  };
  fail(p, side, ctx, new RouterError(r.code, 'not-sent', r.reason, r.status));
}

function writePage(
  side: ClientSide,
  status: number,
  type: string,
  body: string,
  requestId: string,
  close: boolean,
): number {
  const bytes = Buffer.from(body);
  const headers = [
    'Content-Type',
    type,
    'Content-Length',
    String(bytes.length),
    'Cache-Control',
    'no-store',
    'X-Request-Id',
    requestId,
  ];
  // A request refused for its framing may have left bytes we must not read as a next request.
  if (close) headers.push('Connection', 'close');
  side.writeHead(status, '', headers);
  side.end(bytes);
  return bytes.length;
}

/** Step 9: metrics, stdout, and the app's channel. */
export function record(p: PlaneDeps, ctx: RequestContext, code: HCode | undefined): void {
  p.metrics.countRequest(ctx.app ?? '', statusClass(ctx.status), code ?? 'none');
  writeLine(p, ctx, formatRouterLine(ctx, code), ctx.status, code);
}

/** A line for stdout and, for a known app, its channel. */
export function writeLine(
  p: PlaneDeps,
  ctx: RequestContext,
  line: string,
  status: number,
  code: HCode | undefined,
): void {
  p.writeLine(line);
  if (p.accessLog !== undefined && ctx.app !== undefined) {
    if (p.accessLog.write({ app: ctx.app, line, status, code }) === false) p.metrics.accessLogDropped.inc();
  }
}

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

function statusClass(status: number): string {
  return status >= 100 && status < 600 ? CLASSES[Math.floor(status / 100) - 1]! : 'other';
}

/**
 * `force_https` (design.md §Request path): a plain-HTTP request to such an app is answered 308 to the same
 * host and target on the TLS port (RFC 9110 §15.4.9: 308 keeps the method and body), and logged.
 */
export function redirectToHttps(p: PlaneDeps, side: ClientSide, ctx: RequestContext): void {
  const port = p.tls.port === undefined || p.tls.port === 443 ? '' : `:${p.tls.port}`;
  const location = `https://${ctx.host}${port}${ctx.path.startsWith('/') ? ctx.path : '/'}`;
  side.writeHead(308, 'Permanent Redirect', [
    'location',
    location,
    'content-length',
    '0',
    'cache-control',
    'no-store',
    'x-request-id',
    ctx.requestId,
  ]);
  side.end();
  ctx.status = 308;
  ctx.bytes = 0;
  record(p, ctx, undefined);
}
