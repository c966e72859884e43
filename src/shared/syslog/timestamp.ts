// RFC 5424 §6.2.3 TIMESTAMP: RFC 3339 FULL-DATE "T" FULL-TIME with at most 6 fraction digits
// (TIME-SECFRAC), upper-case T and Z, and TIME-SECOND 00-59 (no leap second).
// Checked with charCodeAt rather than a RegExp: it runs once per ingested line.

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number in ts[at, at+len) when every character is a digit, else -1. */
function digits(ts: string, at: number, len: number): number {
  let n = 0;
  for (let i = at; i < at + len; i++) {
    const d = ts.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** True when `ts` is a valid RFC 5424 TIMESTAMP (not NILVALUE). The string is kept as given. */
export function validTimestamp(ts: string): boolean {
  // 2026-11-26T10:00:00 is 19 characters; then [.1-6 digits], then Z or ±HH:MM.
  if (ts.length < 20 || ts.length > 32) return false;
  if (ts[4] !== '-' || ts[7] !== '-' || ts[10] !== 'T' || ts[13] !== ':' || ts[16] !== ':') return false;
  const month = digits(ts, 5, 2);
  const day = digits(ts, 8, 2);
  if (digits(ts, 0, 4) < 0 || month < 1 || month > 12 || day < 1 || day > DAYS[month - 1]!) return false;
  const hour = digits(ts, 11, 2);
  const minute = digits(ts, 14, 2);
  const second = digits(ts, 17, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  let i = 19;
  if (ts[i] === '.') {
    const start = ++i;
    while (i < ts.length && i - start < 7 && digits(ts, i, 1) >= 0) i++;
    if (i === start || i - start > 6) return false;
  }
  if (ts[i] === 'Z') return i + 1 === ts.length;
  if (ts[i] !== '+' && ts[i] !== '-') return false;
  if (ts.length !== i + 6 || ts[i + 3] !== ':') return false;
  const oh = digits(ts, i + 1, 2);
  const om = digits(ts, i + 4, 2);
  return oh >= 0 && oh <= 23 && om >= 0 && om <= 59;
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/**
 * Logplex's timestamp shape, used in tail output and drains: `2026-11-26T10:00:00.123456+00:00`
 * (UTC). `micros` is the sub-millisecond part, 0-999, for sources that have it.
 */
export function formatTimestamp(ms: number, micros = 0): string {
  const d = new Date(Math.floor(ms));
  const frac = d.getUTCMilliseconds() * 1000 + Math.min(999, Math.max(0, Math.floor(micros)));
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
    `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(frac, 6)}+00:00`
  );
}
