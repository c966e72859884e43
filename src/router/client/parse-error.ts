// Why a client's request was refused (step 1, design.md §Request path); connection.ts maps it to an H code.

/** What a refusal is: 431 H25 (too large), 400 H26 (malformed), 505 (version), 417 (expectation). */
export type Refusal = 'too-large' | 'malformed' | 'version' | 'expectation';

export class RequestParseError extends Error {
  /** The request line's method and target, when it parsed before the refusal (for the router line). */
  method = '';
  target = '';
  constructor(
    readonly refusal: Refusal,
    readonly reason: string,
    readonly phase: 'head' | 'body',
  ) {
    super(`malformed request ${phase}: ${reason}`);
  }
}
