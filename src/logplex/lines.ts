// A log line as Logplex keeps and shows it (design.md §Logplex), and the in-band L10–L14 lines that
// report loss as data (heroku/logplex:src/logplex_syslog_utils.erl `overflow_msg/2`).

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
}

/** A line before the store numbers it. */
export type NewLine = Omit<LogLine, 'seq'>;

/** Tail output: `2026-11-26T10:00:00.123456+00:00 app[web.1]: message`. */
export function formatTailLine(l: NewLine): string {
  return `${l.time} ${l.source}[${l.ps}]: ${l.msg}`;
}

export type LCode = 'L10' | 'L11' | 'L12' | 'L13' | 'L14';

export const L_CODES: Readonly<Record<LCode, string>> = {
  L10: 'output buffer overflow',
  L11: 'tail buffer overflow',
  L12: 'local buffer overflow',
  L13: 'local delivery error',
  L14: 'certificate validation error',
};

/** PRI of in-band errors: facility local0 (16), severity error (3), as Logplex's own lines. */
export const ERROR_PRI = 16 * 8 + 3;

function errorLine(code: LCode, text: string, time: string): NewLine {
  return { time, pri: ERROR_PRI, source: 'heroku', ps: 'logplex', msg: `Error ${code} (${L_CODES[code]}): ${text}` };
}

/** `Error L10 (output buffer overflow): N messages dropped since TIME.` — a drain lost lines. */
export function overflowLine(code: 'L10' | 'L11' | 'L12', dropped: number, since: string, now: string): NewLine {
  return errorLine(code, `${dropped} messages dropped since ${since}.`, now);
}

/** L13 / L14: a delivery problem, with a short reason in the sender's words. */
export function deliveryErrorLine(code: 'L13' | 'L14', reason: string, now: string): NewLine {
  return errorLine(code, reason.replace(/[\r\n]+/g, ' '), now);
}
