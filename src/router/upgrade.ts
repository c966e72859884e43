// Step 8 of the request path (design.md §Request path): WebSocket and other Upgrade requests, with the same
// resolve/admit/pick/connect/retry rules as plain requests (handle.ts `attempts`). After the dyno's
// 101 the router is a raw byte pipe both ways (upgrade-pipe.ts), closed after ROUTER_IDLE_TIMEOUT_MS
// without a byte either way (H15). A dyno that answers without upgrading gets its response relayed,
// then close. An upgrade holds one of its app's in-flight slots (H11) from admission until it ends.
// Log lines: one at the 101 (or the refusal); a pipe closed for idleness adds one H15 line.
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { ClientRequest, ClientSide } from './client/exchange';
import { H_CODES } from './errors';
import { formatRouterLine } from './access-log';
import { record, writeLine } from './exit';
import { DynoAttempt, requestHead, type Attempt } from './forward';
import { attempts, type PlaneDeps, type RequestContext } from './handle';
import { downstreamHeaders } from './headers';
import { holdAppSlot } from './in-flight';
import { pipe, type PipeEnd } from './upgrade-pipe';
import type { LentReads } from './client/lent-reads';
import type { Conn, ReadMode } from './upstream/pool';
import { ResponseParseError } from './upstream/response-parser';

/**
 * One Upgrade attempt: the head asks for the upgrade (`Connection: upgrade`). A 101 takes the socket
 * out of the pool and hands both sockets to the pipe; any other answer is relayed under the idle
 * deadline (H15), with backpressure, then the client connection is closed.
 */
class UpgradeExchange extends DynoAttempt {
  readonly #p: PlaneDeps;
  readonly #side: ClientSide;
  readonly #requestHead: string;
  readonly #ended: (end: PipeEnd) => void;
  #status = 0;
  #client: Duplex | undefined;
  /** The client socket's reads, when they come lent (client/lent-reads.ts) rather than as a stream. */
  #clientLent: LentReads | undefined;
  /** True once the 101 handed the sockets to the pipe, which then reports its own end. */
  upgraded = false;

  constructor(
    p: PlaneDeps,
    side: ClientSide,
    requestHead: string,
    ended: (end: PipeEnd) => void,
    done: (a: Attempt) => void,
  ) {
    super(done, p.pools.deadlines, p.pools.timeouts, false);
    this.#p = p;
    this.#side = side;
    this.#requestHead = requestHead;
    this.#ended = ended;
  }

  /** After a 101 the dyno's socket is piped as a stream: the connection must read as one. */
  protected override get readMode(): ReadMode {
    return 'stream';
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
      const t = this.#side.takeTransport?.();
      if (t === undefined) throw new ResponseParseError('101 on a transport that cannot switch', 'head');
      // The 101's own Connection/Upgrade pair is what switches the client's protocol: kept as sent.
      let head = `HTTP/1.1 101 ${reason || 'Switching Protocols'}\r\n`;
      for (let i = 0; i < rawHeaders.length; i += 2) head += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
      t.socket.write(head + '\r\n', 'latin1');
      this.#client = t.socket;
      this.#clientLent = t.lent;
      this.#clientHead = t.head;
      this.upgraded = true;
      this.#status = 101;
      return;
    }
    // Not upgraded: relay the response, then close the client connection.
    const headers = downstreamHeaders(rawHeaders);
    headers.push('connection', 'close');
    if (!this.#side.writeHead(status, reason, headers))
      throw new ResponseParseError('unsendable response head', 'head');
    this.started = true;
    this.#status = status;
    this.deadline = performance.now() + this.timeouts.idleMs;
  }

  #clientHead: Buffer | undefined;

  onBody(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.relay(this.#side, chunk);
  }

  /** After the 101: the socket leaves the pool; bytes the dyno sent behind its 101 go first. */
  #pipe(extra: Buffer | undefined): void {
    this.endExchange();
    const upstream = this.conn!.detach();
    this.conn = undefined;
    const client = this.#client!;
    if (extra !== undefined) client.write(extra);
    if (this.#clientHead !== undefined && this.#clientHead.length > 0) upstream.write(this.#clientHead);
    pipe(this.#p, client, upstream, this.#ended, this.#clientLent);
    this.succeed(101);
  }

  protected complete(cleanTail: boolean): void {
    this.endExchange();
    if (this.clientFull) this.conn!.socket.resume();
    this.conn!.release(this.reusable && cleanTail);
    this.conn = undefined;
    this.#side.end();
    this.succeed(this.#status);
  }

  /** An upgrade carries no body, but its answer may be the start of a new protocol: never replayed. */
  protected onFailed(): boolean {
    return false;
  }
}

/**
 * Step 8, after steps 2–3 admitted the request: the same pick/connect/retry rules as plain
 * requests (handle.ts `attempts`). Holds one of the app's in-flight slots until the pipe closes.
 * A failure is thrown to handle.ts, whose catch is the one exit.
 */
export async function handleUpgrade(
  p: PlaneDeps,
  entry: import('./table/route-table').AppEntry,
  req: ClientRequest,
  side: ClientSide,
  ctx: RequestContext,
): Promise<void> {
  const release = holdAppSlot(p.appInFlight, entry.app.name);
  try {
    const ended = (end: PipeEnd): void => {
      release();
      if (end.idle) logIdleClose(p, ctx, end);
    };
    let current: UpgradeExchange | undefined;
    side.onGone(() => current?.clientGone('H27'));
    await attempts(
      p,
      entry,
      req,
      ctx,
      (headers, pick) =>
        new Promise<Attempt>((resolve) => {
          const head = upgradeHead(req.method, req.target, headers, req.upgrade!);
          current = new UpgradeExchange(p, side, head, ended, resolve);
          current.start(p.pools.get(pick.dyno.host, pick.dyno.port));
        }),
    );
    // Not upgraded (the dyno answered with a response): the exchange is over, and so is the slot.
    if (current?.upgraded !== true) release();
    record(p, ctx, undefined);
  } catch (err) {
    release();
    throw err;
  }
}

/** The request head of an upgrade: step 6's headers, then the hop-by-hop pair that asks for it. */
function upgradeHead(method: string, path: string, fields: string, upgrade: string): string {
  return requestHead(method, path, `${fields}connection: upgrade\r\nupgrade: ${upgrade}\r\n`, false);
}

/**
 * H15 on a pipe (step 7's idle window, applied by step 8): a second line for the same request, to
 * stdout and the app's channel. Counted in upstream_errors_total{code="H15"} by the pipe, not again
 * in requests_total: the request was counted once, at its 101.
 */
function logIdleClose(p: PlaneDeps, ctx: RequestContext, end: PipeEnd): void {
  const status = H_CODES.H15.status;
  const line = formatRouterLine({ ...ctx, status, serviceMs: end.openMs, bytes: end.bytesToClient }, 'H15');
  writeLine(p, ctx, line, status, 'H15');
}
