// Every way a request can fail, as a value (design.md §Request path): a Heroku H code, and each
// code's whole behaviour as data in one table: its status and description, who is to blame, and
// what the router does about it. The request path never lists codes: it reads these fields.
// exit.ts renders every failure in one place; docs/errors.md lists them all (test/docs.test.ts).

export type HCode =
  'H10' | 'H11' | 'H12' | 'H13' | 'H14' | 'H15' | 'H17' | 'H18' | 'H19' | 'H21' | 'H25' | 'H26' | 'H27' | 'H28' | 'H80';

/** Who caused it: the client, the app's dynos, or the platform. */
export type Blame = 'client' | 'app' | 'platform';

export interface HCodeInfo {
  readonly status: number;
  readonly desc: string;
  readonly blame: Blame;
  /** The dyno sits out a short back-off (outlier ejection, step 4), and the request may go to another dyno. */
  readonly eject: boolean;
  /**
   * The client connection is closed after the answer: the request's framing can no longer be
   * trusted (bytes may be left we must not read as a next request), or the client left.
   */
  readonly close: boolean;
  /** Nothing is sent back (the client is gone): only the line and the metric. */
  readonly silent: boolean;
}

const app = (status: number, desc: string, eject = false): HCodeInfo => ({
  status,
  desc,
  blame: 'app',
  eject,
  close: false,
  silent: false,
});
const client = (status: number, desc: string, silent = false): HCodeInfo => ({
  status,
  desc,
  blame: 'client',
  eject: false,
  close: true,
  silent,
});

export const H_CODES: Readonly<Record<HCode, HCodeInfo>> = {
  H10: app(503, 'App crashed'),
  H11: app(503, 'Backlog too deep'),
  H12: app(503, 'Request timeout'),
  H13: app(503, 'Connection closed without response'),
  H14: app(503, 'No web dynos running'),
  H15: app(503, 'Idle connection'),
  H17: app(503, 'Poorly formatted HTTP response'),
  H18: app(503, 'Server Request Interrupted'),
  H19: app(503, 'Backend connection timeout', true),
  H21: app(503, 'Backend connection refused', true),
  H25: client(431, 'HTTP Restriction'),
  H26: client(400, 'Request Error'),
  // Logged as 499 (nginx's "client closed request"); the client never sees a status.
  H27: client(499, 'Client Request Interrupted', true),
  H28: client(408, 'Client Connection Idle'),
  H80: { status: 503, desc: 'Maintenance mode', blame: 'platform', eject: false, close: false, silent: false },
};

/** How far a forwarded request got: retries on another dyno are allowed only at 'not-sent'. */
export type Progress = 'not-sent' | 'sent' | 'responded';

export class RouterError extends Error {
  readonly status: number;
  readonly desc: string;
  /**
   * `status` overrides the code's for the few refusals RFC 9110 gives their own status under H26:
   * 505 for an HTTP version we do not serve, 417 for an expectation other than 100-continue.
   */
  constructor(
    readonly code: HCode,
    readonly progress: Progress = 'not-sent',
    readonly detail?: string,
    status?: number,
  ) {
    const info = H_CODES[code];
    super(`${code} ${info.desc}${detail ? `: ${detail}` : ''}`);
    this.status = status ?? info.status;
    this.desc = info.desc;
  }
}
