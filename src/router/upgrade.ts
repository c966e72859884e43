// Step 8 of the request path (design.md §Request path): WebSocket and other Upgrade requests, with the same
// resolve/admit/pick/connect/retry rules as plain requests (handle.ts `attempts`). After the dyno's
// 101 the router is a raw byte pipe both ways (upgrade-pipe.ts), closed after ROUTER_IDLE_TIMEOUT_MS
// without a byte either way (H15). A dyno that answers without upgrading gets its response relayed,
// then close. An upgrade holds one of its app's in-flight slots (H11) from admission until it ends.
// Log lines: one at the 101 (or the refusal); a pipe closed for idleness adds one H15 line.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, prefersJson, rawErrorResponse } from './error-page';
import { H_CODES, RouterError } from './errors';
import { DynoAttempt, requestHead, type Attempt } from './forward';
import { formatRouterLine } from './access-log';
import { attempts, logRecord, newContext, record, route, type PlaneDeps, type RequestContext } from './handle';
import { downstreamHeaders } from './headers';
import { holdAppSlot } from './in-flight';
import { pipe, type PipeEnd } from './upgrade-pipe';
import type { Conn } from './upstream/pool';

/**
 * One Upgrade attempt: the head asks for the upgrade (`Connection: upgrade`). A 101 takes the socket
 * out of the pool and hands both sockets to the pipe; any other answer is relayed close-delimited
 * under the idle deadline (H15), with backpressure, then the client connection is closed.
 */
class UpgradeExchange extends DynoAttempt {
  readonly #p: PlaneDeps;
  readonly #client: Duplex;
  readonly #head: Buffer;
  readonly #requestHead: string;
  readonly #ended: (end: PipeEnd) => void;
  #status = 0;
  #paused = false;
  /** True once the 101 handed the sockets to the pipe, which then reports its own end. */
  upgraded = false;

  constructor(
    p: PlaneDeps,
    client: Duplex,
    head: Buffer,
    requestHead: string,
    ended: (end: PipeEnd) => void,
    done: (a: Attempt) => void,
  ) {
    super(done, p.pools.deadlines, p.pools.timeouts, false);
    this.#p = p;
    this.#client = client;
    this.#head = head;
    this.#requestHead = requestHead;
    this.#ended = ended;
  }

  protected sendRequest(conn: Conn): void {
    conn.socket.write(this.#requestHead, 'latin1');
  }

  protected afterData(extra: Buffer | undefined): void {
    if (this.upgraded) this.#pipe(extra);
    else if (this.parser.done) this.complete(extra === undefined);
  }

  onHead(status: number, reason: string, rawHeaders: string[]): void {
    if (status === 101) {
      // The 101's own Connection/Upgrade pair is what switches the client's protocol: kept as sent.
      let head = `HTTP/1.1 101 ${reason || 'Switching Protocols'}\r\n`;
      for (let i = 0; i < rawHeaders.length; i += 2) head += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
      this.#client.write(head + '\r\n');
      this.upgraded = true;
      this.#status = 101;
      return;
    }
    // Not upgraded: relay the response, close-delimited (RFC 9112 §6.3 rule 8), then close.
    const headers = downstreamHeaders(rawHeaders);
    let head = `HTTP/1.1 ${status} ${reason}\r\n`;
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i]!.toLowerCase() !== 'content-length') head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    }
    this.#client.write(head + 'Connection: close\r\n\r\n');
    this.started = true;
    this.#status = status;
    this.deadline = performance.now() + this.timeouts.idleMs;
  }

  onBody(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.#client.write(chunk) || this.#paused) return;
    // The client is not reading: hold the dyno off rather than buffer its answer here.
    this.#paused = true;
    this.conn?.socket.pause();
    this.#client.once('drain', () => {
      this.#paused = false;
      if (!this.finished) this.conn?.socket.resume();
    });
  }

  /** After the 101: the socket leaves the pool; bytes the dyno sent behind its 101 go first. */
  #pipe(extra: Buffer | undefined): void {
    this.endExchange();
    const upstream = this.conn!.detach();
    this.conn = undefined;
    if (extra !== undefined) this.#client.write(extra);
    if (this.#head.length > 0) upstream.write(this.#head);
    pipe(this.#p, this.#client, upstream, this.#ended);
    this.succeed(101);
  }

  protected complete(cleanTail: boolean): void {
    this.endExchange();
    if (this.#paused) this.conn!.socket.resume();
    this.conn!.release(this.reusable && cleanTail);
    this.conn = undefined;
    this.#client.end();
    this.succeed(this.#status);
  }

  /** An upgrade carries no body, but its answer may be the start of a new protocol: never replayed. */
  protected onFailed(): boolean {
    return false;
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
    let current: UpgradeExchange | undefined;
    client.once('close', () => current?.clientGone());
    const upgrade = req.headers.upgrade ?? 'websocket';
    await attempts(
      p,
      entry,
      req,
      ctx,
      (headers, pick) =>
        new Promise<Attempt>((resolve) => {
          const requestHead = upgradeHead(req.method!, req.url!, headers, upgrade);
          current = new UpgradeExchange(p, client, head, requestHead, ended, resolve);
          current.start(p.pools.get(pick.dyno.host, pick.dyno.port));
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

/** The request head of an upgrade: step 6's headers, then the hop-by-hop pair that asks for it. */
function upgradeHead(method: string, path: string, headers: readonly string[], upgrade: string): string {
  return requestHead(method, path, [...headers, 'connection', 'upgrade', 'upgrade', upgrade], false);
}

/**
 * H15 on a pipe (step 7's idle window, applied by step 8): a second line for the same request, to
 * stdout and the app's channel. Counted in upstream_errors_total{code="H15"} by the pipe, not again
 * in requests_total: the request was counted once, at its 101.
 */
function logIdleClose(p: PlaneDeps, req: IncomingMessage, ctx: RequestContext, end: PipeEnd): void {
  const status = H_CODES.H15.status;
  const line = formatRouterLine({
    ...logRecord(req, ctx, 'H15'),
    status,
    serviceMs: end.openMs,
    bytes: end.bytesToClient,
  });
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
