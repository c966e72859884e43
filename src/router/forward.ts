// Steps 5–7 of the request path (design.md §Request path): send one attempt to one dyno over its pool and
// stream the response back. An attempt ends in exactly one Attempt value; it never throws.
// Progress is recorded as it happens: `onConnected` stamps the attempt just before
// the request is written on a socket, so an error before it means nothing was sent; a connection
// knows whether it was reused, which tells a keep-alive race from a dyno that died.
// Failures are told apart by `code`, never by message:
//   connect phase:   *_CONNECT_TIMEOUT → H19; anything else (ECONNREFUSED, …) → H21
//   before headers:  *_HEADERS_TIMEOUT → H12 (a timer fired) ≠ socket closed → H13; HPE_* → H17
//   during the body: *_BODY_TIMEOUT → H15; anything else → H18; client left → H27, as is a client
//                    that stopped reading for the whole idle window (the dyno was held off for it)
// Plain requests run here (AttemptHandler), upgrades in upgrade.ts (UpgradeExchange), both on our own
// client (upstream/pool.ts + upstream/response-parser.ts), sharing DynoAttempt's bookkeeping and these codes.
import { performance } from 'node:perf_hooks';
import { affinityCookie } from './balance';
import type { BodySink, ClientSide } from './client/exchange';
import { RouterError, type HCode } from './errors';
import { downstreamHeaders } from './headers';
import type { Deadlines, Expiring } from './upstream/deadlines';
import type { Conn, ConnRequester, ConnUser, DynoPool, ReadMode } from './upstream/pool';
import { ResponseParseError, ResponseParser, type ResponseSink } from './upstream/response-parser';

export type Attempt =
  | {
      readonly ok: true;
      readonly status: number;
      readonly bytes: number;
      readonly connectMs: number;
      readonly serviceMs: number;
    }
  | {
      readonly ok: false;
      readonly error: RouterError;
      readonly bytes: number;
      readonly connectMs: number;
      readonly serviceMs: number | undefined;
      /** Failed before any response byte, with no body byte sent: safe to send once more (keep-alive race). */
      readonly replayable: boolean;
    };

export interface AttemptSpec {
  readonly pool: DynoPool;
  readonly side: ClientSide;
  readonly method: string;
  /** The whole request head (requestHead), written in one go. */
  readonly head: string;
  readonly hasBody: boolean;
  /** The body goes out chunked (the client sent it chunked, without a length). */
  readonly chunked: boolean;
  /** ROUTER_RESPONSE_TIMEOUT_MS (H12) and ROUTER_IDLE_TIMEOUT_MS (H15). */
  readonly timeouts: { readonly responseMs: number; readonly idleMs: number };
  readonly deadlines: Deadlines;
  /** A Set-Cookie value to add to the response (affinity). */
  readonly setCookie: string | undefined;
}

/** The failure of an attempt whose client went away, so the error path can tell H27 apart. */
export class ClientGone extends Error {
  readonly code = 'SY_CLIENT_GONE';
}

/** An error's code: a socket's (ECONNREFUSED, ECONNRESET, …) or one of our SY_* codes; '' when none. */
export function errorCode(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
}

/** Why the client side ended an attempt: it left (H27), its body was too slow (H28) or misframed (H26). */
export type ClientEnd = 'H26' | 'H27' | 'H28';

/** The H code of a failed attempt, from the error's `code` and how far the attempt got. */
export function failureCode(
  code: string,
  clientGone: ClientEnd | undefined,
  connected: boolean,
  started: boolean,
): HCode {
  if (clientGone !== undefined) return clientGone;
  if (!connected) return code === 'SY_CONNECT_TIMEOUT' ? 'H19' : 'H21';
  if (!started) {
    if (code === 'SY_HEADERS_TIMEOUT') return 'H12';
    if (code.startsWith('HPE_')) return 'H17';
    return 'H13';
  }
  return code === 'SY_BODY_TIMEOUT' ? 'H15' : 'H18';
}

/** Codes of a connection that died under a request: on a reused connection, the keep-alive race. */
export const SOCKET_DIED = new Set(['ECONNRESET', 'EPIPE', 'SY_SOCKET_CLOSED']);

/**
 * One attempt on a dyno, plain or upgrade, over a connection from our pool (upstream/pool.ts): it
 * records when it connected (onConnected, just before the request is written), whether the response
 * started, the client leaving, and exactly one outcome; it reads the answer with ResponseParser
 * under the response (H12) and idle (H15) deadlines. Subclasses write the request and decide what
 * the answer's bytes become (`sendRequest`, `onHead`/`onBody`, `afterData`, `complete`).
 */
