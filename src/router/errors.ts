// Every way a request can fail, as a value: a Heroku H code with its status,
// description and blame. handle.ts renders them in one place; docs/errors.md lists them all.

export type HCode =
  'H10' | 'H11' | 'H12' | 'H13' | 'H14' | 'H15' | 'H17' | 'H18' | 'H19' | 'H21' | 'H25' | 'H26' | 'H27' | 'H28' | 'H80';

/** Who caused it: the client, the app's dynos, or the platform. */
export type Blame = 'client' | 'app' | 'platform';

export interface HCodeInfo {
  readonly status: number;
  readonly desc: string;
  readonly blame: Blame;
}

export const H_CODES: Readonly<Record<HCode, HCodeInfo>> = {
  H10: { status: 503, desc: 'App crashed', blame: 'app' },
  H11: { status: 503, desc: 'Backlog too deep', blame: 'app' },
  H12: { status: 503, desc: 'Request timeout', blame: 'app' },
  H13: { status: 503, desc: 'Connection closed without response', blame: 'app' },
  H14: { status: 503, desc: 'No web dynos running', blame: 'app' },
  H15: { status: 503, desc: 'Idle connection', blame: 'app' },
  H17: { status: 503, desc: 'Poorly formatted HTTP response', blame: 'app' },
  H18: { status: 503, desc: 'Server Request Interrupted', blame: 'app' },
  H19: { status: 503, desc: 'Backend connection timeout', blame: 'app' },
  H21: { status: 503, desc: 'Backend connection refused', blame: 'app' },
  H25: { status: 431, desc: 'HTTP Restriction', blame: 'client' },
  H26: { status: 400, desc: 'Request Error', blame: 'client' },
  // Logged as 499 (nginx's "client closed request"); the client never sees a status.
  H27: { status: 499, desc: 'Client Request Interrupted', blame: 'client' },
  H28: { status: 408, desc: 'Client Connection Idle', blame: 'client' },
  H80: { status: 503, desc: 'Maintenance mode', blame: 'platform' },
};

/** How far a forwarded request got: retries on another dyno are allowed only at 'not-sent' (habit 10). */
export type Progress = 'not-sent' | 'sent' | 'responded';

export class RouterError extends Error {
  readonly status: number;
  readonly blame: Blame;
  readonly desc: string;
  constructor(
    readonly code: HCode,
    readonly progress: Progress = 'not-sent',
    readonly detail?: string,
  ) {
    const info = H_CODES[code];
    super(`${code} ${info.desc}${detail ? `: ${detail}` : ''}`);
    this.status = info.status;
    this.blame = info.blame;
    this.desc = info.desc;
  }
}
