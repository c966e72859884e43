// Step 7 of the request path (design.md §Request path): reads one dyno response off a keep-alive connection,
// incrementally, as bytes arrive. Strict where a lenient reader would let a dyno confuse the
// router about where one response ends and the next begins (RFC 9112): bare LF, obs-fold,
// a malformed status line or header, conflicting Content-Length, or bad chunk framing are
// refused as a malformed response (H17 before the head is complete, H18 after). It decides the
// body's framing (RFC 9112 §6.3) and whether the connection may carry another request.
import { ChunkedDecoder } from '../http1/chunked';

/** What the parser hands on; each callback runs synchronously inside `execute`. */
export interface ResponseSink {
  /**
   * A final (≥ 200, or 101) response head; `rawHeaders` is a flat [name, value, …] list, without
   * Content-Length when Transfer-Encoding overrides it (a forwarder must drop it, RFC 9112 §6.3),
   * and with a single Content-Length field where the dyno sent a list or repeat of one value.
   */
  onHead(status: number, reason: string, rawHeaders: string[]): void;
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

/** RFC 9110 §5.1 tchar. */
const TOKEN = charTable((c) => /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(String.fromCharCode(c)));
/** RFC 9110 §5.5 field-value and reason-phrase chars: HTAB, SP, VCHAR, obs-text; never CR, LF or NUL. */
const FIELD = charTable((c) => c === 0x09 || (c >= 0x20 && c !== 0x7f));
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
    let head: string;
    if (held === 0) head = data.toString('latin1', at, at + headEnd);
    else if (headEnd <= held) head = this.#held!.toString('latin1', 0, headEnd);
    else head = this.#held!.toString('latin1', 0, held) + data.toString('latin1', at, at + headEnd - held);
    this.#heldLen = 0;
    this.#held = undefined;
    this.#parseHead(head);
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

  #parseHead(head: string): void {
    // Lines split on CRLF only: a bare CR or LF left inside a line fails the character checks.
    let eol = head.indexOf('\r\n');
    if (eol === -1) eol = head.length;
    const status = statusOf(head, eol);
    if (status === -1) throw new ResponseParseError('status line', 'head');
    const minor = head.charCodeAt(7);
    const reason = eol > 13 ? head.slice(13, eol) : '';
    const raw: string[] = [];
    let length: string | undefined;
    /** Content-Length fields seen, and whether one was a list: then the head passed on is rewritten. */
    let lengthFields = 0;
    let lengthList = false;
    let te: string | undefined;
    let connection = '';
    for (let at = eol + 2; at < head.length; at = eol + 2) {
      eol = head.indexOf('\r\n', at);
      if (eol === -1) eol = head.length;
      if (raw.length >= RESPONSE_LIMITS.headers * 2) throw new ResponseParseError('too many headers', 'head');
      // RFC 9110 §5.1 token, then field-value chars (VCHAR, SP, HTAB, obs-text). obs-fold (a line
      // starting with SP or HTAB) fails the token rule here, as it should.
      let i = at;
      while (i < eol && TOKEN[head.charCodeAt(i)] === 1) i++;
      if (i === at || i === eol || head.charCodeAt(i) !== 0x3a) throw new ResponseParseError('header name', 'head');
      const name = head.slice(at, i);
      i++;
      while (i < eol && isOws(head.charCodeAt(i))) i++;
      const from = i;
      let to = i;
      for (; i < eol; i++) {
        const c = head.charCodeAt(i);
        if (FIELD[c] !== 1) throw new ResponseParseError('header value', 'head');
        if (!isOws(c)) to = i + 1;
      }
      const value = head.slice(from, to);
      raw.push(name, value);
      switch (name.length) {
        case 10: {
          const lower = name.toLowerCase();
          if (lower === 'connection') connection += (connection ? ',' : '') + value.toLowerCase();
          else if (lower === 'keep-alive') this.#keepAliveS = keepAliveTimeout(value);
          break;
        }
        case 14:
          if (name.toLowerCase() === 'content-length') {
            lengthFields++;
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
          if (name.toLowerCase() === 'transfer-encoding') te = te === undefined ? value : `${te}, ${value}`;
          break;
      }
    }
    // 1xx interim responses (100, 103) are skipped; the final head follows on the same bytes.
    if (status < 200 && status !== 101) {
      if (++this.#interim > RESPONSE_LIMITS.interimHeads)
        throw new ResponseParseError('too many interim responses', 'head');
      return;
    }
    this.#inHead = false;
    this.#keepAlive =
      minor === 0x31 ? !/(^|,)\s*close\s*(,|$)/.test(connection) : /(^|,)\s*keep-alive\s*(,|$)/.test(connection);
    if (te !== undefined) {
      // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; close after this message.
      if (minor === 0x30) this.#keepAlive = false;
      // Forwarded with the de-chunked body, a stale Content-Length would misframe the client's
      // connection (response splitting); RFC 9112 §6.3 says to remove it.
      if (lengthFields > 0) keepOneLength(raw, undefined);
    } else if (lengthFields > 1 || lengthList) {
      // `5, 5` or a repeated field: one length (RFC 9110 §8.6), passed on as one field, since
      // clients refuse the list form.
      keepOneLength(raw, length);
    }
    // A final coding other than chunked (`gzip`) runs to the close with the coding kept, which
    // step 6 drops as hop-by-hop: the client would get an undecodable body. Refused (H17).
    if (te !== undefined && !/(^|,)\s*chunked\s*$/i.test(te))
      throw new ResponseParseError('transfer-encoding without chunked', 'head');
    this.#sink.onHead(status, reason, raw);
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

function charTable(ok: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = ok(c) ? 1 : 0;
  return t;
}

const isOws = (c: number): boolean => c === 0x20 || c === 0x09;

/** `HTTP/1.x NNN[ reason]` (RFC 9112 §4): the status code, or -1 when the line is malformed. */
function statusOf(head: string, eol: number): number {
  if (eol < 12 || !head.startsWith('HTTP/1.', 0)) return -1;
  const minor = head.charCodeAt(7);
  if ((minor !== 0x30 && minor !== 0x31) || head.charCodeAt(8) !== 0x20) return -1;
  const d1 = head.charCodeAt(9) - 0x30;
  const d2 = head.charCodeAt(10) - 0x30;
  const d3 = head.charCodeAt(11) - 0x30;
  if (d1 < 1 || d1 > 9 || d2 < 0 || d2 > 9 || d3 < 0 || d3 > 9) return -1;
  if (eol > 12) {
    if (head.charCodeAt(12) !== 0x20) return -1;
    for (let i = 13; i < eol; i++) if (FIELD[head.charCodeAt(i)] !== 1) return -1;
  }
  return d1 * 100 + d2 * 10 + d3;
}

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

const TERMINATOR = [0x0d, 0x0a, 0x0d, 0x0a];
/** CRLFCRLF as a Buffer: a string needle is converted on every search. */
const END_OF_HEAD = Buffer.from(TERMINATOR);

/** Whether CRLFCRLF starts `inHeld` bytes before the end of the `heldLen` held and runs on into `data[at]`. */
function straddles(held: Buffer, heldLen: number, inHeld: number, data: Buffer, at: number): boolean {
  for (let i = 0; i < 4; i++) {
    const b = i < inHeld ? held[heldLen - inHeld + i] : data[at + i - inHeld];
    if (b !== TERMINATOR[i]) return false;
  }
  return true;
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
