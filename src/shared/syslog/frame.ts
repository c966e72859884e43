// RFC 6587 framing as a Buffer state machine. Over TCP a frame is either
// octet-counted (§3.4.1, `MSG-LEN SP SYSLOG-MSG`) or, when it does not start with a digit,
// LF-terminated (§3.4.2, non-transparent framing). HTTP `application/logplex-1` bodies are
// octet-counted only (design.md §Ingest).
//
// Bounds: the splitter never holds more than maxFrame bytes of one frame (+1 byte in line mode,
// to see a trailing CR). A longer frame is emitted TRUNCATED to maxFrame bytes with
// truncated=true, and the rest of it is skipped as it streams by, never buffered.
//
// Resync rule: after a bad length prefix over TCP the splitter skips to the next LF and starts a
// new frame after it; the bytes skipped are lost (reported once by onError).

/** design.md §Ingest: a frame is at most 10 KiB. */
export const MAX_FRAME = 10 * 1024;

/** RFC 6587 MSG-LEN is NONZERO-DIGIT *DIGIT; we refuse more than 10 digits as absurd. */
const MAX_LEN_DIGITS = 10;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const D0 = 0x30;
const D9 = 0x39;

export type FrameErrorCode = 'SY_FRAME_LENGTH' | 'SY_FRAME_TRUNCATED_BODY' | 'SY_FRAME_SEPARATOR';

export class FrameError extends Error {
  readonly code: FrameErrorCode;
  /** Byte offset in the stream (or body) where the problem was seen. */
  readonly offset: number;
  constructor(code: FrameErrorCode, offset: number, message: string) {
    super(message);
    this.name = 'FrameError';
    this.code = code;
    this.offset = offset;
  }
}

export interface FrameSplitterOptions {
  maxFrame?: number;
  /** `frame` may be a slice of a pushed chunk: copy (or decode) what outlives the call. */
  onFrame: (frame: Buffer, truncated: boolean) => void;
  onError: (err: FrameError) => void;
  /** false: octet counting only, a frame starting with a non-digit is SY_FRAME_LENGTH (HTTP bodies). */
  lines?: boolean;
}

// start: between frames; length: reading MSG-LEN digits; body: collecting an octet-counted frame;
// skip: discarding the tail of an oversize octet-counted frame; line: collecting an LF-terminated
// frame; drop-line: discarding to the next LF (oversize line, or resync after an error).
type State = 'start' | 'length' | 'body' | 'skip' | 'line' | 'drop-line';

export class FrameSplitter {
  readonly #max: number;
  readonly #lines: boolean;
  readonly #onFrame: (frame: Buffer, truncated: boolean) => void;
  readonly #onError: (err: FrameError) => void;
  #state: State = 'start';
  #parts: Buffer[] = [];
  #held = 0;
  #digits = 0;
  #len = 0;
  #keep = 0; // body bytes to keep (min(len, max))
  #skip = 0; // body bytes to discard after the kept ones
  #base = 0; // stream offset of the current chunk's first byte

