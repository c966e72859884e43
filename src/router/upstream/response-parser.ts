// Step 7 of the request path (design.md §Request path): reads one dyno response off a keep-alive connection,
// incrementally, as bytes arrive. Strict where a lenient reader would let a dyno confuse the
// router about where one response ends and the next begins (RFC 9112): bare LF, obs-fold,
// a malformed status line or header, conflicting Content-Length, or bad chunk framing are
// refused as a malformed response (H17 before the head is complete, H18 after). It decides the
// body's framing (RFC 9112 §6.3) and whether the connection may carry another request.
import { ChunkedDecoder } from '../http1/chunked';
import * as chars from '../http1/chars';
import { hopByHopAt } from '../headers';
import {
  END_OF_HEAD,
  fieldList,
  isDigits,
  isName,
  lineEnd,
  linesWithout,
  nameBytes,
  straddles,
} from '../http1/head-bytes';

/** Module constants: an imported binding is a property load on every use, ~400 instructions a head. */
const { FIELD, TOKEN } = chars;

/** What the parser hands on; each callback runs synchronously inside `execute`. */
export interface ResponseSink {
  /**
   * A final (≥ 200, or 101) response head; `rawHeaders` is a flat [name, value, …] list, without
   * Content-Length when Transfer-Encoding overrides it (a forwarder must drop it, RFC 9112 §6.3),
   * and with a single Content-Length field where the dyno sent a list or repeat of one value.
   */
  onHead(status: number, reason: string, rawHeaders: string[]): void;
  /**
   * Optional, the common case's shortcut: the head as the dyno sent it (status line and field
   * lines, each ending in CRLF, no empty line) with its Connection, Keep-Alive and
   * Transfer-Encoding lines cut out, when nothing else in it needs changing; `hasLength`: it
   * keeps one Content-Length. Answers false to get `onHead` instead.
   */
  onWireHead?(status: number, head: string, hasLength: boolean): boolean;
  /** A slice of the body, already de-chunked; valid only during the call. */
  onBody(chunk: Buffer): void;
  /** The response ended; `reusable` says whether the connection may carry another request. */
  onEnd(reusable: boolean): void;
}

/** Why a response was refused; `phase` says whether a head had been delivered yet. */
export class ResponseParseError extends Error {
  constructor(
    readonly reason: string,
    readonly phase: 'head' | 'body',
  ) {
    super(`malformed response ${phase}: ${reason}`);
  }
}

/** Bounds on what one response may make us hold before it is refused. */
export const RESPONSE_LIMITS = Object.freeze({
  /** The head, and the trailer section of a chunked body. */
  headBytes: 64 * 1024,
  headers: 200,
  /** Hex digits of a chunk size, and bytes of one chunk's extensions: as a client's (client/limits.ts). */
  chunkSizeDigits: 12,
  chunkExtBytes: 4 * 1024,
  /** 1xx interim heads (100, 103) before the final one: a dyno streaming them endlessly is H17. */
  interimHeads: 16,
});

const DIGITS = /^[0-9]{1,15}$/;
const CRLF = 0x0a;

type Framing = 'none' | 'length' | 'chunked' | 'close';

export class ResponseParser {
  #sink: ResponseSink;
  /** The request was HEAD: the response has no body whatever its headers say. */
  #head: boolean;
  /**
   * Head bytes received so far when a head spans reads: `#heldLen` bytes of `#held`, which grows
   * by doubling, so a head trickling in a byte at a time costs linear time, not quadratic.
   */
  #held: Buffer | undefined;
  #heldLen = 0;
  /** Head bytes scanned or copied so far: a work count, so a test can show heads cost linear time. */
  #headWork = 0;
  #inHead = true;
  #framing: Framing = 'none';
  #remaining = 0;
  #keepAlive = true;
  #keepAliveS: number | undefined;
  /** Made only for a chunked body (a parser reads one response). */
  #chunked: ChunkedDecoder | undefined;
  #done = false;
  #interim = 0;

  constructor(sink: ResponseSink, requestWasHead: boolean) {
    this.#sink = sink;
    this.#head = requestWasHead;
  }

  /** The dyno's `Keep-Alive: timeout=N` (seconds), when its last response said so. */
  get keepAliveTimeoutS(): number | undefined {
    return this.#keepAliveS;
  }

  /** Head bytes scanned or copied so far (see #headWork). */
  get headWork(): number {
    return this.#headWork;
  }

  get done(): boolean {
    return this.#done;
  }

