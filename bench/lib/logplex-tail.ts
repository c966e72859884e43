// Logplex tail benchmarks (bench/logplex.ts runs them): history search over a channel at its
// retention (1,500 and 100,000 lines) per query kind, p50/p99 of a whole search (POST
// /v2/sessions + reading the answer); and ingest with 100 channels, one of which floods, with
// and without the per-channel token bucket (what the flood stored, what the quiet channels
// lost, and ingest → tail latency of a quiet channel). Every loop is bounded in count and time.
import { connect } from 'node:net';
import { request } from 'undici';
import { WebSocket } from 'ws';
import type { LogplexNode } from '../../src/logplex/index';
import type { NewLine } from '../../src/logplex/lines';
import { encodeFrame } from '../../src/shared/syslog/frame';
import { formatSyslog, formatTimestamp } from '../../src/shared/syslog/rfc5424';

export const SEARCHES: readonly [name: string, body: Record<string, unknown>][] = [
  ['last 100 lines (no query)', {}],
  ['substring, 1 in 50 lines', { q: 'code=H12' }],
  ['status>=500', { q: 'status>=500' }],
  ['service>1000 method=POST', { q: 'service>1000 method=POST' }],
  ['dyno web.3 + substring', { dyno: 'web.3', q: 'GET' }],
  ['time range (the oldest tenth)', { since: '__OLDEST__', until: '__TENTH__' }],
  ['no match (reads everything)', { q: 'no-such-text' }],
];

/** `n` router and app lines, one second apart; 1 in 50 is an H12 503 with service ≥ 30 s. */
export function searchLines(n: number, from = 0): NewLine[] {
  const t0 = Date.UTC(2026, 10, 26, 10);
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const time = formatTimestamp(t0 + i * 1000);
    if (i % 2 === 1)
      return { time, pri: 190, source: 'app', ps: `web.${i % 7}`, msg: `GET /items/${i} done in ${i % 97}ms` };
    const slow = i % 50 === 0;
    return {
      time,
      pri: 158,
      source: 'heroku',
      ps: 'router',
      msg:
        `at=${slow ? 'error code=H12' : 'info'} method=${i % 3 ? 'GET' : 'POST'} path="/items/${i}" host=bench.localhost ` +
        `request_id=r-${i} fwd="127.0.0.1" dyno=web.${i % 7} connect=1ms service=${slow ? 30_001 : (i * 37) % 1800}ms ` +
        `status=${slow ? 503 : 200} bytes=${200 + (i % 900)} protocol=http`,
    };
  });
}

/** Fills a channel to `n` lines through the store (not what is measured). */
export async function fill(node: LogplexNode, channel: number, n: number): Promise<void> {
  for (let i = 0; i < n; i += 5000) await node.store.append(channel, searchLines(Math.min(5000, n - i), i));
}

/** One whole search: session + its answer; returns ms and the lines answered. */
export async function searchOnce(
  base: string,
  channel: number,
  body: Record<string, unknown>,
): Promise<{ ms: number; lines: number }> {
  const start = performance.now();
  const s = await request(`${base}/v2/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel_id: channel, num: 100, ...body }),
  });
  const { url } = (await s.body.json()) as { url: string };
  const res = await request(url);
  const text = await res.body.text();
  return { ms: performance.now() - start, lines: text ? text.split('\n').length - 1 : 0 };
}

export function timeRange(n: number): { oldest: string; tenth: string } {
  const t0 = Date.UTC(2026, 10, 26, 10);
  return { oldest: formatTimestamp(t0), tenth: formatTimestamp(t0 + Math.floor(n / 10) * 1000) };
}

export interface FairJob {
  kind: 'fair';
  port: number;
  flood: string;
  quiet: string[];
  seconds: number;
  quietRate: number;
  tailUrl: string;
}

export interface FairResult {
  floodSent: number;
  quietSent: number;
  latenciesMs: number[];
}

function frame(token: string, msg: string): Buffer {
  return encodeFrame(
    formatSyslog({
      pri: 190,
      timestamp: formatTimestamp(Date.now()),
      hostname: 'h',
      appName: token,
      procId: 'web.1',
      msg,
    }),
  );
}

/** In a worker: 4 connections flood one channel while 99 quiet channels send at `quietRate` each. */
export async function runFair(job: FairJob): Promise<FairResult> {
  const latencies: number[] = [];
  const ws = new WebSocket(job.tailUrl.replace(/^http/, 'ws'));
  ws.on('message', (d) => {
    const m = /t=(\d+\.\d+)/.exec(String(d));
    if (m) latencies.push(performance.now() - Number(m[1]));
  });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const until = performance.now() + job.seconds * 1000;
  const chunk = Buffer.concat(Array.from({ length: 320 }, (_, i) => frame(job.flood, `flood ${i} `.padEnd(120, 'x'))));
  let floodSent = 0;
  const floods = Array.from(
    { length: 4 },
    () =>
      new Promise<void>((resolve, reject) => {
        const s = connect(job.port, '127.0.0.1');
        s.on('error', reject);
        const pump = (): void => {
          while (performance.now() < until) {
            floodSent += 320;
            if (!s.write(chunk)) return void s.once('drain', pump);
          }
          s.end(resolve);
        };
        s.once('connect', pump);
      }),
  );
  const q = connect({ port: job.port, host: '127.0.0.1', noDelay: true });
  await new Promise((r) => q.once('connect', r));
  let quietSent = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.round(((performance.now() - start) / 1000) * job.quietRate);
      const batch: Buffer[] = [];
      while (quietSent / job.quiet.length < due) {
        for (const t of job.quiet) batch.push(frame(t, `quiet t=${performance.now().toFixed(3)} `));
        quietSent += job.quiet.length;
      }
      if (batch.length) q.write(Buffer.concat(batch));
      if (performance.now() >= until) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  q.end();
  await Promise.all(floods);
  // Let the last quiet lines reach the tail (bounded).
  await new Promise((r) => setTimeout(r, 500));
  ws.terminate();
  return { floodSent, quietSent, latenciesMs: latencies };
}