export abstract class DynoAttempt implements ConnRequester, ConnUser, ResponseSink, Expiring {
  protected readonly dispatchedAt = performance.now();
  protected connectedAt = 0;
  protected started = false;
  protected bytes = 0;
  /** Set when the client side ended the attempt, with its code. */
  protected gone: ClientEnd | undefined;
  /** The client stopped taking the response: the dyno's socket is paused until it drains. */
  protected clientFull = false;
  /** Whether the connection served an earlier request (set from the pool's connection). */
  protected reused = true;
  protected conn: Conn | undefined;
  protected readonly parser: ResponseParser;
  /** The exchange is over (completed, failed or handed on); late events are ignored. */
  protected finished = false;
  /** What the parser said about reusing the connection once the response ended. */
  protected reusable = false;
  /** Some response byte arrived: the dyno took the request, so it is never replayed. */
  protected heard = false;
  /** When the response (H12) or, once the head is in, the idle window (H15) runs out. */
  deadline = 0;
  /** Our slot in Deadlines while watched. */
  slot = -1;
  #settled = false;
  readonly #done: (a: Attempt) => void;

  constructor(
    done: (a: Attempt) => void,
    protected readonly deadlines: Deadlines,
    protected readonly timeouts: { readonly responseMs: number; readonly idleMs: number },
    requestWasHead: boolean,
  ) {
    this.#done = done;
    this.parser = new ResponseParser(this, requestWasHead);
  }

  start(pool: DynoPool): void {
    pool.acquire(this, this.readMode);
  }

  /** How the connection reads: plain exchanges take lent bytes (upstream/pool.ts); an upgrade needs a stream. */
  protected get readMode(): ReadMode {
    return 'lent';
  }

  clientGone(code: ClientEnd = 'H27'): void {
    if (this.#settled) return;
    this.gone = code;
    this.abortWith(new ClientGone('client closed the connection'));
  }

  onConnectFailed(code: string, err: Error | undefined): void {
    this.fail(err ?? new UpstreamError(code, 'connect failed'), true);
  }

  onConnected(conn: Conn): void {
    if (this.gone !== undefined) {
      // The client left while we connected: the connection is fresh and unused, so keep it.
      conn.release(true);
      this.fail(new ClientGone('client closed the connection'), true);
      return;
    }
    this.conn = conn;
    this.reused = conn.reused;
    conn.user = this;
    this.connectedAt = performance.now();
    this.deadline = this.connectedAt + this.timeouts.responseMs;
    this.deadlines.watch(this);
    this.sendRequest(conn);
  }

  /** Writes the request on a connection just taken; from here on it counts as sent. */
  protected abstract sendRequest(conn: Conn): void;

  onData(chunk: Buffer): void {
    if (this.finished) return;
    this.heard = true;
    let extra: Buffer | undefined;
    try {
      extra = this.parser.execute(chunk);
    } catch (err) {
      const code = err instanceof ResponseParseError ? 'HPE_SY_RESPONSE' : errorCode(err as Error);
      this.abortWith(new UpstreamError(code, (err as Error).message));
      return;
    }
    if (this.finished) return;
    if (this.started) this.deadline = performance.now() + this.timeouts.idleMs;
    this.afterData(extra);
  }

  /** After a read was parsed; `extra`: bytes past the end of the response, if it ended. */
  protected abstract afterData(extra: Buffer | undefined): void;

  abstract onHead(status: number, reason: string, rawHeaders: string[]): void;
  abstract onBody(chunk: Buffer): void;

  onEnd(reusable: boolean): void {
    this.reusable = reusable;
  }

  onDrain(): void {}

  onClose(err: (Error & { code?: string }) | undefined): void {
    if (this.finished) return;
    // A close ends a close-delimited body; a reset (err) cuts it short.
    if (err === undefined && this.parser.finish()) {
      this.complete(false);
      return;
    }
    this.conn = undefined;
    this.failWith(err ?? new UpstreamError('SY_SOCKET_CLOSED', 'dyno closed the connection'));
  }

  /** The response ended; `cleanTail`: nothing came after it, so the connection may be reused. */
  protected abstract complete(cleanTail: boolean): void;

  expire(): void {
    if (this.started) this.abortWith(new UpstreamError('SY_BODY_TIMEOUT', 'idle timeout'));
    else this.abortWith(new UpstreamError('SY_HEADERS_TIMEOUT', 'response timeout'));
  }

  /**
   * Passes response bytes to the client; when it is full, holds the dyno off (its socket paused)
   * rather than buffer its answer here, until the client drains.
   */
  protected relay(side: ClientSide, chunk: Buffer): void {
    if (side.writeBody(chunk) || this.clientFull) return;
    this.clientFull = true;
    this.conn?.socket.pause();
    side.onDrain(() => {
      this.clientFull = false;
      if (!this.finished) this.conn?.socket.resume();
    });
  }

  /** Ends the exchange early (a timer, a malformed response, the client leaving): the connection is closed. */
  protected abortWith(err: Error): void {
    if (this.finished) return;
    const conn = this.conn;
    this.conn = undefined;
    if (conn !== undefined) {
      conn.user = undefined;
      conn.destroy();
    }
    this.failWith(err);
  }

  /** The exchange failed: stop watching it, let the subclass tidy up, settle the outcome. */
  protected failWith(err: Error): void {
    this.finished = true;
    this.deadlines.unwatch(this);
    this.fail(err, this.onFailed());
  }

  /** Tidies up after a failure; answers whether no request body byte went out (replay is safe). */
  protected abstract onFailed(): boolean;

  /** Stops the deadlines of an exchange that ended well (or was handed on). */
  protected endExchange(): void {
    this.finished = true;
    this.deadlines.unwatch(this);
  }

  protected connectMs(): number {
    return (this.connectedAt === 0 ? performance.now() : this.connectedAt) - this.dispatchedAt;
  }

  protected succeed(status: number): void {
    this.settle({
      ok: true,
      status,
      bytes: this.bytes,
      connectMs: this.connectMs(),
      serviceMs: performance.now() - this.connectedAt,
    });
  }

  /** The failure outcome of `err`; `replayable` only when the caller knows no body byte went out. */
  protected fail(err: Error, bodyUnsent: boolean): void {
    const code = errorCode(err);
    const sent = this.connectedAt !== 0;
    this.settle({
      ok: false,
      error: new RouterError(
        failureCode(code, this.gone, sent, this.started),
        this.started ? 'responded' : sent ? 'sent' : 'not-sent',
        code || err.name,
      ),
      bytes: this.bytes,
      connectMs: this.connectMs(),
      serviceMs: sent ? performance.now() - this.connectedAt : undefined,
      replayable:
        bodyUnsent &&
        !this.heard &&
        sent &&
        this.reused &&
        !this.started &&
        this.gone === undefined &&
        SOCKET_DIED.has(code),
    });
  }

  private settle(a: Attempt): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#done(a);
  }
}

