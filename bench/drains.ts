// Drain delivery benchmark: lines/s one Logplex node delivers from a channel log to a local HTTP
// receiver (logplex-1 POSTs of 500 lines), to a syslog TCP receiver (octet-counted RFC 5424) and
// to an OTLP/HTTP receiver (protobuf ExportLogsServiceRequests of 500 LogRecords), on the memory
// store and on Redis (XRANGE after the drain's position). The peer in the same run is the transport ceiling: the
// same bytes sent by a bare loop (undici POSTs of pre-built bodies; one socket writing pre-built
// frames). Receivers run in a worker
// thread. The channel log is filled before the drain starts, so the figure is delivery alone
// (read, frame, send, ack). Every loop is bounded in count and time. Run:
//   npx tsc -p tsconfig.test.json && node build/bench/drains.js [lines] [only]
// `only` (e.g. `redis`, `http`, `redis-http`) runs just the drains whose `kind-store` or
// `store-kind` name contains it (for profiling one path); the peers always run.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, connect, type AddressInfo } from 'node:net';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import Redis from 'ioredis';
import { request } from 'undici';
import { frameBatch } from '../src/logplex/drains/frames';
import { OtlpTransport } from '../src/logplex/drains/otlp';
import { DEFAULT_TRANSPORT_OPTIONS } from '../src/logplex/drains/transport';
import type { LogLine, NewLine } from '../src/logplex/lines';
import { startLogplex } from '../src/logplex/index';
import { memoryStores, redisStores } from '../src/logplex/store/open';
import { loadConfig } from '../src/shared/config';
import { silentLogger } from '../src/shared/log';
import { deleteKeys, REDIS_URL, redisReachable } from '../test/fixtures/redis';
import { printReport } from './lib/report';

const TIME_LIMIT_MS = 120_000;
const MSG =
  'at=info method=GET path="/" host=hello.localhost request_id=0123456789abcdef fwd="127.0.0.1" dyno=web.1 connect=1ms service=4ms status=200 bytes=512';

/** Worker: an HTTP and a syslog receiver that count lines and report each count reached. */
function receivers(): void {
  let target = 0;
  let http = 0;
  let tcp = 0;
  let otlp = 0;
  const report = (kind: string, n: number): void => {
    if (target && n >= target) parentPort!.postMessage({ kind, n });
  };
  const hs = createHttpServer((req, res) => {
    const n = Number(req.headers['logplex-msg-count'] ?? 0);
    req.resume();
    req.on('end', () => {
      res.writeHead(200).end();
      http += n;
      report('http', http);
    });
  });
  const ts = createTcpServer((sock) => {
    // Counts octet-counted frames without copying: LEN SP MSG.
    let need = 0;
    let len = '';
    sock.on('data', (chunk: Buffer) => {
      let i = 0;
      while (i < chunk.length) {
        if (need > 0) {
          const take = Math.min(need, chunk.length - i);
          need -= take;
          i += take;
          if (need === 0) tcp++;
          continue;
        }
        const c = chunk[i++]!;
        if (c === 0x20) {
          need = Number(len);
          len = '';
        } else len += String.fromCharCode(c);
      }
      report('tcp', tcp);
    });
  });
  const os = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      otlp += countRecords(Buffer.concat(chunks));
      report('otlp', otlp);
    });
  });
  parentPort!.on('message', (m: { reset: number }) => {
    target = m.reset;
    http = 0;
    tcp = 0;
    otlp = 0;
  });
  hs.listen(0, '127.0.0.1', () =>
    ts.listen(0, '127.0.0.1', () =>
      os.listen(0, '127.0.0.1', () =>
        parentPort!.postMessage({
          ports: {
            http: (hs.address() as AddressInfo).port,
            tcp: (ts.address() as AddressInfo).port,
            otlp: (os.address() as AddressInfo).port,
          },
        }),
      ),
    ),
  );
}

/**
 * LogRecords in an ExportLogsServiceRequest, counted by walking the wire format's tags
 * (resource_logs = 1 → scope_logs = 2 → log_records = 2) without decoding them: the receiver
 * only counts, so its cost stays out of the drain's figure.
 */
