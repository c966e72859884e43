// Step 7's client half (design.md §Request path): writes one response at a time on an HTTP/1.1
// connection. The dyno's head arrives with hop-by-hop fields removed (step 6); the framing toward
// the client is chosen here (RFC 9112 §6): the dyno's Content-Length when it sent one, chunked for
// an HTTP/1.1 client otherwise, close-delimited for HTTP/1.0. No Content-Length on 1xx or 204
// (RFC 9110 §8.6). A small response leaves in one write, head and body together.
import { STATUS_CODES } from 'node:http';
import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';

/** Bodies up to this size go out with their head in one write, as one latin1 string. */
const SMALL_BODY = 16 * 1024;
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

type Framing = 'none' | 'length' | 'chunked' | 'close';

export abstract class ResponseWriter {
  /** Close the connection after this response (asked for, or the framing requires it). */
  protected closeAfter = false;
  headSent = false;
  /** The current response ended (or was aborted). */
  protected ended = true;
  #minor = 1;
  #isHead = false;
  #keepAlive = true;
  #expectContinue = false;
  #continueSent = false;
  #framing: Framing = 'none';
  /** The head, held back until the first body bytes or the end, so both leave in one write. */
  #headOut: string | undefined;
  #drainCb: (() => void) | undefined;
  readonly #onDrainL = (): void => {
    const cb = this.#drainCb;
    this.#drainCb = undefined;
    cb?.();
  };

  constructor(readonly socket: Socket) {
    socket.on('drain', this.#onDrainL);
  }

  /** A new request: how its response must be written. */
  protected startResponse(minor: number, isHead: boolean, keepAlive: boolean, expectContinue: boolean): void {
    this.#minor = minor;
    this.#isHead = isHead;
    this.#keepAlive = keepAlive;
    this.#expectContinue = expectContinue;
    this.#continueSent = false;
    this.headSent = false;
    this.ended = false;
    this.#headOut = undefined;
    this.#drainCb = undefined;
  }

  /** After `end`: the connection reads on or closes. */
  protected abstract finished(): void;

  protected detachWriter(): void {
    this.socket.removeListener('drain', this.#onDrainL);
  }

  writeContinue(): void {
    if (!this.#expectContinue || this.#continueSent || this.headSent) return;
    this.#continueSent = true;
    this.socket.write(CONTINUE, 'latin1');
  }

  writeHead(status: number, reason: string, raw: readonly string[]): boolean {
    if (this.headSent || status < 200 || status > 999) return false;
    let head = `HTTP/1.1 ${status} ${reason || STATUS_CODES[status] || ''}\r\n`;
    let length = false;
    let close = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.length === 14 && name.toLowerCase() === 'content-length') {
        if (status === 204) continue;
        length = true;
      } else if (name.length === 10 && name.toLowerCase() === 'connection') {
        if (/(^|,)\s*close\s*(,|$)/i.test(raw[i + 1]!)) close = true;
        continue;
      }
      head += `${name}: ${raw[i + 1]}\r\n`;
    }
    this.#frame(status, head, length, close);
    return true;
  }

  /**
   * The common response's head, already in wire form (response-parser.ts onWireHead): an HTTP/1.1
   * status line and field lines, hop-by-hop lines cut out; `hasLength`: it holds a Content-Length.
   * Never a 1xx or 204 (their framing rules are writeHead's).
   */
  writeWireHead(status: number, head: string, hasLength: boolean): boolean {
    if (this.headSent || status < 200 || status === 204 || status > 999) return false;
    this.#frame(status, head, hasLength, false);
    return true;
  }

  /** Chooses the framing toward the client (RFC 9112 §6) and holds the finished head back. */
  #frame(status: number, head: string, length: boolean, closeAsked: boolean): void {
    let close = closeAsked || this.closeAfter || !this.#keepAlive;
    if (this.#isHead || status === 204 || status === 304) {
      this.#framing = 'none';
    } else if (length) {
      this.#framing = 'length';
    } else if (this.#minor === 1) {
      this.#framing = 'chunked';
      head += 'Transfer-Encoding: chunked\r\n';
    } else {
      this.#framing = 'close';
      close = true;
    }
    if (close) {
      this.closeAfter = true;
      head += 'Connection: close\r\n\r\n';
    } else {
      head += this.#minor === 0 ? 'Connection: keep-alive\r\n\r\n' : '\r\n';
    }
    this.#headOut = head;
    this.headSent = true;
  }

  /**
   * `chunk` is lent (a dyno's bytes in the shared read buffer, http1/read-buffer.ts), and a socket
   * write keeps what it cannot send at once: a small chunk leaves as one latin1 string with its
   * framing (the string is the copy), a large one as a copy.
   */
  writeBody(chunk: Buffer): boolean {
    if (this.ended || this.#framing === 'none' || chunk.length === 0) return true;
    const s = this.socket;
    const head = this.#headOut ?? '';
    this.#headOut = undefined;
    const chunked = this.#framing === 'chunked';
    if (chunk.length <= SMALL_BODY) {
      const body = chunk.toString('latin1');
      return s.write(chunked ? `${head}${chunk.length.toString(16)}\r\n${body}\r\n` : head + body, 'latin1');
    }
    const copy = Buffer.copyBytesFrom(chunk);
    if (!chunked && head === '') return s.write(copy);
    s.cork();
    s.write(chunked ? `${head}${chunk.length.toString(16)}\r\n` : head, 'latin1');
    let ok = s.write(copy);
    if (chunked) ok = s.write('\r\n', 'latin1');
    s.uncork();
    return ok;
  }

  /** `last` is lent, as writeBody's chunk is. */
  end(last?: Buffer): void {
    if (this.ended) return;
    this.ended = true;
    const s = this.socket;
    const head = this.#headOut ?? '';
    this.#headOut = undefined;
    const body = this.#framing === 'none' || last === undefined ? undefined : last;
    const chunked = this.#framing === 'chunked';
    if (!s.destroyed) {
      if (body === undefined || body.length === 0) {
        const out = chunked ? head + '0\r\n\r\n' : head;
        if (out !== '') s.write(out, 'latin1');
      } else if (body.length <= SMALL_BODY) {
        // Bytes map 1:1 to latin1 chars: one string, one write, one packet for a small response.
        const frame = chunked ? `${body.length.toString(16)}\r\n` : '';
        s.write(head + frame + body.toString('latin1') + (chunked ? '\r\n0\r\n\r\n' : ''), 'latin1');
      } else {
        s.cork();
        s.write(chunked ? `${head}${body.length.toString(16)}\r\n` : head, 'latin1');
        s.write(Buffer.copyBytesFrom(body));
        if (chunked) s.write('\r\n0\r\n\r\n', 'latin1');
        s.uncork();
      }
    }
    this.finished();
  }

  abort(): void {
    this.ended = true;
    this.socket.destroy();
  }

  onDrain(cb: () => void): void {
    this.#drainCb = cb;
  }
}
