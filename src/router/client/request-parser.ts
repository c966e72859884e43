// Step 1 of the request path (design.md §Request path): reads requests off a client connection,
// incrementally, as bytes arrive. Strict wherever a lenient reader would let a client make the
// router and a dyno disagree about where one request ends and the next begins (RFC 9112): bare
// LF, obs-fold, a malformed request line or header, Transfer-Encoding with Content-Length, a
// repeated Content-Length, Host missing, repeated or empty, and bad chunk framing are refused.
// It stops after each head and after each message, so the connection decides when to read on
// (pipelined requests wait their turn, unread, in the client's socket).
import { routerOwnedAt } from '../headers';
import { ChunkedDecoder, type ChunkedFault } from '../http1/chunked';
import { END_OF_HEAD, isDigits, isName, lineEnd, linesWithout, nameBytes, straddles } from '../http1/head-bytes';
import * as chars from '../http1/chars';
import { REQUEST_LIMITS } from './limits';
import { RequestParseError } from './parse-error';
import { requestLine, type RequestLine } from './request-line';

/** Module constants: an imported binding is a property load on every use, ~400 instructions a head. */
const { FIELD, TOKEN } = chars;

export { RequestParseError, type Refusal } from './parse-error';

/** A request head that passed every framing rule; handed to the sink by `execute`. */
export interface RequestHead {
  readonly method: string;
  /** Origin-form, or `*` (OPTIONS); an absolute-form target is rewritten to origin-form. */
  readonly target: string;
  /** From an absolute-form target, else the Host field; '' when an HTTP/1.0 client sent neither. */
  readonly authority: string;
  /** 0 or 1: HTTP/1.0 or HTTP/1.1. */
  readonly minor: number;
  /** Flat [name, value, …]; Host rewritten to `authority` when the target was absolute-form. */
  readonly rawHeaders: string[];
  /** -1: chunked; otherwise the body's length (0: none). */
  readonly length: number;
  /** The connection may carry another request after this one (RFC 9112 §9.3, §6.1). */
  readonly keepAlive: boolean;
  readonly expectContinue: boolean;
  readonly upgrade: string | undefined;
  /** The Connection header's value, for step 6 (fields it names are hop-by-hop). */
  readonly connection: string | undefined;
  /** The header section as received, when every field in it passes to the dyno unchanged (step 6). */
  readonly passThrough: string | undefined;
}

export interface RequestSink {
  /** A head; when its `length` is 0 the message is complete (no onEnd follows). */
  onHead(head: RequestHead): void;
  /** A slice of the body, de-chunked; valid only during the call. */
  onBody(chunk: Buffer): void;
  onEnd(): void;
}

const MAX_RAW = REQUEST_LIMITS.headers * 2;
const HOST_NAME = nameBytes('host');
const EXPECT = nameBytes('expect');
const UPGRADE = nameBytes('upgrade');
const CONNECTION = nameBytes('connection');
const KEEP_ALIVE = nameBytes('keep-alive');
const CLOSE = nameBytes('close');
const CONTENT_LENGTH = nameBytes('content-length');
const TRANSFER_ENCODING = nameBytes('transfer-encoding');
const LF = 0x0a;

const enum S {
  Head,
  Length,
  Chunked,
  /** A message ended; `next()` rearms the parser for the next head. */
  Done,
}

export class RequestParser {
  readonly #sink: RequestSink;
  /** Head bytes held across reads (`#heldLen` of `#held`), grown by doubling: linear time per head. */
  #held: Buffer | undefined;
  #heldLen = 0;
  /** Head bytes scanned or copied: a work count, so a test can show heads cost linear time. */
  #headWork = 0;
  #state = S.Head;
  #remaining = 0;
  /** Made at the first chunked body on the connection, reused by the next ones. */
  #chunked: ChunkedDecoder | undefined;
  /** A read ended on the CR of an empty line before a request line. */
  #leadCr = false;
  /** Bytes of the unfinished head's current line so far (checked as they arrive). */
  #partialLine = 0;

  constructor(sink: RequestSink) {
    this.#sink = sink;
  }

  get headWork(): number {
    return this.#headWork;
  }