/** A failure of our own upstream client, with the code `failureCode` reads. */
export class UpstreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A plain request: write the head and stream the body (paused while the dyno's socket is full), and
 * stream the response to the client with backpressure (the dyno's socket paused while the client is full).
 */
class AttemptHandler extends DynoAttempt {
  readonly #spec: AttemptSpec;
  /** The last body slice read, held back so the final one goes out with `end`. */
  #pending: Buffer | undefined;
  #bodyStarted = false;
  #bodyDone: boolean;
  #waitingDrain = false;
  #bodySink: BodySink | undefined;
  #status = 0;

  constructor(spec: AttemptSpec, done: (a: Attempt) => void) {
    super(done, spec.deadlines, spec.timeouts, spec.method === 'HEAD');
    this.#spec = spec;
    this.#bodyDone = !spec.hasBody;
  }

  protected sendRequest(conn: Conn): void {
    conn.socket.write(this.#spec.head, 'latin1');
    if (this.#spec.hasBody) this.#sendBody();
  }

  // ---- request body: client → dyno, paused while the dyno's socket is full ----

  #sendBody(): void {
    const { side } = this.#spec;
    // RFC 9110 §10.1.1: 100 Continue once a dyno is ready to take the body (sent once per request).
    side.writeContinue();
    // A sink made here, not as fields: most requests have no body.
    this.#bodySink = { onData: (chunk: Buffer) => this.#onBodyChunk(chunk), onEnd: () => this.#onBodyEnd() };
    side.readBody(this.#bodySink);
  }

  #onBodyChunk(chunk: Buffer): void {
    if (chunk.length === 0 || this.conn === undefined || this.#bodySink === undefined) return;
    this.#bodyStarted = true;
    const socket = this.conn.socket;
    let ok: boolean;
    if (this.#spec.chunked) {
      socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      ok = socket.write('\r\n', 'latin1');
      socket.uncork();
    } else {
      ok = socket.write(chunk);
    }
    if (!ok) {
      this.#waitingDrain = true;
      this.#spec.side.pauseBody();
    }
  }

  #onBodyEnd(): void {
    if (this.#bodySink === undefined) return;
    this.#bodyDone = true;
    if (this.#spec.chunked && this.conn !== undefined) this.conn.socket.write('0\r\n\r\n', 'latin1');
  }

  /** No more body for this attempt; what the client still sends waits for a replay or is dropped. */
  #stopBody(): void {
    if (this.#bodySink === undefined) return;
    this.#bodySink = undefined;
    this.#spec.side.pauseBody();
  }

  override onDrain(): void {
    if (!this.#waitingDrain) return;
    this.#waitingDrain = false;
    this.#spec.side.resumeBody();
  }

  // ---- response: dyno → client ----

  protected afterData(extra: Buffer | undefined): void {
    if (this.parser.done) {
      // Bytes after the response's end: we no longer know where the next one would start.
      this.complete(extra === undefined);
      return;
    }
    if (this.#pending !== undefined) {
      const p = this.#pending;
      this.#pending = undefined;
      this.relay(this.#spec.side, p);
    }
  }

  onHead(status: number, reason: string, rawHeaders: string[]): void {
    // We never ask for an upgrade on this path (Upgrade is hop-by-hop): a 101 is a broken dyno.
    if (status === 101) throw new ResponseParseError('101 without an upgrade request', 'head');
    const { side, setCookie } = this.#spec;
    const headers = downstreamHeaders(rawHeaders);
    if (setCookie !== undefined) headers.push('set-cookie', affinityCookie(setCookie));
    if (!side.writeHead(status, reason, headers)) throw new ResponseParseError('unsendable response head', 'head');
    this.#started(status);
  }

  /** The common head, passed on as the dyno wrote it (response-parser.ts says when). */
  onWireHead(status: number, head: string, hasLength: boolean): boolean {
    const { side, setCookie } = this.#spec;
    if (side.writeWireHead === undefined) return false;
    const out = setCookie === undefined ? head : `${head}set-cookie: ${affinityCookie(setCookie)}\r\n`;
    if (!side.writeWireHead(status, out, hasLength)) throw new ResponseParseError('unsendable response head', 'head');
    this.#started(status);
    return true;
  }

  #started(status: number): void {
    this.#status = status;
    this.started = true;
    this.deadline = performance.now() + this.timeouts.idleMs;
  }

  onBody(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.#pending !== undefined) this.relay(this.#spec.side, this.#pending);
    this.#pending = chunk;
  }

  protected complete(cleanTail: boolean): void {
    this.endExchange();
    if (!this.#bodyDone) this.#stopBody();
    const conn = this.conn!;
    if (this.clientFull) conn.socket.resume();
    conn.release(this.reusable && cleanTail && this.#bodyDone, this.parser.keepAliveTimeoutS);
    const last = this.#pending;
    this.#pending = undefined;
    this.#spec.side.end(last);
    this.succeed(this.#status);
  }

  override expire(): void {
    if (!this.clientFull) return super.expire();
    // The window passed while we held the dyno off for a client that stopped reading: the
    // client's doing (H27), not an idle dyno (H15). Still bounded: it holds a dyno connection.
    this.gone = 'H27';
    this.abortWith(new ClientGone('client stopped reading'));
  }

  protected onFailed(): boolean {
    this.#stopBody();
    this.#pending = undefined;
    // A body read whole by the client engine can be read again from its start.
    return !this.#bodyStarted || this.#spec.side.bodyComplete;
  }
}

/** Where the caller forwards a client disconnect: the attempt running now, if any. */
export interface ClientWatch {
  current: { clientGone(code: ClientEnd): void } | undefined;
}

/** Runs one attempt on `spec.pool`; resolves with its outcome, never rejects. */
export function forward(spec: AttemptSpec, watch: ClientWatch): Promise<Attempt> {
  return new Promise((resolve) => {
    const handler = new AttemptHandler(spec, resolve);
    watch.current = handler;
    handler.start(spec.pool);
  });
}

/** The request head for a dyno: request line, the header section of step 6, and our body framing. */
export function requestHead(method: string, path: string, fields: string, chunked: boolean): string {
  // Every piece was already validated: method, target and client headers by the client
  // engine's strict parser (client/request-parser.ts), our own values by construction.
  // Nothing here can carry a CR or LF.
  return `${method} ${path} HTTP/1.1\r\n${fields}${chunked ? 'transfer-encoding: chunked\r\n\r\n' : '\r\n'}`;
}
