// Steps 5–7 of the request path (DESIGN §3): send one attempt to one dyno over its pool and
// stream the response back. An attempt ends in exactly one Attempt value; it never throws.
// Progress is recorded as it happens (STYLE habit 10): undici calls onConnect just before it
// writes the request on a socket, so an error before onConnect means nothing was sent.
// Failures are told apart by `code`, never by message (habit 4):
//   connect phase:   UND_ERR_CONNECT_TIMEOUT → H19; anything else (ECONNREFUSED, …) → H21
//   before headers:  UND_ERR_HEADERS_TIMEOUT → H12 (a timer fired) ≠ socket closed → H13; HPE_* → H17
//   during the body: UND_ERR_BODY_TIMEOUT → H15; anything else → H18; client left → H27
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { RouterError, type HCode } from './errors';
import { downstreamHeaders } from './headers';

export type Attempt =
  | { readonly ok: true; readonly status: number; readonly bytes: number; readonly connectMs: number; readonly serviceMs: number }
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
  readonly pool: Dispatcher;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly headers: string[];
  readonly hasBody: boolean;
  /** A Set-Cookie value to add to the response (affinity). */
  readonly setCookie: string | undefined;
}

/** Thrown into undici when the client went away, so the error path can tell H27 apart. */
export class ClientGone extends Error {
  readonly code = 'SY_CLIENT_GONE';
}

/**
 * An undici error's code. undici's HTTPParserError carries `code` only for some llhttp errors
 * (an invalid status line has none), so its class name stands in: a type, not a message.
 */
export function errorCode(err: Error): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  return err.name === 'HTTPParserError' ? 'HPE_UNKNOWN' : '';
}

/** The H code of a failed attempt, from the error's `code` and how far the attempt got. */
export function failureCode(code: string, clientGone: boolean, connected: boolean, started: boolean): HCode {
  if (clientGone) return 'H27';
  if (!connected) return code === 'UND_ERR_CONNECT_TIMEOUT' ? 'H19' : 'H21';
  if (!started) {
    if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'H12';
    if (code.startsWith('HPE_') || code === 'UND_ERR_INVALID_ARG') return 'H17';
    return 'H13';
  }
  return code === 'UND_ERR_BODY_TIMEOUT' ? 'H15' : 'H18';
}

/** Codes of a connection that died under a request: on a reused connection, the keep-alive race. */
export const SOCKET_DIED = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);

/**
 * What every attempt on a dyno records, plain or upgrade: when it connected (undici's onConnect,
 * just before the request is written), whether the response started, the client leaving, and
 * exactly one outcome.
 */
export abstract class DynoAttempt {
  protected readonly dispatchedAt = performance.now();
  protected connectedAt = 0;
  protected abort: ((err?: Error) => void) | undefined;
  protected started = false;
  protected bytes = 0;
  protected gone = false;
  #settled = false;
  readonly #done: (a: Attempt) => void;

  constructor(done: (a: Attempt) => void) {
    this.#done = done;
  }

  clientGone(): void {
    if (this.#settled) return;
    this.gone = true;
    this.abort?.(new ClientGone('client closed the connection'));
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    this.connectedAt = performance.now();
    if (this.gone) abort(new ClientGone('client closed the connection'));
  }

  protected connectMs(): number {
    return (this.connectedAt === 0 ? performance.now() : this.connectedAt) - this.dispatchedAt;
  }

  protected succeed(status: number): void {
    this.settle({ ok: true, status, bytes: this.bytes, connectMs: this.connectMs(), serviceMs: performance.now() - this.connectedAt });
  }

  /** The failure outcome of `err`; `replayable` only when the caller knows no body byte went out. */
  protected fail(err: Error, bodyUnsent: boolean): void {
    const code = errorCode(err);
    const sent = this.connectedAt !== 0;
    this.settle({
      ok: false,
      error: new RouterError(failureCode(code, this.gone, sent, this.started), this.started ? 'responded' : sent ? 'sent' : 'not-sent', code || err.name),
      bytes: this.bytes,
      connectMs: this.connectMs(),
      serviceMs: sent ? performance.now() - this.connectedAt : undefined,
      replayable: bodyUnsent && sent && !this.started && !this.gone && SOCKET_DIED.has(code),
    });
  }

  private settle(a: Attempt): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#done(a);
  }
}

class AttemptHandler extends DynoAttempt implements Dispatcher.DispatchHandler {
  readonly #spec: AttemptSpec;
  #resume: (() => void) | undefined;
  #bodyPulled = false;

  constructor(spec: AttemptSpec, done: (a: Attempt) => void) {
    super(done);
    this.#spec = spec;
  }

  /** The request body, pulled by undici only once it writes the request: the first pull is "sent". */
  body(): AsyncIterable<Buffer> | null {
    if (!this.#spec.hasBody) return null;
    return {
      [Symbol.asyncIterator]: () => {
        this.#bodyPulled = true;
        // RFC 9110 §10.1.1: 100 Continue once a dyno is ready to take the body.
        if (this.#spec.req.headers.expect !== undefined) this.#spec.res.writeContinue();
        return this.#spec.req[Symbol.asyncIterator]();
      },
    };
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx: our own 100 Continue went out already; 103 is dropped
    const { res, setCookie } = this.#spec;
    const headers = downstreamHeaders(rawHeaders);
    if (setCookie !== undefined) headers.push('set-cookie', `switchyard-affinity=${setCookie}; Path=/; HttpOnly; SameSite=Lax`);
    try {
      res.writeHead(statusCode, statusText || undefined, headers);
    } catch {
      // Node refused a header or status text it would not send: the dyno's response is malformed.
      this.abort?.(Object.assign(new Error('unsendable response head'), { code: 'HPE_SY_HEAD' }));
      return false;
    }
    this.started = true;
    this.#resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    const more = this.#spec.res.write(chunk);
    if (!more) this.#spec.res.once('drain', this.#resume!);
    return more;
  }

  onComplete(): void {
    this.#spec.res.end();
    this.succeed(this.#spec.res.statusCode);
  }

  onError(err: Error): void {
    this.fail(err, !this.#bodyPulled);
  }
}

/** Where the caller forwards a client disconnect: the attempt running now, if any. */
export interface ClientWatch {
  current: { clientGone(): void } | undefined;
}

/** Runs one attempt on `spec.pool`; resolves with its outcome, never rejects. */
export function forward(spec: AttemptSpec, path: string, method: string, watch: ClientWatch): Promise<Attempt> {
  return new Promise((resolve) => {
    const handler = new AttemptHandler(spec, resolve);
    watch.current = handler;
    try {
      spec.pool.dispatch({ path, method, headers: spec.headers, body: handler.body() as never, idempotent: false }, handler);
    } catch (err) {
      handler.onError(err as Error);
    }
  });
}