  /** True between messages with no byte of the next one held: a silent close is clean here. */
  get idle(): boolean {
    return (this.#state === S.Head && this.#heldLen === 0 && !this.#leadCr) || this.#state === S.Done;
  }

  /** True while a head is being read (after `next`, before `onHead`). */
  get inHead(): boolean {
    return this.#state === S.Head;
  }

  get done(): boolean {
    return this.#state === S.Done;
  }

  /** After `onEnd`: reads the next request's head from the following bytes. */
  next(): void {
    this.#state = S.Head;
  }

  /**
   * Parses `data` from `at`; returns where it stopped: at the end of `data`, right after a head
   * (the caller decides whether to read the body now), or right after a message ended. Throws
   * RequestParseError on a malformed request.
   */
  execute(data: Buffer, at: number): number {
    if (this.#state === S.Head) {
      at = this.#readHead(data, at);
      return at;
    }
    if (this.#state === S.Length) {
      const take = Math.min(this.#remaining, data.length - at);
      this.#remaining -= take;
      if (take > 0) this.#sink.onBody(at === 0 && take === data.length ? data : data.subarray(at, at + take));
      if (this.#remaining === 0) this.#end();
      return at + take;
    }
    if (this.#state === S.Done) return at;
    return this.#readChunked(data, at);
  }

  #readHead(data: Buffer, at: number): number {
    const held = this.#heldLen;
    // Empty lines before a request line are ignored (RFC 9112 §2.2); a CR may end one read and
    // its LF start the next. Bounded in time by the head's deadline like any other head byte.
    if (held === 0) {
      if (this.#leadCr) {
        if (data[at] !== LF) throw malformed('head', 'bare CR');
        this.#leadCr = false;
        at++;
      }
      while (at < data.length && data[at] === 0x0d) {
        if (at + 1 === data.length) {
          this.#leadCr = true;
          return data.length;
        }
        if (data[at + 1] !== LF) break;
        at += 2;
      }
      if (at === data.length) return at;
    }
    let headEnd = -1;
    let next = -1;
    if (held > 0) {
      for (let k = Math.min(3, held); k >= 1 && next === -1; k--) {
        if (straddles(this.#held!, held, k, data, at)) {
          headEnd = held - k;
          next = at + 4 - k;
        }
      }
    }
    if (next === -1) {
      this.#headWork += data.length - at;
      const e = data.indexOf(END_OF_HEAD, at);
      if (e !== -1) {
        headEnd = held + e - at;
        next = e + 4;
      }
    }
    if (next === -1) {
      if (held + data.length - at > REQUEST_LIMITS.headBytes) throw tooLarge('head');
      this.#partialLine = checkPartial(data, at, held > 0 ? this.#held![held - 1]! : -1, this.#partialLine);
      this.#hold(data.subarray(at));
      return data.length;
    }
    if (headEnd > REQUEST_LIMITS.headBytes) throw tooLarge('head');
    let parsed: RequestHead;
    if (held === 0) {
      parsed = this.#parseHead(data, at, at + headEnd);
    } else {
      // Parsed from one buffer: the held bytes with the rest of the head appended through its
      // CRLFCRLF, so a CR stands right after the head there too (the scans stop on it).
      if (next > at) this.#hold(data.subarray(at, next));
      parsed = this.#parseHead(this.#held!, 0, headEnd);
    }
    this.#heldLen = 0;
    this.#partialLine = 0;
    // A big held buffer is dropped; a small one is kept for the next slow head on this connection.
    if (this.#held !== undefined && this.#held.length > 4096) this.#held = undefined;
    this.#startBody(parsed.length);
    this.#sink.onHead(parsed);
    return next;
  }

  #hold(bytes: Buffer): void {
    const need = this.#heldLen + bytes.length;
    if (this.#held === undefined || need > this.#held.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * (this.#held?.length ?? 0), 256));
      if (this.#held !== undefined) this.#headWork += this.#held.copy(grown, 0, 0, this.#heldLen);
      this.#held = grown;
    }
    this.#headWork += bytes.copy(this.#held, this.#heldLen);
    this.#heldLen = need;
  }

  /**
   * Reads the head in `b[start, end)`; `end` is where its CRLFCRLF begins, so the scans of the
   * field lines stop at a CR without a bound check (http1/head-bytes.ts says why bytes, not a string).
   */
  #parseHead(b: Buffer, start: number, end: number): RequestHead {
    const text = b.toString('latin1', start, end);
    let eol = text.indexOf('\r\n');
    if (eol === -1) eol = text.length;
    const line = requestLine(text, eol);
    try {
      return this.#parseFields(b, start, end, text, start + eol, line);
    } catch (err) {
      if (err instanceof RequestParseError) {
        err.method = line.method;
        err.target = line.target;
      }
      throw err;
    }
  }

  #parseFields(b: Buffer, start: number, end: number, text: string, eol: number, line: RequestLine): RequestHead {
    const raw: string[] = [];
    let host: string | undefined;
    let hosts = 0;
    let length: string | undefined;
    let te: string | undefined;
    let connection: string | undefined;
    let expect: string | undefined;
    let upgrade: string | undefined;
    let owned = false;
    /** Lines left out of the head passed on as sent: [start, start of the next line) in `text`. */
    let cuts: number[] | undefined;
    const fieldsAt = eol + 2;
    for (let at = eol + 2; at < end; at = eol + 2) {
      if (raw.length >= MAX_RAW) throw tooLarge('head', 'too many headers');
      // A token, then ':' at once (RFC 9112 §5.1: no space before the colon); obs-fold fails here too.
      let i = at;
      while (TOKEN[b[i]!] === 1) i++;
      const nameLen = i - at;
      if (nameLen > REQUEST_LIMITS.lineBytes) throw tooLarge('head', 'header line');
      if (nameLen === 0 || b[i] !== 0x3a) throw malformed('head', 'header name');
      i++;
      while (b[i] === 0x20 || b[i] === 0x09) i++;
      const from = i;
      // One table read per byte, then the trailing OWS trimmed from the end (cheaper than a
      // second test on every byte).
      while (FIELD[b[i]!] === 1) i++;
      let to = i;
      while (to > from && (b[to - 1] === 0x20 || b[to - 1] === 0x09)) to--;
      if (i - at > REQUEST_LIMITS.lineBytes) throw tooLarge('head', 'header line');
      eol = lineEnd(b, i, end);
      if (eol !== i) throw malformed('head', 'header value');
      const name = text.slice(at - start, at - start + nameLen);
      const value = text.slice(from - start, to - start);
      raw.push(name, value);
      let cut = false;
      switch (nameLen) {
        case 4:
          if (isName(b, at, HOST_NAME)) {
            hosts++;
            host = value;
          }
          break;
        case 6:
          if (isName(b, at, EXPECT)) expect = expect === undefined ? value : `${expect}, ${value}`;
          break;
        case 7:
          if (isName(b, at, UPGRADE)) upgrade = value;
          break;
        case 10:
          if (isName(b, at, CONNECTION)) {
            connection = connection === undefined ? value : `${connection}, ${value}`;
            // The usual `keep-alive` or `close` names no other field: the head can still pass on
            // as sent, without this line (step 6 drops it as hop-by-hop).
            cut = (to - from === 10 && isName(b, from, KEEP_ALIVE)) || (to - from === 5 && isName(b, from, CLOSE));
          }
          break;
        case 14:
          if (isName(b, at, CONTENT_LENGTH)) {
            // RFC 9112 §6.3: a repeated or listed Content-Length is refused, even with equal values.
            if (length !== undefined || !isDigits(b, from, to)) throw malformed('head', 'content-length');
            length = value;
          }
          break;
        case 17:
          if (isName(b, at, TRANSFER_ENCODING)) te = te === undefined ? value : `${te}, ${value}`;
          break;
      }
      if (cut) (cuts ??= []).push(at - start, eol + 2 - start);
      else if (!owned && routerOwnedAt(b, at, nameLen)) owned = true;
    }
    // RFC 9112 §3.2: exactly one Host in HTTP/1.1, and a valid one; HTTP/1.0 may leave it out.
    if (hosts > 1) throw malformed('head', 'repeated host');
    if (hosts === 1 && !validHost(host!)) throw malformed('head', 'host');
    if (hosts === 0 && line.minor === 1) throw malformed('head', 'missing host');
    let authority = host ?? '';
    if (line.authority !== undefined) {
      owned = true;
      // RFC 9112 §3.2.2: the target's authority wins, and the dyno sees it as Host.
      if (!validHost(line.authority)) throw malformed('head', 'target authority');
      authority = line.authority;
      if (hosts === 1) {
        for (let k = 0; k < raw.length; k += 2)
          if (raw[k]!.length === 4 && raw[k]!.toLowerCase() === 'host') raw[k + 1] = authority;
      } else {
        raw.push('Host', authority);
      }
    }
    let keepAlive = line.minor === 1 ? !hasToken(connection, 'close') : hasToken(connection, 'keep-alive');
    let bodyLength = 0;
    if (te !== undefined) {
      // RFC 9112 §6.1: only a plain `chunked` is a framing we can trust; with Content-Length, refused.
      if (length !== undefined) throw malformed('head', 'transfer-encoding with content-length');
      if (te.trim().toLowerCase() !== 'chunked') throw malformed('head', 'transfer-encoding');
      // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing: serve it, then close.
      if (line.minor === 0) keepAlive = false;
      bodyLength = -1;
    } else if (length !== undefined) {
      bodyLength = Number(length);
    }
    // RFC 9110 §10.1.1: 100-continue is the only expectation; an HTTP/1.0 client cannot ask for it.
    let expectContinue = false;
    if (expect !== undefined && expect.trim() !== '') {
      if (expect.trim().toLowerCase() !== '100-continue') throw new RequestParseError('expectation', 'expect', 'head');
      expectContinue = line.minor === 1;
    }
    const upgrading = upgrade !== undefined && line.minor === 1 && hasToken(connection, 'upgrade');
    return {
      method: line.method,
      target: line.target,
      authority,
      minor: line.minor,
      rawHeaders: raw,
      length: bodyLength,
      keepAlive,
      expectContinue,
      upgrade: upgrading ? upgrade : undefined,
      connection,
      passThrough: owned ? undefined : linesWithout(text, fieldsAt - start, cuts),
    };
  }

  #startBody(length: number): void {
    if (length === -1) {
      this.#state = S.Chunked;
      (this.#chunked ??= new ChunkedDecoder(REQUEST_LIMITS)).reset();
    } else if (length === 0) {
      // No body: the head was the whole message (no onEnd).
      this.#state = S.Done;
    } else {
      this.#state = S.Length;
      this.#remaining = length;
    }
  }

  #readChunked(data: Buffer, at: number): number {
    const decoder = this.#chunked!;
    let next = at;
    do {
      next = decoder.decode(data, next);
      if (next === -1) throw refused(decoder.fault!);
      if (decoder.dataEnd > decoder.dataStart) this.#sink.onBody(data.subarray(decoder.dataStart, decoder.dataEnd));
    } while (next < data.length && !decoder.done);
    if (decoder.done) this.#end();
    return next;
  }

  #end(): void {
    this.#state = S.Done;
    this.#sink.onEnd();
  }
}

const tooLarge = (phase: 'head' | 'body', reason = 'head too large'): RequestParseError =>
  new RequestParseError('too-large', reason, phase);
const malformed = (phase: 'head' | 'body', reason: string): RequestParseError =>
  new RequestParseError('malformed', reason, phase);
const refused = (f: ChunkedFault): RequestParseError =>
  new RequestParseError(f.tooLarge ? 'too-large' : 'malformed', f.reason, 'body');

/** Whether a comma-separated field value holds `token` (case-insensitive). */
function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  for (const t of value.split(',')) if (t.trim().toLowerCase() === token) return true;
  return false;
}

