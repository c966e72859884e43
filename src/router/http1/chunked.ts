// The chunked transfer coding (RFC 9112 §7.1) for both HTTP/1.1 readers of the request path
// (design.md §Request path, steps 1 and 7): the client's request body and the dyno's response body
// are de-chunked by this one byte state machine, so the router and a dyno can never disagree about
// where a body ends because two readers drifted apart. Strict: a size that is not hex, a bare CR or
// LF, a missing CRLF after chunk data, a control byte in an extension or trailer are refused, and
// every unbounded part (size digits, extensions, trailer section) has a named limit.
//
// Hot path: state lives in fields, body bytes are handed back as offsets into the input (each
// parser slices them for its own sink, a call site that sees one kind of sink), a refusal is a
// preallocated value; nothing is allocated or closed over per byte or per chunk.

/** The bounds one body must keep; REQUEST_LIMITS and RESPONSE_LIMITS are both of this shape. */
export interface ChunkedLimits {
  /** Hex digits of one chunk size. */
  readonly chunkSizeDigits: number;
  /** Bytes of one chunk's extensions (ignored, RFC 9112 §7.1.1). */
  readonly chunkExtBytes: number;
  /** Bytes of the trailer section (dropped, never forwarded): bounded like a head. */
  readonly headBytes: number;
}

/** Why a body was refused; each parser turns it into its own error (H26/431 or H18). */
export interface ChunkedFault {
  readonly reason: string;
  /** A limit was passed (the request side answers 431 rather than 400). */
  readonly tooLarge: boolean;
}

const fault = (reason: string, tooLarge = false): ChunkedFault => Object.freeze({ reason, tooLarge });
const BAD_SIZE = fault('chunk size');
const BAD_SIZE_LINE = fault('chunk size line');
const BAD_EXT = fault('chunk extension');
const LONG_EXT = fault('chunk extension', true);
const BAD_DATA_END = fault('chunk data end');
const BAD_TRAILER = fault('trailer');
const LONG_TRAILER = fault('trailer', true);

const CR = 0x0d;
const LF = 0x0a;
const HTAB = 0x09;
const SP = 0x20;
const SEMICOLON = 0x3b;
const DEL = 0x7f;

const enum State {
  Size,
  SizeLf,
  Ext,
  Data,
  DataCr,
  DataLf,
  Trailer,
  TrailerLf,
  Done,
}

export class ChunkedDecoder {
  readonly #limits: ChunkedLimits;
  #state = State.Size;
  /** Data bytes left in the current chunk (its size while the size line is read). */
  #remaining = 0;
  #digits = 0;
  #extBytes = 0;
  /** Bytes of the current trailer line: 0 at its CRLF means the empty line that ends the body. */
  #lineBytes = 0;
  #trailerBytes = 0;
  /** Set when `decode` returned -1: why the body was refused. */
  fault: ChunkedFault | undefined;
  /** After `decode`: the body bytes it stopped after, `data[dataStart, dataEnd)`; empty when none. */
  dataStart = 0;
  dataEnd = 0;

  constructor(limits: ChunkedLimits) {
    this.#limits = limits;
  }

  /** The empty line after the trailer section was read: the body is over. */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /** Ready for a new body. */
  reset(): void {
    this.#state = State.Size;
    this.#remaining = 0;
    this.#digits = 0;
    this.fault = undefined;
  }

  /**
   * Decodes `data` from `at`; returns where it stopped: just after a run of body bytes (`dataStart`
   * to `dataEnd`, for the caller's sink), the end of `data`, just past the body's last CRLF (`done`),
   * or -1 when the framing is refused (`fault` says why).
   */
  decode(data: Buffer, at: number): number {
    let i = at;
    this.dataEnd = this.dataStart;
    while (i < data.length) {
      const b = data[i]!;
      switch (this.#state) {
        case State.Size: {
          const v = hexValue(b);
          if (v >= 0) {
            if (++this.#digits > this.#limits.chunkSizeDigits) return this.#refuse(BAD_SIZE);
            this.#remaining = this.#remaining * 16 + v;
          } else if (this.#digits === 0) {
            return this.#refuse(BAD_SIZE);
          } else if (b === CR) {
            this.#state = State.SizeLf;
          } else if (b === SEMICOLON || b === SP || b === HTAB) {
            this.#state = State.Ext;
            this.#extBytes = 0;
          } else {
            return this.#refuse(BAD_SIZE);
          }
          i++;
          break;
        }
        case State.Ext:
          // Extensions are ignored (RFC 9112 §7.1.1), bounded, and never a bare LF or control byte.
          if (b === CR) this.#state = State.SizeLf;
          else if (isControl(b)) return this.#refuse(BAD_EXT);
          else if (++this.#extBytes > this.#limits.chunkExtBytes) return this.#refuse(LONG_EXT);
          i++;
          break;
        case State.SizeLf:
          if (b !== LF) return this.#refuse(BAD_SIZE_LINE);
          i++;
          this.#digits = 0;
          if (this.#remaining === 0) {
            this.#state = State.Trailer;
            this.#lineBytes = 0;
            this.#trailerBytes = 0;
          } else {
            this.#state = State.Data;
          }
          break;
        case State.Data: {
          const take = Math.min(this.#remaining, data.length - i);
          this.dataStart = i;
          this.dataEnd = i + take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = State.DataCr;
          return i + take;
        }
        case State.DataCr:
          // The CRLF after chunk data is required: without it a reader may take data for a size.
          if (b !== CR) return this.#refuse(BAD_DATA_END);
          this.#state = State.DataLf;
          i++;
          break;
        case State.DataLf:
          if (b !== LF) return this.#refuse(BAD_DATA_END);
          this.#state = State.Size;
          i++;
          break;
        case State.Trailer:
          if (b === CR) this.#state = State.TrailerLf;
          else if (isControl(b)) return this.#refuse(BAD_TRAILER);
          else if (++this.#trailerBytes > this.#limits.headBytes) return this.#refuse(LONG_TRAILER);
          else this.#lineBytes++;
          i++;
          break;
        case State.TrailerLf:
          if (b !== LF) return this.#refuse(BAD_TRAILER);
          i++;
          if (this.#lineBytes === 0) {
            this.#state = State.Done;
            return i;
          }
          this.#lineBytes = 0;
          this.#state = State.Trailer;
          break;
        case State.Done:
          return i;
      }
    }
    return i;
  }

  #refuse(f: ChunkedFault): number {
    this.fault = f;
    return -1;
  }
}

/** A byte no extension or trailer line may hold: LF (bare) or another control byte but HTAB. */
const isControl = (b: number): boolean => (b < SP && b !== HTAB) || b === DEL;

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}
