// Logplex ingest benchmark. One run measures, against the bare
// FrameSplitter + parseSyslog baseline of bench/syslog-splitter.ts:
//   1. syslog TCP ingest, 200-byte lines over 4 connections, into a channel with one WebSocket
//      tail attached, on the memory store and on Redis (lines/s until the tail saw the last line);
//   2. HTTP ingest, 100-line logplex-1 bodies, 4 connections;
//   3. ingest → tail latency p50/p99 at 10,000 lines/s for a bounded duration;
//   4. history search (bench/lib/logplex-tail.ts) of a channel at its retention, 1,500 and 100,000
//      lines, p50/p99 per query kind;
//   5. ingest with 100 channels of which one floods, without and with the per-channel token bucket.
// The node under test runs on the main thread; senders and the tail reader run in a worker thread
// (same clock for latency). Every loop is bounded in count and time. Run:
//   npx tsc -p tsconfig.test.json && node build/bench/logplex.js [tcpLines] [memory|redis]
// Against rsyslog (bench/lib/ingest-vs-rsyslog.ts), and two nodes on a Redis Cluster against one:
//   node build/bench/logplex.js --peers [--lines 1000000 --rounds 3 --profile DIR --only logplex/redis]
//   node build/bench/logplex.js --cluster [--lines 1000000 --rounds 3]   (either: --no-pin)
import { connect } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { request } from 'undici';
import { WebSocket } from 'ws';
import { loadConfig } from '../src/shared/config';
import { silentLogger } from '../src/shared/log';
import { encodeFrame } from '../src/shared/syslog/frame';
import { formatSyslog, formatTimestamp } from '../src/shared/syslog/rfc5424';
import { startLogplex, type LogplexNode } from '../src/logplex/index';
import { memoryStores, redisStores } from '../src/logplex/store/open';
import { deleteKeys, REDIS_URL, redisReachable } from '../test/fixtures/redis';
import { measureSplitter } from './syslog-splitter';
import { fill, runFair, searchOnce, SEARCHES, timeRange, type FairJob, type FairResult } from './lib/logplex-tail';
import { disablePinning } from './lib/child';
import { clusterMain, peersMain } from './lib/ingest-vs-rsyslog';
import { argValue, printReport } from './lib/report';

type Job =
  | FairJob
  | { kind: 'tcp'; port: number; token: string; lines: number; conns: number; sessionUrl: string }
  | { kind: 'http'; base: string; token: string; bodies: number; perBody: number; conns: number; sessionUrl: string }
  | { kind: 'latency'; port: number; token: string; rate: number; seconds: number; sessionUrl: string };

interface JobResult {
  seconds: number;
  lines: number;
  latenciesMs?: number[];
  /** p99 of the worker's own event-loop delay meanwhile: the machine's scheduling noise floor. */
  loopDelayP99Ms?: number;
}

const LINE_BYTES = 200;
const TIME_LIMIT_MS = 60_000;

/** One 200-byte octet-counted frame; `tag` (fixed width) goes at the start of MSG. */
function frame(token: string, tag: string): Buffer {
  const time = formatTimestamp(Date.now());
  const head = formatSyslog({ pri: 190, timestamp: time, hostname: 'host', appName: token, procId: 'web.1', msg: '' });
  const msg = tag.padEnd(LINE_BYTES - 4 - head.length - 1, 'x');
  const f = encodeFrame(
    formatSyslog({ pri: 190, timestamp: time, hostname: 'host', appName: token, procId: 'web.1', msg }),
  );
  if (f.length !== LINE_BYTES) throw new Error(`frame is ${f.length} bytes`);
  return f;
}

/** Opens the tail and resolves once `expect` messages arrived (or rejects after the time limit). */
function tail(
  url: string,
  expect: number,
  onMessage?: (m: string) => void,
): Promise<{ ws: WebSocket; all: Promise<number> }> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'));
  let n = 0;
  const all = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`tail saw ${n} of ${expect} lines in ${TIME_LIMIT_MS} ms`)),
      TIME_LIMIT_MS,
    );
    ws.on('message', (d) => {
      onMessage?.(String(d));
      if (++n >= expect) {
        clearTimeout(timer);
        resolve(n);
      }
    });
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, all }));
    ws.once('error', reject);
  });
}

