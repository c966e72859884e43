// Step 8 of the request path (DESIGN §3): WebSocket and other Upgrade requests, with the same
// resolve/admit/pick/connect/retry rules as plain requests (handle.ts `attempts`). After the dyno's
// 101 the router is a raw byte pipe both ways (upgrade-pipe.ts), closed after ROUTER_IDLE_TIMEOUT_MS
// without a byte either way (H15). A dyno that answers without upgrading gets its response relayed,
// then close. An upgrade holds one of its app's in-flight slots (H11) from admission until it ends.
// Log lines: one at the 101 (or the refusal); a pipe closed for idleness adds one H15 line.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { errorBody, prefersJson, rawErrorResponse } from './error-page';
import { H_CODES, RouterError } from './errors';
import { DynoAttempt, type Attempt } from './forward';
import { formatRouterLine } from './access-log';
import { attempts, logRecord, newContext, record, route, type PlaneDeps, type RequestContext } from './handle';
import { downstreamHeaders } from './headers';
import { holdAppSlot } from './in-flight';
import { pipe, type PipeEnd } from './upgrade-pipe';

class UpgradeHandler extends DynoAttempt implements Dispatcher.DispatchHandler {
  readonly #client: Duplex;
  readonly #head: Buffer;
  readonly #p: PlaneDeps;
  readonly #ended: (end: PipeEnd) => void;
  #status = 0;
  /** True once the 101 handed the sockets to the pipe, which then reports its own end. */
  upgraded = false;

  constructor(p: PlaneDeps, client: Duplex, head: Buffer, ended: (end: PipeEnd) => void, done: (a: Attempt) => void) {
    super(done);
    this.#p = p;
    this.#client = client;
    this.#head = head;
    this.#ended = ended;
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, upstream: Duplex): void {
    let head = `HTTP/1.1 ${statusCode} Switching Protocols\r\n`;
    const raw = rawHeaders ?? [];
    // The 101's own Connection/Upgrade pair is what switches the client's protocol: kept as sent.
    for (let i = 0; i < raw.length; i += 2) head += `${raw[i]!.toString()}: ${raw[i + 1]!.toString()}\r\n`;
    this.#client.write(head + '\r\n');
    if (this.#head.length > 0) upstream.write(this.#head);
    this.upgraded = true;
    pipe(this.#p, this.#client, upstream, this.#ended);
    this.succeed(statusCode);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], _resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true;
    // Not upgraded: relay the response, close-delimited (RFC 9112 §6.3 rule 8), then close.
    const headers = downstreamHeaders(rawHeaders.map((b) => b.toString('latin1')));
    let head = `HTTP/1.1 ${statusCode} ${statusText.replace(/[\r\n]/g, '')}\r\n`;
    for (let i = 0; i < headers.length; i += 2) {
      const lower = headers[i]!.toLowerCase();
      if (lower !== 'content-length') head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    }
    this.#client.write(head + 'Connection: close\r\n\r\n');
    this.started = true;
    this.#status = statusCode;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    this.#client.write(chunk);
    return true;
  }

  onComplete(): void {
    this.#client.end();
    this.succeed(this.#status);
  }

  onError(err: Error): void {
    // An upgrade carries no body: after a 101 the bytes are the pipe's, never replayed.
    this.fail(err, false);
  }
}

export async function handleUpgrade(p: PlaneDeps, req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
  const ctx = newContext(req);
  client.on('error', () => undefined);
  let release: (() => void) | undefined;
  try {
    const entry = route(p, req, ctx);
    if (entry === undefined) return refuse(p, req, client, ctx, undefined);
    release = holdAppSlot(p.appInFlight, entry.app.name);
    const ended = (end: PipeEnd): void => {
      release!();
      if (end.idle) logIdleClose(p, req, ctx, end);
    };
    let current: UpgradeHandler | undefined;
    client.once('close', () => current?.clientGone());
    await attempts(p, entry, req, ctx, (headers, pick) =>
      new Promise<Attempt>((resolve) => {
        current = new UpgradeHandler(p, client, head, ended, resolve);
        try {
          p.pools.upgrades(pick.dyno.host, pick.dyno.port).dispatch({ path: req.url!, method: req.method!, headers, upgrade: req.headers.upgrade ?? 'websocket' }, current);
        } catch (err) {
          current.onError(err as Error);
        }
      }),
    );
    // Not upgraded (the dyno answered with a response): the exchange is over, and so is the slot.
    if (current?.upgraded !== true) release();
    record(p, req, ctx, undefined);
  } catch (err) {
    release?.();
    refuse(p, req, client, ctx, err);
  }
}

/**
 * H15 on a pipe (step 7's idle window, applied by step 8): a second line for the same request, to
 * stdout and the app's channel. Counted in upstream_errors_total{code="H15"} by the pipe, not again
 * in requests_total: the request was counted once, at its 101.
 */
function logIdleClose(p: PlaneDeps, req: IncomingMessage, ctx: RequestContext, end: PipeEnd): void {
  const status = H_CODES.H15.status;
  const line = formatRouterLine({ ...logRecord(req, ctx, 'H15'), status, serviceMs: end.openMs, bytes: end.bytesToClient });
  p.writeLine(line);
  if (p.accessLog !== undefined && ctx.app !== undefined) {
    if (p.accessLog.write({ app: ctx.app, line, status, code: 'H15' }) === false) p.metrics.accessLogDropped.inc();
  }
}

/** The upgrade path's `fail`: the same page and log line, written as raw bytes on the socket. */
function refuse(p: PlaneDeps, req: IncomingMessage, client: Duplex, ctx: RequestContext, err: unknown): void {
  if (err === undefined) {
    const page = errorBody('no_such_app', `No such app: ${ctx.host}`, ctx.requestId, prefersJson(req.headers.accept));
    client.end(rawErrorResponse(404, page));
    ctx.status = 404;
    p.writeLine(formatRouterLine(logRecord(req, ctx, undefined)));
    return;
  }
  const e = err instanceof RouterError ? err : new RouterError('H13', 'sent', 'internal');
  ctx.status = e.status;
  p.metrics.upstreamErrors.labels(e.code).inc();
  if (e.progress === 'responded' || e.code === 'H27' || !client.writable) {
    client.destroy();
  } else {
    client.end(rawErrorResponse(e.status, errorBody(e.code, e.desc, ctx.requestId, prefersJson(req.headers.accept))));
  }
  record(p, req, ctx, e.code);
}
