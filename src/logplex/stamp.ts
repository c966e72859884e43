// The "stamp" step of a line's journey (design.md §A line's journey): the time every reader sees, in Logplex's
// shape `2026-11-26T10:00:00.123456+00:00`. A sender's RFC 5424 TIMESTAMP is kept (converted
// to UTC); NILVALUE or an unreadable time gets the time of arrival.
import { formatTimestamp } from '../shared/syslog/rfc5424';

const FRACTION = /\.(\d+)/;

export function stampTime(timestamp: string, arrival: () => string): string {
  if (timestamp === '') return arrival();
  // Fast path: stock senders (logger -T, our own agents) already send this shape. The codec
  // validated the RFC 3339 form, so 32 characters with `.` at 19 and a +00:00 zone are exactly it.
  if (timestamp.length === 32 && timestamp.charCodeAt(19) === 0x2e && timestamp.endsWith('+00:00')) return timestamp;
  const ms = Date.parse(timestamp);
  if (Number.isNaN(ms)) return arrival();
  const frac = FRACTION.exec(timestamp)?.[1] ?? '';
  return formatTimestamp(ms, Number(frac.slice(3, 6).padEnd(3, '0')));
}

/** The arrival time of one batch, formatted at most once. */
export function arrivalClock(now = Date.now()): () => string {
  let text: string | undefined;
  return () => (text ??= formatTimestamp(now));
}