  constructor(opts: FrameSplitterOptions) {
    this.#max = opts.maxFrame ?? MAX_FRAME;
    if (!Number.isInteger(this.#max) || this.#max < 1)
      throw new RangeError(`maxFrame must be a positive integer, got ${this.#max}`);
    this.#lines = opts.lines ?? true;
    this.#onFrame = opts.onFrame;
    this.#onError = opts.onError;
  }

  /** Bytes held now: at most maxFrame + 1. */
  get buffered(): number {
    return this.#held;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      switch (this.#state) {
        case 'start': {
          const b = chunk[i]!;
          // Stray CR/LF between frames (senders that end octet-counted frames with LF) are skipped.
          if (b === LF || b === CR) i++;
          else if (b >= D0 && b <= D9) {
            this.#state = 'length';
            this.#digits = 0;
            this.#len = 0;
          } else if (this.#lines) this.#state = 'line';
          else this.#fail('SY_FRAME_LENGTH', i, 'frame does not start with a length prefix');
          break;
        }
        case 'length': {
          const b = chunk[i]!;
          if (b >= D0 && b <= D9) {
            if (this.#digits === 0 && b === D0) {
              this.#fail('SY_FRAME_LENGTH', i, 'length prefix has a leading zero');
              break;
            }
            if (++this.#digits > MAX_LEN_DIGITS) {
              this.#fail('SY_FRAME_LENGTH', i, `length prefix longer than ${MAX_LEN_DIGITS} digits`);
              break;
            }
            this.#len = this.#len * 10 + (b - D0);
            i++;
          } else if (b === SP) {
            i++;
            this.#keep = Math.min(this.#len, this.#max);
            this.#skip = this.#len - this.#keep;
            this.#state = 'body';
          } else this.#fail('SY_FRAME_SEPARATOR', i, 'length prefix not followed by a space');
          break;
        }
        case 'body': {
          const take = Math.min(this.#keep - this.#held, n - i);
          if (this.#held === 0 && take === this.#keep) {
            // Whole frame inside this chunk: a slice, no copy.
            this.#state = this.#skip > 0 ? 'skip' : 'start';
            this.#onFrame(chunk.subarray(i, i + take), this.#skip > 0);
          } else {
            this.#hold(chunk, i, i + take);
            if (this.#held === this.#keep) {
              this.#state = this.#skip > 0 ? 'skip' : 'start';
              this.#onFrame(this.#release(this.#keep), this.#skip > 0);
            }
          }
          i += take;
          break;
        }
        case 'skip': {
          const take = Math.min(this.#skip, n - i);
          this.#skip -= take;
          i += take;
          if (this.#skip === 0) this.#state = 'start';
          break;
        }
        case 'line': {
          const lf = chunk.indexOf(LF, i);
          const end = lf === -1 ? n : lf;
          // Keep up to max + 1 bytes: the extra one may be a CR that is stripped at the LF.
          const room = this.#max + 1 - this.#held;
          if (end - i > room) {
            this.#hold(chunk, i, i + room);
            this.#state = 'drop-line';
            this.#onFrame(this.#release(this.#max), true);
            i += room;
          } else {
            this.#hold(chunk, i, end);
            i = end;
            if (lf !== -1) {
              i++;
              this.#state = 'start';
              this.#endLine();
            }
          }
          break;
        }
        case 'drop-line': {
          const lf = chunk.indexOf(LF, i);
          if (lf === -1) i = n;
          else {
            i = lf + 1;
            this.#state = 'start';
          }
          break;
        }
      }
    }
    this.#base += n;
  }

  /** End of stream: flush a trailing LF-less line; a frame cut short is SY_FRAME_TRUNCATED_BODY. */
  end(): void {
    const state = this.#state;
    this.#state = 'start';
    if (state === 'line') this.#endLine();
    else if (state === 'length' || state === 'body') {
      this.#release(0);
      this.#onError(new FrameError('SY_FRAME_TRUNCATED_BODY', this.#base, 'stream ended inside a frame'));
    }
  }

  #endLine(): void {
    let len = this.#held;
    if (len === 0) return;
    const frame = this.#release(len);
    if (frame[len - 1] === CR) len--; // RFC 6587 §3.4.2: senders may end lines with CRLF
    if (len === 0) return; // empty lines carry no message
    if (len > this.#max) this.#onFrame(frame.subarray(0, this.#max), true);
    else this.#onFrame(frame.subarray(0, len), false);
  }

  #hold(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    // Copy: a slice would pin the caller's whole chunk in memory while we wait for the rest.
    this.#parts.push(Buffer.from(chunk.subarray(from, to)));
    this.#held += to - from;
  }

  #release(len: number): Buffer {
    const parts = this.#parts;
    this.#parts = [];
    this.#held = 0;
    const whole = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    return whole.length > len ? whole.subarray(0, len) : whole;
  }

  #fail(code: FrameErrorCode, i: number, message: string): void {
    this.#release(0);
    this.#state = 'drop-line';
    this.#onError(new FrameError(code, this.#base + i, message));
  }
}

/**
 * Split an HTTP `application/logplex-1` body: octet-counted frames only. Stray CR/LF between
 * frames are skipped. Frames before the first framing error are returned with that error; the
 * rest of the body cannot be trusted and is ignored.
 */
export function splitBody(
  body: Buffer,
  maxFrame = MAX_FRAME,
): { frames: { frame: Buffer; truncated: boolean }[]; error?: FrameError } {
  const frames: { frame: Buffer; truncated: boolean }[] = [];
  let error: FrameError | undefined;
  const splitter = new FrameSplitter({
    maxFrame,
    lines: false,
    onFrame: (frame, truncated) => {
      if (!error) frames.push({ frame, truncated });
    },
    onError: (err) => {
      error ??= err;
    },
  });
  splitter.push(body);
  if (!error) splitter.end();
  return error ? { frames, error } : { frames };
}

/** RFC 6587 §3.4.1: `MSG-LEN SP SYSLOG-MSG`, MSG-LEN in octets. */
/** Where `b` ends without its trailing CR and LF bytes (a datagram's or a MSG's line ending). */
export function endWithoutNewlines(b: Uint8Array): number {
  let end = b.length;
  while (end > 0 && (b[end - 1] === LF || b[end - 1] === CR)) end--;
  return end;
}

export function encodeFrame(msg: Buffer | string): Buffer {
  const body = typeof msg === 'string' ? Buffer.from(msg, 'utf8') : msg;
  const prefix = `${body.length} `;
  const out = Buffer.allocUnsafe(prefix.length + body.length);
  out.write(prefix, 0, 'latin1');
  body.copy(out, prefix.length);
  return out;
}