async function runJob(job: Job): Promise<JobResult | FairResult> {
  switch (job.kind) {
    case 'fair':
      return runFair(job);
    case 'tcp': {
      const { ws, all } = await tail(job.sessionUrl, job.lines);
      const per = Math.ceil(job.lines / job.conns);
      const chunk = Buffer.concat(Array.from({ length: 320 }, (_, i) => frame(job.token, `n=${i}`)));
      const start = performance.now();
      await Promise.all(
        Array.from({ length: job.conns }, (_, c) => {
          const mine = Math.min(per, job.lines - c * per);
          return new Promise<void>((resolve, reject) => {
            const s = connect(job.port, '127.0.0.1');
            s.on('error', reject);
            let sent = 0;
            const pump = (): void => {
              while (sent < mine) {
                const n = Math.min(320, mine - sent);
                sent += n;
                if (!s.write(n === 320 ? chunk : chunk.subarray(0, n * LINE_BYTES))) return void s.once('drain', pump);
              }
              s.end(resolve);
            };
            s.once('connect', pump);
          });
        }),
      );
      await all;
      const seconds = (performance.now() - start) / 1000;
      ws.terminate();
      return { seconds, lines: job.lines };
    }
    case 'http': {
      const total = job.bodies * job.perBody;
      const { ws, all } = await tail(job.sessionUrl, total);
      const body = Buffer.concat(Array.from({ length: job.perBody }, (_, i) => frame(job.token, `n=${i}`)));
      const headers = {
        'content-type': 'application/logplex-1',
        'logplex-msg-count': String(job.perBody),
        authorization: 'Basic ' + Buffer.from(`token:${job.token}`).toString('base64'),
      };
      let next = 0;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: job.conns }, async () => {
          while (next < job.bodies) {
            next++;
            const res = await request(`${job.base}/logs`, { method: 'POST', headers, body });
            await res.body.dump();
            if (res.statusCode !== 204) throw new Error(`POST /logs ${res.statusCode}`);
          }
        }),
      );
      await all;
      const seconds = (performance.now() - start) / 1000;
      ws.terminate();
      return { seconds, lines: total };
    }
    case 'latency': {
      const total = job.rate * job.seconds;
      const latencies: number[] = [];
      const { ws, all } = await tail(job.sessionUrl, total, (m) => {
        const sent = /t=(\d+\.\d+)/.exec(m);
        if (sent) latencies.push(performance.now() - Number(sent[1]));
      });
      // Nagle off: a sender that batches every 10 ms must not wait for delayed ACKs (40 ms on Linux).
      const loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      const s = connect({ port: job.port, host: '127.0.0.1', noDelay: true });
      await new Promise((r) => s.once('connect', r));
      // Every 10 ms, the lines due by now, each stamped with its send time.
      const perTick = job.rate / 100;
      let sent = 0;
      const start = performance.now();
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          const due = Math.min(total, Math.round(((performance.now() - start) / 1000) * job.rate));
          const batch: Buffer[] = [];
          while (sent < due && batch.length < perTick * 5) {
            batch.push(frame(job.token, `t=${performance.now().toFixed(3)} `));
            sent++;
          }
          if (batch.length) s.write(Buffer.concat(batch));
          if (sent >= total) {
            clearInterval(timer);
            resolve();
          }
        }, 10);
      });
      await all;
      s.end();
      ws.terminate();
      loop.disable();
      return {
        seconds: (performance.now() - start) / 1000,
        lines: total,
        latenciesMs: latencies,
        loopDelayP99Ms: loop.percentile(99) / 1e6,
      };
    }
  }
}

/** Runs a job in a worker; `elu` is the node's (main thread's) event-loop utilisation meanwhile. */
async function inWorker<R = JobResult>(job: Job): Promise<R & { elu: number }> {
  const before = performance.eventLoopUtilization();
  const r = await new Promise<R>((resolve, reject) => {
    const w = new Worker(__filename, { workerData: job });
    w.once('message', resolve);
    w.once('error', reject);
  });
  return { ...r, elu: performance.eventLoopUtilization(before).utilization };
}