function countRecords(b: Buffer, start = 0, end = b.length, path: readonly number[] = [1, 2, 2]): number {
  const varint = (at: number): [number, number] => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const c = b[at++]!;
      v += (c & 0x7f) * 2 ** shift;
      if (c < 0x80) return [v, at];
    }
  };
  let n = 0;
  let i = start;
  while (i < end) {
    const [tag, next] = varint(i);
    i = next;
    const wire = tag & 7;
    if (wire === 0) i = varint(i)[1];
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const [len, at] = varint(i);
      if (tag >>> 3 === path[0]) n += path.length === 1 ? 1 : countRecords(b, at, at + len, path.slice(1));
      i = at + len;
    } else throw new Error(`wire type ${wire}`);
  }
  return n;
}

/**
 * CPU time used so far (ms) by this process's main thread (where the drain runs; /proc, in
 * clock ticks), by the whole process (with the receivers' worker) and by redis-server (INFO cpu,
 * all its clients: keep the machine quiet).
 */
async function cpuNow(store: 'memory' | 'redis'): Promise<{ main: number; all: number; redis: number }> {
  const stat = readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const main = ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, USER_HZ 100
  const u = process.cpuUsage();
  const all = (u.user + u.system) / 1000; // every thread: GC helpers and the receivers' worker too
  if (store !== 'redis') return { main, all, redis: 0 };
  const redis = new Redis(REDIS_URL);
  try {
    const info = await redis.info('cpu');
    const sec = (k: string): number => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
    return { main, all, redis: (sec('used_cpu_sys') + sec('used_cpu_user')) * 1000 };
  } finally {
    redis.disconnect();
  }
}

function lines(n: number, from = 1): NewLine[] {
  return Array.from({ length: n }, (_, i) => ({
    time: '2026-11-26T10:00:00.123456+00:00',
    pri: 134,
    source: 'app',
    ps: 'web.1',
    msg: `${MSG} n=${from + i}`,
  }));
}