/** RFC 9110 §7.2 / RFC 3986 §3.2.2: reg-name or IP-literal, then an optional port. Never empty. */
const HOST = /^(?:[A-Za-z0-9._~!$&'()*+,;=%-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{0,5})?$/;
function validHost(v: string): boolean {
  return v.length > 0 && v.length <= 1024 && HOST.test(v);
}

/**
 * Checks an unfinished head as it arrives, so a slow client is refused as soon as it breaks a
 * rule: a bare LF (RFC 9112 §2.2), or a line already longer than the line limit (431 at once,
 * not after the whole head budget). `before` is the byte preceding `from` (-1 at the start);
 * `lineSoFar` the current line's length before this read. Returns it after this read.
 */
function checkPartial(buf: Buffer, from: number, before: number, lineSoFar: number): number {
  let i = buf.indexOf(LF, from);
  let lastEol = -1;
  while (i !== -1) {
    if ((i === from ? before : buf[i - 1]) !== 0x0d) throw malformed('head', 'bare LF');
    lastEol = i;
    i = buf.indexOf(LF, i + 1);
  }
  const line = lastEol === -1 ? lineSoFar + buf.length - from : buf.length - lastEol - 1;
  if (line > REQUEST_LIMITS.lineBytes + 2) throw tooLarge('head', 'line too long');
  return line;
}