async function startNode(
  store: 'memory' | 'redis',
  prefix: string,
  env: Record<string, string> = {},
): Promise<{ node: LogplexNode; token: string; channel: number }> {
  const config = loadConfig({
    LOGPLEX_PORT: '0',
    LOGPLEX_SYSLOG_PORT: '0',
    REDIS_URL,
    LOGPLEX_SESSION_BUFFER: '100000',
    SWITCHYARD_GRACE_MS: '1000',
    // One channel takes everything here: measured without the per-channel bucket (phase 5 measures it).
    LOGPLEX_CHANNEL_RATE: '0',
    ...env,
  });
  const stores =
    store === 'redis'
      ? redisStores(REDIS_URL, { prefix, historyLines: config.LOGPLEX_HISTORY_LINES })
      : memoryStores(config.LOGPLEX_HISTORY_LINES);
  const node = await startLogplex({ config, stores, host: '127.0.0.1', apiToken: undefined, log: silentLogger });
  const c = await node.store.createChannel('bench', ['app']);
  return { node, token: c.tokens[0]!.token, channel: c.id };
}

async function session(node: LogplexNode, channel: number): Promise<string> {
  const res = await request(`http://127.0.0.1:${node.httpPort}/v2/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel_id: channel, tail: true, num: 0 }),
  });
  return ((await res.body.json()) as { url: string }).url;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const pctOf = (x: number): string => `${Math.round(x * 100)}%`;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const lines = Math.min(Number(argValue(argv, '--lines') ?? 1_000_000), 5_000_000);
  const rounds = Math.min(Number(argValue(argv, '--rounds') ?? 3), 20);
  const profileDir = argValue(argv, '--profile');
  if (argv.includes('--no-pin')) disablePinning();
  const onlyTargets = argValue(argv, '--only')?.split(',');
  if (argv.includes('--peers'))
    return peersMain({
      lines,
      rounds,
      ...(profileDir ? { profileDir } : {}),
      ...(onlyTargets ? { only: onlyTargets } : {}),
    });
  if (argv.includes('--cluster')) return clusterMain({ lines, rounds });
  const tcpLines = Math.min(Number(process.argv[2] ?? 400_000) || 400_000, 2_000_000);
  const base = measureSplitter(200_000);
  process.stderr.write(`# baseline ${fmt(base.linesPerSec)} lines/s\n`);
  const rows: string[][] = [
    ['-', 'baseline: FrameSplitter + parseSyslog, one thread, no I/O', fmt(base.linesPerSec), '1.00x', '', '', ''],
  ];
  const ratios: string[] = [];
  const only = process.argv[3] as 'memory' | 'redis' | undefined;
  const stores: ('memory' | 'redis')[] = only ? [only] : (await redisReachable()) ? ['memory', 'redis'] : ['memory'];
  for (const store of stores) {
    const prefix = `sybench:${process.pid}:`;
    const { node, token, channel } = await startNode(store, prefix);
    try {
      const port = node.syslogPort;
      const tcp = await inWorker({
        kind: 'tcp',
        port,
        token,
        lines: tcpLines,
        conns: 4,
        sessionUrl: await session(node, channel),
      });
      const tcpRate = tcp.lines / tcp.seconds;
      rows.push([
        store,
        'syslog TCP, 4 connections, 1 WebSocket tail',
        fmt(tcpRate),
        `${(tcpRate / base.linesPerSec).toFixed(2)}x`,
        pctOf(tcp.elu),
        '',
        '',
      ]);
      ratios.push(
        `${store} TCP: ${fmt(tcpRate)} lines/s (goal >= ${fmt(TCP_GOAL[store])}: ${tcpRate >= TCP_GOAL[store] ? 'met' : 'MISSED'})`,
      );
      const http = await inWorker({
        kind: 'http',
        base: `http://127.0.0.1:${node.httpPort}`,
        token,
        bodies: Math.round(tcpLines / 200),
        perBody: 100,
        conns: 4,
        sessionUrl: await session(node, channel),
      });
      const httpRate = http.lines / http.seconds;
      rows.push([
        store,
        'HTTP logplex-1, 100-line bodies, 4 connections, 1 tail',
        fmt(httpRate),
        `${(httpRate / base.linesPerSec).toFixed(2)}x`,
        pctOf(http.elu),
        '',
        '',
      ]);
      const lat = await inWorker({
        kind: 'latency',
        port,
        token,
        rate: 10_000,
        seconds: 3,
        sessionUrl: await session(node, channel),
      });
      const l = lat.latenciesMs ?? [];
      rows.push([
        store,
        `ingest → tail latency at 10,000 lines/s for 3 s (${l.length} samples)`,
        '',
        '',
        '',
        pct(l, 50).toFixed(2),
        pct(l, 99).toFixed(2),
      ]);
      ratios.push(
        `${store} p99 ingest → tail: ${pct(l, 99).toFixed(2)} ms (goal <= 20 ms: ${pct(l, 99) <= 20 ? 'met' : 'MISSED'});` +
          ` the sender's own event-loop delay p99 ${(lat.loopDelayP99Ms ?? NaN).toFixed(2)} ms`,
      );
    } finally {
      await node.close();
      if (store === 'redis') await deleteKeys(prefix);
    }
    await searchPhase(store, ratios);
    await fairPhase(store, ratios);
  }
  printReport({
    title: 'Logplex ingest and tail',
    setup: [
      `${tcpLines.toLocaleString('en-US')} lines of ${LINE_BYTES} bytes per throughput phase; "vs baseline" divides by the bare splitter + parser.`,
    ],
    columns: ['store', 'phase', 'lines/s', 'vs baseline', 'node loop busy', 'p50 ms', 'p99 ms'],
    rows,
    ratios,
  });
}

/** Phase 4: history search over a channel at its retention, per query kind. */
async function searchPhase(store: 'memory' | 'redis', out: string[]): Promise<void> {
  for (const retained of [1_500, 100_000]) {
    const prefix = `sybench:search:${process.pid}:`;
    const { node, channel } = await startNode(store, prefix, { LOGPLEX_HISTORY_LINES: String(retained) });
    try {
      await fill(node, channel, retained);
      const base = `http://127.0.0.1:${node.httpPort}`;
      const range = timeRange(retained);
      const runs = retained > 10_000 ? 20 : 50;
      for (const [name, raw] of SEARCHES) {
        const body = JSON.parse(
          JSON.stringify(raw).replace('__OLDEST__', range.oldest).replace('__TENTH__', range.tenth),
        );
        const ms: number[] = [];
        let lines = 0;
        for (let i = 0; i < runs; i++) {
          const r = await searchOnce(base, channel, body);
          ms.push(r.ms);
          lines = r.lines;
        }
        out.push(
          `[${store}] search ${fmt(retained)} retained, ${name}: p50 ${pct(ms, 50).toFixed(1)} ms, p99 ${pct(ms, 99).toFixed(1)} ms (${lines} lines answered, ${runs} runs)`,
        );
      }
    } finally {
      await node.close();
      if (store === 'redis') await deleteKeys(prefix);
    }
  }
}

/** Phase 5: 100 channels, one flooding over 4 connections, 99 at 50 lines/s each; bucket off, then on. */
async function fairPhase(store: 'memory' | 'redis', out: string[]): Promise<void> {
  for (const rate of ['0', '10000']) {
    const prefix = `sybench:fair:${process.pid}:`;
    const {
      node,
      token: flood,
      channel: floodChannel,
    } = await startNode(store, prefix, { LOGPLEX_CHANNEL_RATE: rate });
    try {
      const quiet: { id: number; token: string }[] = [];
      for (let i = 0; i < 99; i++) {
        const c = await node.store.createChannel(`quiet${i}`, ['app']);
        quiet.push({ id: c.id, token: c.tokens[0]!.token });
      }
      const seconds = 5;
      const r = await inWorker<FairResult>({
        kind: 'fair',
        port: node.syslogPort,
        flood,
        quiet: quiet.map((q) => q.token),
        seconds,
        quietRate: 50,
        tailUrl: await session(node, quiet[0]!.id),
      });
      let quietStored = 0;
      for (const q of quiet) quietStored += (await node.store.readAfter(q.id, 0, 100_000)).lines.length;
      const floodStored = (await node.store.readBefore(floodChannel, Infinity, 1))[0]?.seq ?? 0;
      const l = r.latenciesMs;
      out.push(
        `[${store}] 100 channels, one flooding, LOGPLEX_CHANNEL_RATE=${rate}: flood stored ${fmt(floodStored / seconds)} lines/s of ${fmt(r.floodSent / seconds)} sent; ` +
          `quiet stored ${fmt(quietStored)} of ${fmt(r.quietSent)}; quiet ingest → tail p50 ${pct(l, 50).toFixed(1)} ms, p99 ${pct(l, 99).toFixed(1)} ms (node loop ${pctOf(r.elu)} busy)`,
      );
    } finally {
      await node.close();
      if (store === 'redis') await deleteKeys(prefix);
    }
  }
}

/** lines/s goals for syslog TCP ingest with a tail attached. */
const TCP_GOAL = { memory: 200_000, redis: 100_000 } as const;

if (isMainThread) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  void runJob(workerData as Job).then((r) => parentPort!.postMessage(r));
}
