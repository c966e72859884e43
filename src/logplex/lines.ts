// A log line as Logplex keeps and shows it (design.md §A line's journey), and the in-band
// L-code lines that report loss as data (heroku/logplex:src/logplex_syslog_utils.erl `overflow_msg/2`).
import type { SdElement } from '../shared/syslog/rfc5424';

/** One stored line. `seq` is the channel's sequence number (1, 2, 3…), assigned on append. */
export interface LogLine {
  seq: number;
  /** As shown: `2026-11-26T10:00:00.123456+00:00`. */
  time: string;
  /** Syslog PRI (facility * 8 + severity). */
  pri: number;
  /** The token's name (`app`, `heroku`) or, with an SD-PARAM token, the sender's APP-NAME. */
  source: string;
  /** The dyno or process: `web.1`, `router`. */
  ps: string;
  msg: string;
  /** RFC 5424 MSGID, when the sender gave one. */
  msgid?: string;
  /** RFC 5424 STRUCTURED-DATA as sent (without a `token` SD-PARAM), when the sender gave any. */
  sd?: SdElement[];
}

/** A line before the store numbers it. */
export type NewLine = Omit<LogLine, 'seq'>;

/** Tail output: `2026-11-26T10:00:00.123456+00:00 app[web.1]: message`. */
export function formatTailLine(l: NewLine): string {
  return `${l.time} ${l.source}[${l.ps}]: ${l.msg}`;
}

export type LCode = 'L10' | 'L11' | 'L12' | 'L13' | 'L14' | 'L16' | 'L17';

export const L_CODES: Readonly<Record<LCode, string>> = {
  L10: 'output buffer overflow',
  L11: 'tail buffer overflow',
  L12: 'local buffer overflow',
  L13: 'local delivery error',
  L14: 'certificate validation error',
  L16: 'channel rate limit',
  L17: 'resume point out of retention',
};

/** PRI of Logplex's overflow lines (L10–L12): local5 (21) . warning (4) = 172, as Logplex sends them. */
export const OVERFLOW_PRI = 21 * 8 + 4;
/** PRI of every other in-band error line: local7 (23) . warning (4) = 188, as Logplex sends them. */
export const ERROR_PRI = 23 * 8 + 4;

/** Source and process of in-band lines: `heroku[logplex]`. */
export const LOGPLEX_SOURCE = 'heroku';
export const LOGPLEX_PS = 'logplex';

function errorLine(code: LCode, text: string, time: string, pri = ERROR_PRI): NewLine {
  return { time, pri, source: LOGPLEX_SOURCE, ps: LOGPLEX_PS, msg: `Error ${code} (${L_CODES[code]}): ${text}` };
}

/**
 * A channel error line (L13, L14, …) written into the channel log for tails and history. Logplex
 * never sends these to drains (a drain would otherwise carry its own failure reports, including
 * to the failing receiver): the drain runner acks them without sending.
 */
export function isChannelErrorLine(l: { source: string; ps: string; pri: number }): boolean {
  return l.ps === LOGPLEX_PS && l.source === LOGPLEX_SOURCE && l.pri === ERROR_PRI;
}

/** `Error L10 (output buffer overflow): N messages dropped since TIME.` — a drain lost lines. */
export function overflowLine(code: 'L10' | 'L11' | 'L12', dropped: number, since: string, now: string): NewLine {
  return errorLine(code, `${dropped} messages dropped since ${since}.`, now, OVERFLOW_PRI);
}

/** L13 / L14: a delivery problem, with a short reason in the sender's words. */
export function deliveryErrorLine(code: 'L13' | 'L14', reason: string, now: string): NewLine {
  return errorLine(code, reason.replace(/[\r\n]+/g, ' '), now);
}

/** L16: this node dropped lines of the channel over LOGPLEX_CHANNEL_RATE; at most one per interval. */
export function rateLimitLine(dropped: number, since: string, rate: number, now: string): NewLine {
  return errorLine('L16', `${dropped} messages dropped since ${since} (over ${rate} lines/s).`, now);
}

/** L17: a tail resumed after a stream id whose following lines have left the channel log. */
export function resumeGapLine(lost: number, sinceId: number, now: string): NewLine {
  return errorLine('L17', `${lost} messages after id ${sinceId} left the log before this session read them.`, now);
}

/** L17 when the resume id is ahead of the log (its store started over): it is read from its start. */
export function resumeResetLine(sinceId: number, now: string): NewLine {
  return errorLine(
    'L17',
    `id ${sinceId} is ahead of this log (its store started over); reading it from the start.`,
    now,
  );
}
