// Heroku's dyno crash restart policy, as data the agent is handed (design.md §Processes and
// settings): a crashed process is restarted at once the first time; after that each further
// crash waits a cool-down that doubles, up to 20 minutes. A process that stayed up long enough
// starts the count again.

export interface RestartPolicy {
  /** Wait before restart number `crashes` (1 = the first crash), or undefined: do not restart. */
  delayMs(crashes: number): number | undefined;
  /** A run at least this long resets the crash count. */
  resetAfterMs: number;
}

export const MAX_COOLDOWN_MS = 20 * 60_000;
const FIRST_COOLDOWN_MS = 10_000;

export const HEROKU_RESTART_POLICY: RestartPolicy = {
  delayMs: (crashes) => (crashes <= 1 ? 0 : Math.min(MAX_COOLDOWN_MS, FIRST_COOLDOWN_MS * 2 ** (crashes - 2))),
  resetAfterMs: MAX_COOLDOWN_MS,
};

/** "20 s", "2 min 40 s" */
export function humanMs(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
}