async function main(): Promise<void> {
  const N = Number(process.argv[2] ?? 200_000);
  const only = process.argv[3] ?? '';
  const chosen = (kind: string, store: string): boolean =>
    `${kind}-${store}`.includes(only) || `${store}-${kind}`.includes(only);
  const worker = new Worker(__filename);
  const ports = await new Promise<{ http: number; tcp: number; otlp: number }>((r) =>
    worker.once('message', (m) => r(m.ports)),
  );
  const reached = (kind: string, n: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${kind}: not all ${n} lines in ${TIME_LIMIT_MS} ms`)),
        TIME_LIMIT_MS,
      );
      const on = (m: { kind?: string }): void => {
        if (m.kind !== kind) return;
        clearTimeout(timer);
        worker.off('message', on);
        resolve();
      };
      worker.on('message', on);
      worker.postMessage({ reset: n });
    });
  const sample: LogLine[] = lines(500).map((l, i) => ({ seq: i + 1, ...l }));
  const rate = (n: number, ms: number): string => Math.round((n / ms) * 1000).toLocaleString('en-US');
  const lineBytes = frameBatch(sample.slice(0, 1), 'rfc5424', 'd.x').length;
  const rows: string[][] = [];

  // Peers: the same bytes through the bare transports.
  const body = frameBatch(sample, 'logplex', 'host');
  let t0 = performance.now();
  for (let sent = 0; sent < N; sent += 500) {
    const res = await request(`http://127.0.0.1:${ports.http}/`, {
      method: 'POST',
      headers: { 'logplex-msg-count': '500' },
      body,
    });
    await res.body.dump();
  }
  const peerHttp = performance.now() - t0;
  const frames = frameBatch(sample, 'rfc5424', 'd.x');
  const done = reached('tcp', N);
  t0 = performance.now();
  const sock = connect(ports.tcp, '127.0.0.1');
  for (let sent = 0; sent < N; sent += 500) if (!sock.write(frames)) await new Promise((r) => sock.once('drain', r));
  await done;
  const peerTcp = performance.now() - t0;
  sock.destroy();
  const otlpBody = new OtlpTransport(
    { url: new URL(`otlp+http://127.0.0.1:${ports.otlp}`), token: 'd.x', channel: 1, app: 'bench' },
    DEFAULT_TRANSPORT_OPTIONS,
  ).encode(sample, 'peer').body;
  const otlpDone = reached('otlp', N);
  t0 = performance.now();
  for (let sent = 0; sent < N; sent += 500) {
    const res = await request(`http://127.0.0.1:${ports.otlp}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: otlpBody,
    });
    await res.body.dump();
  }
  await otlpDone;
  const peerOtlp = performance.now() - t0;
  rows.push(['peer: undici, 500-line POSTs', 'http', '-', rate(N, peerHttp), '1.00x', '', '', '']);
  rows.push(['peer: bare socket writes', 'tcp', '-', rate(N, peerTcp), '1.00x', '', '', '']);
  rows.push(['peer: undici, 500-record OTLP POSTs', 'otlp', '-', rate(N, peerOtlp), '1.00x', '', '', '']);

  const stores: ('memory' | 'redis')[] = ['memory'];
  if (await redisReachable()) stores.push('redis');
  for (const store of stores) {
    if (!chosen('http', store) && !chosen('tcp', store) && !chosen('otlp', store)) continue;
    const prefix = `sybench:drains:${process.pid}:`;
    const config = loadConfig({
      LOGPLEX_PORT: '0',
      LOGPLEX_SYSLOG_PORT: '0',
      LOGPLEX_HISTORY_LINES: String(N + 1000),
      SWITCHYARD_GRACE_MS: '2000',
      ...(store === 'redis' ? { REDIS_URL } : {}),
    });
    const node = await startLogplex({
      config,
      stores:
        store === 'redis'
          ? redisStores(REDIS_URL, { prefix, historyLines: config.LOGPLEX_HISTORY_LINES })
          : memoryStores(config.LOGPLEX_HISTORY_LINES),
      host: '127.0.0.1',
      apiToken: undefined,
      log: silentLogger,
      drains: { tickMs: 600_000, leaseMs: 1_200_000, pollMs: 5 },
    });
    try {
      for (const [kind, url, peer] of [
        ['http', `http://127.0.0.1:${ports.http}/logs`, peerHttp],
        ['tcp', `syslog://127.0.0.1:${ports.tcp}`, peerTcp],
        ['otlp', `otlp+http://127.0.0.1:${ports.otlp}/v1/logs`, peerOtlp],
      ] as const) {
        if (!chosen(kind, store)) continue;
        const ch = await node.store.createChannel(`bench-${kind}`, ['app']);
        const d = await node.drains.store.create(ch.id, url, { app: 'bench' });
        if (d === 'conflict') throw new Error('conflict');
        // The log is filled first (ingest has its own bench); the clock runs from the moment
        // the scheduler takes the drain until the receiver counted the last line.
        for (let i = 0; i < N; i += 5_000) await node.store.append(ch.id, lines(Math.min(5_000, N - i), i + 1));
        const all = reached(kind, N);
        const cpu0 = await cpuNow(store);
        t0 = performance.now();
        node.drains.scheduler.kick();
        await all;
        const ms = performance.now() - t0;
        const cpu = await cpuNow(store);
        await node.drains.store.remove(ch.id, d.id);
        const perLine = (a: number, b: number): string => (((b - a) * 1000) / N).toFixed(2);
        rows.push([
          'drain',
          kind,
          store,
          rate(N, ms),
          `${(peer / ms).toFixed(2)}x`,
          perLine(cpu0.main, cpu.main),
          perLine(cpu0.all, cpu.all),
          store === 'redis' ? perLine(cpu0.redis, cpu.redis) : '-',
        ]);
      }
    } finally {
      await node.close();
      if (store === 'redis') await deleteKeys(prefix);
    }
  }
  await worker.terminate();
  printReport({
    title: 'Logplex drains: delivery to an HTTP, a syslog TCP and an OTLP/HTTP receiver',
    setup: [
      `${N.toLocaleString('en-US')} lines of ${lineBytes} bytes (framed) from a filled channel log to one drain;` +
        ' "vs peer" is the drain\'s rate over the bare transport\'s; CPU in µs per line over the delivery window.',
    ],
    columns: ['sender', 'to', 'store', 'lines/s', 'vs peer', 'main thread µs', 'process µs', 'redis-server µs'],
    rows,
    ratios: rows
      .filter((r) => r[0] === 'drain')
      .map((r) => {
        const n = Number(r[3]!.replace(/,/g, ''));
        return `${r[1]} ${r[2]}: ${r[3]} lines/s (goal >= 100,000: ${n >= 100_000 ? 'met' : 'MISSED'})`;
      }),
  });
}

if (isMainThread) {
  main().catch((err) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
} else receivers();
