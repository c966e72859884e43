// A bounded open-loop generator: requests start on a fixed schedule (`rate` per second),
// whether or not earlier ones have answered, so a slow server cannot slow the offered load
// down and hide its own latency (coordinated omission). autocannon's `overallRate` sends
// each second's quota in a burst and records whole milliseconds, too coarse for a 1 ms
// goal; this one spreads requests over 1 ms ticks and times each with performance.now().
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface OpenLoopOptions {
  origin: string;
  /** Request headers, `host` included. */
  headers: Readonly<Record<string, string>>;
  path?: string;
  rate: number;
  durationMs: number;
  /** Client connections; a request waits for a free one (and that wait counts). */
  connections: number;
  /** Requests still unanswered this long after the schedule ends count as timeouts. */
  drainMs?: number;
  /** Count answers by the value of this response header (the backends' `x-dyno`). */
  countHeader?: string;
}

export interface OpenLoopResult {
  offered: number;
  ok: number;
  errors: number;
  timeouts: number;
  /** Latencies in ms over the answered requests (errors included: they took that long). */
  p50: number;
  p99: number;
  max: number;
  /** Answers per value of `countHeader`. */
  counts: Record<string, number>;
}

export async function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const total = Math.floor((o.rate * o.durationMs) / 1000);
  // Unanswered requests stay +Infinity: they sort last, as the slowest of all.
  const latencies = new Float64Array(total).fill(Infinity);
  const pool = new Pool(o.origin, { connections: o.connections, pipelining: 1 });
  let sent = 0;
  let done = 0;
  let ok = 0;
  let errors = 0;
  const counts: Record<string, number> = {};
  let allDone: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (allDone = resolve));

  const fire = (i: number): void => {
    const t0 = performance.now();
    const settle = (good: boolean): void => {
      latencies[i] = performance.now() - t0;
      if (good) ok++;
      else errors++;
      if (++done === total) allDone();
    };
    pool.request({ path: o.path ?? '/', method: 'GET', headers: o.headers }).then(
      async ({ statusCode, headers: h, body }) => {
        await body.dump();
        const v = o.countHeader ? h[o.countHeader] : undefined;
        if (typeof v === 'string') counts[v] = (counts[v] ?? 0) + 1;
        settle(statusCode >= 200 && statusCode < 300);
      },
      () => settle(false),
    );
  };

  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * o.rate) / 1000));
      while (sent < due) fire(sent++);
      if (sent === total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([finished, new Promise<void>((resolve) => (timer = setTimeout(resolve, o.drainMs ?? 15_000)))]);
  clearTimeout(timer);
  const result = { offered: total, ok, errors, timeouts: total - done, counts: { ...counts } };
  const sorted = Float64Array.from(latencies).sort();
  await pool.destroy();

  const pct = (p: number): number => sorted[Math.min(total - 1, Math.ceil((p / 100) * total) - 1)] ?? NaN;
  return { ...result, p50: pct(50), p99: pct(99), max: pct(100) };
}
