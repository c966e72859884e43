// Byte helpers for both HTTP/1.1 head readers of the request path (design.md §Request path, steps
// 1 and 7). A head is checked where its bytes lie, one table read per byte: in V8 a loop over a
// Buffer costs about half what charCodeAt on a string made from it does, so each reader makes one
// string per head and takes its fields as slices of it, after the bytes passed.

/**
 * `i` stopped at the first byte of a line that is not a field char: that must be the line's CRLF,
 * or `end`, where the head's CRLFCRLF begins. Returns where the line ends, or -1 (never `i`) for a
 * stray byte (a bare CR or LF, a control char).
 */
export function lineEnd(b: Buffer, i: number, end: number): number {
  if (i === end || (b[i] === 0x0d && b[i + 1] === 0x0a)) return i;
  return -1;
}

/**
 * Whether the token at `b[at]` is `lower` (lower-case ASCII bytes) in any case; the caller checked
 * the length. Folding with 0x20 is exact here: the only other byte that folds onto a letter or `-`
 * is CR onto `-`, and a token holds no CR.
 */
export function isName(b: Buffer, at: number, lower: Uint8Array): boolean {
  for (let k = 0; k < lower.length; k++) if ((b[at + k]! | 0x20) !== lower[k]) return false;
  return true;
}

/** 1–15 decimal digits in `b[from, to)`: a Content-Length (RFC 9110 §8.6) without a list. */
export function isDigits(b: Buffer, from: number, to: number): boolean {
  if (to === from || to - from > 15) return false;
  for (let k = from; k < to; k++) if (b[k]! < 0x30 || b[k]! > 0x39) return false;
  return true;
}

/** A field name as lower-case bytes, for isName. */
export const nameBytes = (lower: string): Buffer => Buffer.from(lower, 'latin1');

const TERMINATOR = [0x0d, 0x0a, 0x0d, 0x0a];
/** CRLFCRLF, the end of a head, as a Buffer: a string needle is converted on every search. */
export const END_OF_HEAD = Buffer.from(TERMINATOR);

/** Whether CRLFCRLF starts `inHeld` bytes before the end of the `heldLen` held and runs on into `data[at]`. */
export function straddles(held: Buffer, heldLen: number, inHeld: number, data: Buffer, at: number): boolean {
  for (let i = 0; i < 4; i++) {
    const b = i < inHeld ? held[heldLen - inHeld + i] : data[at + i - inHeld];
    if (b !== TERMINATOR[i]) return false;
  }
  return true;
}

/**
 * The lines of `text` from `from` on, without the `cuts` ([start, start of the next line) pairs,
 * in order), each ending in CRLF: `text` is a head without its CRLFCRLF, so its last line has
 * none. '' when nothing is left.
 */
export function linesWithout(text: string, from: number, cuts: readonly number[] | undefined): string {
  if (cuts === undefined) return from < text.length ? text.slice(from) + '\r\n' : '';
  let out = '';
  for (let k = 0; k < cuts.length; k += 2) {
    out += text.slice(from, cuts[k]);
    from = cuts[k + 1]!;
  }
  return from < text.length ? out + text.slice(from) + '\r\n' : out;
}

/**
 * The field lines of a head already checked, from `from` in `text` to its end (the last line
 * without its CRLF), as a flat [name, value, …] list with each value's surrounding OWS trimmed.
 */
export function fieldList(text: string, from: number): string[] {
  const raw: string[] = [];
  while (from < text.length) {
    let eol = text.indexOf('\r\n', from);
    if (eol === -1) eol = text.length;
    const colon = text.indexOf(':', from);
    let v = colon + 1;
    while (v < eol && isOws(text.charCodeAt(v))) v++;
    let e = eol;
    while (e > v && isOws(text.charCodeAt(e - 1))) e--;
    raw.push(text.slice(from, colon), text.slice(v, e));
    from = eol + 2;
  }
  return raw;
}

const isOws = (c: number): boolean => c === 0x20 || c === 0x09;
