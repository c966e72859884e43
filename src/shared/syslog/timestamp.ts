// RFC 5424 §6.2.3 TIMESTAMP: RFC 3339 FULL-DATE "T" FULL-TIME with at most 6 fraction digits,
// upper-case T and Z, no leap second (RFC 5424 §6.2.3.1 item 3 refers to RFC 3339 but 5424
// TIME-SECOND is 00-59).

const SHAPE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-](\d{2}):(\d{2}))$/;

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** True when `ts` is a valid RFC 5424 TIMESTAMP (not NILVALUE). The string is kept as given. */
export function validTimestamp(ts: string): boolean {
  const m = SHAPE.exec(ts);
  if (!m) return false;
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > DAYS[month - 1]!) return false;
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) return false;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return false;
  return true;
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