  /**
   * Parses `data`; returns the bytes past the end of the response (a well-behaved dyno sends
   * none: the caller must not reuse a connection that had some), or undefined. Throws
   * ResponseParseError on a malformed response.
   */
  execute(data: Buffer): Buffer | undefined {
    let at = 0;
    while (at < data.length && !this.#done) {
      if (this.#inHead) at = this.#readHead(data, at);
      else at = this.#readBody(data, at);
    }
    return at < data.length ? data.subarray(at) : undefined;
  }

  /** The dyno closed the connection: the end of a close-delimited body, else a truncation. */
  finish(): boolean {
    if (this.#done) return true;
    if (!this.#inHead && this.#framing === 'close') {
      this.#end(false);
      return true;
    }
    return false;
  }

  #readHead(data: Buffer, at: number): number {
    const held = this.#heldLen;
    // Where the head ends: the CRLFCRLF may straddle what is held and `data`, else lies in `data`.
    let headEnd = -1;
    let next = -1;
    if (held > 0) {
      // The last 1–3 bytes held may begin the CRLFCRLF.
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
      if (held + data.length - at > RESPONSE_LIMITS.headBytes) throw new ResponseParseError('head too large', 'head');
      checkLineEnds(data, at, data.length, held > 0 ? this.#held![held - 1]! : -1);
      this.#hold(data.subarray(at));
      return data.length;
    }
    if (headEnd > RESPONSE_LIMITS.headBytes) throw new ResponseParseError('head too large', 'head');
    if (held === 0) {
      this.#parseHead(data, at, at + headEnd);
    } else {
      // The head is parsed from one buffer: the held bytes, with the rest of it appended through
      // its CRLFCRLF, so a CR stands right after the head there too (the parse stops on it).
      if (next > at) this.#hold(data.subarray(at, next));
      const buf = this.#held!;
      this.#heldLen = 0;
      this.#held = undefined;
      this.#parseHead(buf, 0, headEnd);
    }
    if (
      !this.#inHead &&
      !this.#done &&
      (this.#framing === 'none' || (this.#framing === 'length' && this.#remaining === 0))
    )
      this.#end(this.#keepAlive);
    return next;
  }

  /** Appends to the held head bytes (copied: `data` is only lent to us for the call). */
  #hold(bytes: Buffer): void {
    const need = this.#heldLen + bytes.length;
    if (this.#held === undefined || need > this.#held.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * (this.#held?.length ?? 0), 1024));
      if (this.#held !== undefined) this.#headWork += this.#held.copy(grown, 0, 0, this.#heldLen);
      this.#held = grown;
    }
    this.#headWork += bytes.copy(this.#held, this.#heldLen);
    this.#heldLen = need;
  }

  /**
   * Reads the head in `b[start, end)`; `end` is where its CRLFCRLF begins, so every scan below
   * stops at a CR without a bound check. The bytes are checked where they lie, one table read
   * each (charCodeAt on a string made first cost more per byte); the head becomes one string, and
   * the fields are slices of it.
   */
  #parseHead(b: Buffer, start: number, end: number): void {
    const text = b.toString('latin1', start, end);
    // Lines end in CRLF only: a bare CR or LF inside a line fails the character checks.
    let i = start;
    while (i < end && FIELD[b[i]!] === 1) i++;
    let eol = lineEnd(b, i, end);
    const status = statusOf(b, start, eol);
    if (status === -1) throw new ResponseParseError('status line', 'head');
    const minor = b[start + 7];
    const reason = eol - start > 13 ? text.slice(13, eol - start) : '';
    let length: string | undefined;
    /** Content-Length fields seen, and whether one was a list: then the head passed on is rewritten. */
    let lengthFields = 0;
    let lengthList = false;
    let te: string | undefined;
    let connection = '';
    let fields = 0;
    /** A hop-by-hop field other than Connection, Keep-Alive and Transfer-Encoding (rare). */
    let otherHop = false;
    /** Connection, Keep-Alive and Transfer-Encoding lines: [start, start of the next line) in `text`. */
    let cuts: number[] | undefined;
    const fieldsAt = eol + 2 - start;
    for (let at = eol + 2; at < end; at = eol + 2) {
      if (++fields > RESPONSE_LIMITS.headers) throw new ResponseParseError('too many headers', 'head');
      // RFC 9110 §5.1 token, then field-value chars (VCHAR, SP, HTAB, obs-text). obs-fold (a line
      // starting with SP or HTAB) fails the token rule here, as it should.
      i = at;
      while (TOKEN[b[i]!] === 1) i++;
      if (i === at || b[i] !== 0x3a) throw new ResponseParseError('header name', 'head');
      const nameLen = i - at;
      i++;
      while (b[i] === 0x20 || b[i] === 0x09) i++;
      const from = i;
      // One table read per byte, then the trailing OWS trimmed from the end (cheaper than a
      // second test on every byte).
      while (FIELD[b[i]!] === 1) i++;
      let to = i;
      while (to > from && (b[to - 1] === 0x20 || b[to - 1] === 0x09)) to--;
      eol = lineEnd(b, i, end);
      if (eol !== i) throw new ResponseParseError('header value', 'head');
      // Only the fields that decide framing and reuse become strings here; the others pass on
      // as part of the head's text, or as a list made after the loop (fieldList).
      let cut = false;
      switch (nameLen) {
        case 10:
          if (isName(b, at, CONNECTION)) {
            const v =
              to - from === 10 && isName(b, from, KEEP_ALIVE)
                ? 'keep-alive'
                : text.slice(from - start, to - start).toLowerCase();
            connection += (connection ? ',' : '') + v;
            cut = true;
          } else if (isName(b, at, KEEP_ALIVE)) {
            this.#keepAliveS = keepAliveTimeout(text.slice(from - start, to - start));
            cut = true;
          }
          break;
        case 14:
          if (isName(b, at, CONTENT_LENGTH)) {
            lengthFields++;
            const value = text.slice(from - start, to - start);
            if (length === undefined && isDigits(b, from, to)) {
              // The usual single decimal length: no list to split.
              length = value;
              break;
            }
            // RFC 9110 §8.6: a list of identical values is one length; anything else is refused.
            for (const v of value.split(',')) {
              const t = v.trim();
              if (!DIGITS.test(t) || (length !== undefined && length !== t))
                throw new ResponseParseError('content-length', 'head');
              length = t;
            }
            if (value !== length) lengthList = true;
          }
          break;
        case 17:
          if (isName(b, at, TRANSFER_ENCODING)) {
            const value = text.slice(from - start, to - start);
            te = te === undefined ? value : `${te}, ${value}`;
            cut = true;
          }
          break;
        default:
          if (!otherHop && hopByHopAt(b, at, nameLen)) otherHop = true;
      }
      if (cut) (cuts ??= []).push(at - start, eol + 2 - start);
    }
    // 1xx interim responses (100, 103) are skipped; the final head follows on the same bytes.
    if (status < 200 && status !== 101) {
      if (++this.#interim > RESPONSE_LIMITS.interimHeads)
        throw new ResponseParseError('too many interim responses', 'head');
      return;
    }
    this.#inHead = false;
    // The usual `keep-alive` (or nothing) needs no pattern.
    this.#keepAlive =
      minor === 0x31
        ? connection === '' || connection === 'keep-alive' || !/(^|,)\s*close\s*(,|$)/.test(connection)
        : /(^|,)\s*keep-alive\s*(,|$)/.test(connection);
    if (te !== undefined && minor === 0x30) {
      // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; close after this message.
      this.#keepAlive = false;
    }
    // A final coding other than chunked (`gzip`) runs to the close with the coding kept, which
    // step 6 drops as hop-by-hop: the client would get an undecodable body. Refused (H17).
    if (te !== undefined && !/(^|,)\s*chunked\s*$/i.test(te))
      throw new ResponseParseError('transfer-encoding without chunked', 'head');
    // The common head goes on as the dyno wrote it, its hop-by-hop lines cut out (step 6): an
    // HTTP/1.1 status line with a reason, no hop-by-hop field but Connection (naming nothing
    // else), Keep-Alive and a plain chunked Transfer-Encoding, at most one plain Content-Length.
    const asSent =
      this.#sink.onWireHead !== undefined &&
      minor === 0x31 &&
      reason !== '' &&
      status !== 101 &&
      status !== 204 &&
      !otherHop &&
      !lengthList &&
      (connection === '' || connection === 'keep-alive' || connection === 'close') &&
      (te === undefined ? lengthFields <= 1 : lengthFields === 0 && te.toLowerCase() === 'chunked');
    if (!asSent || !this.#sink.onWireHead!(status, linesWithout(text, 0, cuts), lengthFields > 0)) {
      const raw = fieldList(text, fieldsAt);
      if (te !== undefined) {
        // Forwarded with the de-chunked body, a stale Content-Length would misframe the client's
        // connection (response splitting); RFC 9112 §6.3 says to remove it.
        if (lengthFields > 0) keepOneLength(raw, undefined);
      } else if (lengthFields > 1 || lengthList) {
        // `5, 5` or a repeated field: one length (RFC 9110 §8.6), passed on as one field, since
        // clients refuse the list form.
        keepOneLength(raw, length);
      }
      this.#sink.onHead(status, reason, raw);
    }
    if (this.#done) return;
    if (this.#head || status === 204 || status === 304 || status === 101) {
      this.#framing = 'none';
      // After a 101 the connection belongs to the new protocol, never to the pool.
      if (status === 101) this.#keepAlive = false;
    } else if (te !== undefined) {
      // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; a message carrying both is not reused.
      const codings = te.toLowerCase().split(',');
      const last = codings[codings.length - 1]!.trim();
      if (last !== 'chunked') throw new ResponseParseError('transfer-encoding without chunked', 'head');
      this.#framing = 'chunked';
      this.#chunked = new ChunkedDecoder(RESPONSE_LIMITS);
      if (length !== undefined) this.#keepAlive = false;
    } else if (length !== undefined) {
      this.#framing = 'length';
      this.#remaining = Number(length);
    } else {
      this.#framing = 'close';
    }
    if (this.#framing === 'close') this.#keepAlive = false;
  }

  #readBody(data: Buffer, at: number): number {
    switch (this.#framing) {
      case 'length': {
        const take = Math.min(this.#remaining, data.length - at);
        this.#remaining -= take;
        const end = at + take;
        this.#sink.onBody(at === 0 && end === data.length ? data : data.subarray(at, end));
        if (this.#remaining === 0) this.#end(this.#keepAlive);
        return end;
      }
      case 'close':
        this.#sink.onBody(at === 0 ? data : data.subarray(at));
        return data.length;
      case 'chunked':
        return this.#readChunked(data, at);
      default:
        return at;
    }
  }

  #readChunked(data: Buffer, at: number): number {
    const decoder = this.#chunked!;
    let next = at;
    do {
      next = decoder.decode(data, next);
      if (next === -1) throw new ResponseParseError(decoder.fault!.reason, 'body');
      if (decoder.dataEnd > decoder.dataStart) this.#sink.onBody(data.subarray(decoder.dataStart, decoder.dataEnd));
    } while (next < data.length && !decoder.done);
    if (decoder.done) this.#end(this.#keepAlive);
    return next;
  }

  #end(reusable: boolean): void {
    this.#done = true;
    this.#sink.onEnd(reusable);
  }
}

const HTTP_1 = Buffer.from('HTTP/1.', 'latin1');

/** `HTTP/1.x NNN[ reason]` (RFC 9112 §4) in `b[start, eol)`: the status code, or -1 when malformed. */
function statusOf(b: Buffer, start: number, eol: number): number {
  if (eol - start < 12) return -1;
  for (let k = 0; k < HTTP_1.length; k++) if (b[start + k] !== HTTP_1[k]) return -1;
  const minor = b[start + 7];
  if ((minor !== 0x30 && minor !== 0x31) || b[start + 8] !== 0x20) return -1;
  const d1 = b[start + 9]! - 0x30;
  const d2 = b[start + 10]! - 0x30;
  const d3 = b[start + 11]! - 0x30;
  if (d1 < 1 || d1 > 9 || d2 < 0 || d2 > 9 || d3 < 0 || d3 > 9) return -1;
  // The reason phrase's bytes were checked while its line's end was found.
  if (eol - start > 12 && b[start + 12] !== 0x20) return -1;
  return d1 * 100 + d2 * 10 + d3;
}

const CONNECTION = nameBytes('connection');
const KEEP_ALIVE = nameBytes('keep-alive');
const CONTENT_LENGTH = nameBytes('content-length');
const TRANSFER_ENCODING = nameBytes('transfer-encoding');

/** Rewrites `raw` in place with its Content-Length fields as one field of `length`, or none. */
function keepOneLength(raw: string[], length: string | undefined): void {
  let out = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 14 && raw[i]!.toLowerCase() === 'content-length') {
      if (length === undefined) continue;
      raw[i + 1] = length;
      length = undefined;
    }
    raw[out++] = raw[i]!;
    raw[out++] = raw[i + 1]!;
  }
  raw.length = out;
}

/** `timeout=N` of a Keep-Alive header (RFC 2068 §19.7.1.1), in seconds; undefined when absent or odd. */
function keepAliveTimeout(value: string): number | undefined {
  const m = /(?:^|[,;\s])timeout\s*=\s*(\d{1,6})(?:$|[,;\s])/i.exec(value);
  return m === null ? undefined : Number(m[1]);
}

/**
 * Refuses a head that uses a bare LF before it is complete; `before` is the byte preceding
 * `from` (-1 at the start of the head).
 */
function checkLineEnds(buf: Buffer, from: number, to: number, before: number): void {
  let i = buf.indexOf(CRLF, from);
  while (i !== -1 && i < to) {
    if ((i === from ? before : buf[i - 1]) !== 0x0d) throw new ResponseParseError('bare LF', 'head');
    i = buf.indexOf(CRLF, i + 1);
  }
}
