// Character classes of RFC 9110 as 256-entry tables: one array read per byte in the parsers.

export function charTable(ok: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = ok(c) ? 1 : 0;
  return t;
}

/** RFC 9110 §5.6.2 tchar. */
export const TOKEN = charTable((c) => /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(String.fromCharCode(c)));
/** RFC 9110 §5.5 field-value chars: HTAB, SP, VCHAR, obs-text; never CR, LF or NUL. */
export const FIELD = charTable((c) => c === 0x09 || (c >= 0x20 && c !== 0x7f));
