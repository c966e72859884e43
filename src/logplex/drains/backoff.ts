// Retry delays for drain delivery and reconnects: exponential with full jitter and a cap
// (delay = random() * min(cap, base * 2^attempt)), the AWS "full jitter" rule, so many drains
// failing together do not retry in step. The policy is a value passed in: tests inject
// `random` and assert on the sequence of delays instead of measuring time.

export interface BackoffPolicy {
  /** Delay in ms before retry number `attempt` (1 = the first retry). */
  delay(attempt: number): number;
}

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  /** A number in [0, 1); Math.random by default. */
  random?: () => number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = { baseMs: 100, capMs: 30_000 };

export function fullJitter(opts: BackoffOptions = DEFAULT_BACKOFF): BackoffPolicy {
  const random = opts.random ?? Math.random;
  return {
    delay(attempt: number): number {
      const exp = Math.min(opts.capMs, opts.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
      return Math.floor(random() * exp);
    },
  };
}

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
