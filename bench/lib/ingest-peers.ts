// Syslog TCP ingest against rsyslog, each receiver in its own process pinned to one core, a
// sender process pinned to the other (bench/logplex.ts `--peers` and `--cluster`). The pieces:
//   - a Logplex node child (`node ingest-peers.js node STORE REDIS_URL PREFIX MIN_CHANNEL`): the
//     composition root's startLogplex on the embedded store or on Redis, one channel, answering `n` on stdin
//     with the channel's last stored seq (lines stored, read from the store itself);
//   - rsyslogd with a private config, port, work directory and pid file under a temp dir, imtcp
//     in, omfile out (a real file: it keeps every line as Logplex does; its line count is what
//     rsyslog stored);
//   - a sender child (`node ingest-peers.js send PORT LINES CONNS TOKEN`): pre-built
//     octet-counted RFC 5424 frames of 200 bytes written in 64 KiB chunks over several TCP
//     connections, bounded in count and time, printing its own CPU time so a report can show
//     it was not the bottleneck.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfig } from '../../src/shared/config';
import { silentLogger } from '../../src/shared/log';
import { encodeFrame } from '../../src/shared/syslog/frame';
import { formatSyslog, formatTimestamp } from '../../src/shared/syslog/rfc5424';
import { startLogplex } from '../../src/logplex/index';
import { memoryStores, redisStores } from '../../src/logplex/store/open';
import { RSYSLOGD, rsyslogConf } from '../../test/fixtures/rsyslog';
import { cpuSeconds, pinned } from './child';

export const LINE_BYTES = 200;
/** Frames per write: 64 KiB-ish chunks, as a batching sender (rsyslog's omfwd, loggen) writes. */
const FRAMES_PER_CHUNK = 320;
/** Every run ends by then, stored or not. */
export const RUN_LIMIT_MS = 60_000;
/** How often the orchestrator asks a receiver how many lines it stored. */
const POLL_MS = 10;

/** One 200-byte octet-counted frame for `token`; `n` (fixed width) starts MSG. */
export function benchFrame(token: string, n: number, time = formatTimestamp(Date.now())): Buffer {
  const fields = { pri: 190, timestamp: time, hostname: 'host', appName: token, procId: 'web.1' };
  const head = formatSyslog({ ...fields, msg: '' });
  const msg = `n=${n}`.padEnd(LINE_BYTES - 4 - head.length - 1, 'x');
  const f = encodeFrame(formatSyslog({ ...fields, msg }));
  if (f.length !== LINE_BYTES) throw new Error(`frame is ${f.length} bytes`);
  return f;
}

/** A receiver under test, as the orchestrator sees it. */
export interface Receiver {
  readonly name: string;
  readonly port: number;
  /** The APP-NAME the sender puts in each frame (the channel token for Logplex). */
  readonly token: string;
  readonly pid: number;
  /** Lines stored so far. */
  stored(): Promise<number>;
  stop(): Promise<void>;
}

/** Spawns `cmd`, resolves with the first stdout line matching `ready` and a line reader. */
function spawnReady(
  name: string,
  cmd: string,
  args: string[],
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray; lines: AsyncIterator<string> }> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`${name}: not ready in 15 s`))), 15_000);
    child.once('error', reject);
    void (async () => {
      for (;;) {
        const r = await lines.next();
        if (r.done) return reject(new Error(`${name}: exited before it was ready`));
        const match = ready.exec(r.value);
        if (match) {
          clearTimeout(timer);
          return resolve({ child, match, lines });
        }
      }
    })();
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin?.end();
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export interface NodeOptions {
  store: 'memory' | 'redis';
  redisUrl?: string;
  prefix?: string;
  cpu?: number;
  /** The node makes a new channel whose id is at least this (its Cluster master follows from it). */
  channel?: number;
  /** Directory for `node --cpu-prof`. */
  profileDir?: string;
}

/** A Logplex node in a child process. */
export async function startNodeChild(o: NodeOptions): Promise<Receiver & { channel: number }> {
  const nodeArgs = o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [];
  const [cmd, args] = pinned(o.cpu, process.execPath, [
    ...nodeArgs,
    __filename,
    'node',
    o.store,
    o.redisUrl ?? '-',
    o.prefix ?? '-',
    String(o.channel ?? 0),
  ]);
  const { child, match, lines } = await spawnReady(`logplex/${o.store}`, cmd, args, /^ready (\d+) (\d+) (\S+)$/);
  const stored = async (): Promise<number> => {
    child.stdin!.write('n\n');
    const r = await lines.next();
    return r.done ? NaN : Number(r.value);
  };
  return {
    name: `logplex/${o.store}`,
    port: Number(match[1]),
    channel: Number(match[2]),
    token: match[3]!,
    pid: child.pid!,
    stored,
    stop: () => stopProcess(child),
  };
}

/** Child side of startNodeChild. */
async function nodeMain([store, redisUrl, prefix, minChannel]: string[]): Promise<void> {
  const config = loadConfig({
    LOGPLEX_PORT: '0',
    LOGPLEX_SYSLOG_PORT: '0',
    ...(redisUrl !== '-' ? { REDIS_URL: redisUrl! } : {}),
    SWITCHYARD_GRACE_MS: '1000',
    // One channel takes everything here: the per-channel bucket is measured in phase 5.
    LOGPLEX_CHANNEL_RATE: '0',
  });
  const stores =
    store === 'redis'
      ? redisStores(redisUrl!, { prefix: prefix!, historyLines: config.LOGPLEX_HISTORY_LINES })
      : memoryStores(config.LOGPLEX_HISTORY_LINES);
  const node = await startLogplex({ config, stores, host: '127.0.0.1', apiToken: undefined, log: silentLogger });
  // A new channel, with at least the id asked for (its hash slot picks its Cluster master).
  let c = await node.store.createChannel('bench', ['app']);
  for (let n = 0; c.id < Number(minChannel) && n < 1000; n++) c = await node.store.createChannel('bench', ['app']);
  const id = c.id;
  const tok = c.tokens[0]!.token;
  process.stdout.write(`ready ${node.syslogPort} ${id} ${tok}\n`);
  let stopping: Promise<void> | undefined;
  const stop = (): void => void (stopping ??= node.close().then(() => process.exit(0)));
  process.once('SIGTERM', stop);
  // The stored count is the channel's newest seq: lines appended, whatever the history keeps.
  for await (const _ of createInterface({ input: process.stdin })) {
    const last = await node.store.readBefore(id, Infinity, 1);
    process.stdout.write(`${last[0]?.seq ?? 0}\n`);
  }
  stop();
}

/** rsyslogd with imtcp on a port it picks, omfile to a file in its own temp dir. */
export async function startRsyslog(cpu?: number): Promise<Receiver> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bench-rsyslog-'));
  const out = join(dir, 'out.log');
  const portFile = join(dir, 'port');
  const conf = join(dir, 'rsyslog.conf');
  // The stored line is what a Logplex tail shows: time, app[proc]: msg.
  const template = '%timereported:::date-rfc3339% %app-name%[%procid%]: %msg%\\n';
  writeFileSync(conf, rsyslogConf({ dir, port: 0, portFile, out, template }));
  const [cmd, args] = pinned(cpu, RSYSLOGD, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 10_000;
  while (!existsSync(portFile) || readFileSync(portFile, 'utf8').trim() === '') {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error('rsyslogd did not start');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  let lineBytes = 0;
  return {
    name: 'rsyslog',
    port: Number(readFileSync(portFile, 'utf8').trim()),
    token: 'app',
    pid: child.pid!,
    // Every stored line has the same length (fixed-width frames): size / length is the count.
    async stored() {
      if (!existsSync(out)) return 0;
      if (lineBytes === 0) {
        const head = readFileSync(out, 'utf8');
        const nl = head.indexOf('\n');
        if (nl < 0) return 0;
        lineBytes = nl + 1;
      }
      return Math.floor(statSync(out).size / lineBytes);
    },
    async stop() {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SendResult {
  /** Wall time from the first write to the last line stored at the receiver. */
  seconds: number;
  lines: number;
  stored: number;
  /** The sender's CPU seconds over its wall seconds: below 1, it was not what limited the rate. */
  senderBusy: number;
  /** The receiver's CPU seconds per million lines stored. */
  receiverCpuPerMillion: number;
}

/**
 * Sends `lines` frames over `conns` connections from a sender child pinned to `cpu`, and
 * polls the receiver until it stored them all (bounded by RUN_LIMIT_MS).
 */
export async function blast(r: Receiver, lines: number, conns: number, cpu?: number): Promise<SendResult> {
  const before = await r.stored();
  const cpu0 = cpuSeconds(r.pid) ?? NaN;
  const [cmd, args] = pinned(cpu, process.execPath, [
    __filename,
    'send',
    String(r.port),
    String(lines),
    String(conns),
    r.token,
  ]);
  const { child, lines: out } = await spawnReady(`sender→${r.name}`, cmd, args, /^start$/);
  const t0 = performance.now();
  const deadline = t0 + RUN_LIMIT_MS;
  let stored = 0;
  while ((stored = (await r.stored()) - before) < lines && performance.now() < deadline)
    await new Promise((res) => setTimeout(res, POLL_MS));
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(r.pid) ?? NaN;
  const done = await out.next();
  await stopProcess(child);
  const [senderCpu, senderWall] = String(done.value ?? 'NaN NaN')
    .split(' ')
    .map(Number);
  return {
    seconds,
    lines,
    stored,
    senderBusy: senderCpu! / senderWall!,
    receiverCpuPerMillion: ((cpu1 - cpu0) / Math.max(stored, 1)) * 1e6,
  };
}

/** Child side of blast: writes, then prints `CPU-SECONDS WALL-SECONDS` and waits to be stopped. */
async function sendMain([port, total, conns, token]: string[]): Promise<void> {
  const lines = Number(total);
  const n = Number(conns);
  const time = formatTimestamp(Date.now());
  const chunk = Buffer.concat(Array.from({ length: FRAMES_PER_CHUNK }, (_, i) => benchFrame(token!, i, time)));
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof connect>>((resolve, reject) => {
          const s = connect(Number(port), '127.0.0.1', () => resolve(s));
          s.once('error', reject);
        }),
    ),
  );
  const per = Math.ceil(lines / n);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + RUN_LIMIT_MS;
  process.stdout.write('start\n');
  await Promise.all(
    sockets.map(
      (s, c) =>
        new Promise<void>((resolve, reject) => {
          const mine = Math.max(0, Math.min(per, lines - c * per));
          let sent = 0;
          s.once('error', reject);
          const pump = (): void => {
            while (sent < mine && performance.now() < deadline) {
              const k = Math.min(FRAMES_PER_CHUNK, mine - sent);
              sent += k;
              if (!s.write(k === FRAMES_PER_CHUNK ? chunk : chunk.subarray(0, k * LINE_BYTES)))
                return void s.once('drain', pump);
            }
            s.end(resolve);
          };
          pump();
        }),
    ),
  );
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`${(cpu.user + cpu.system) / 1e6} ${(performance.now() - t0) / 1000}\n`);
  process.stdin.resume();
  process.stdin.once('end', () => process.exit(0));
  process.once('SIGTERM', () => process.exit(0));
}

if (require.main === module) {
  const [mode, ...rest] = process.argv.slice(2);
  const run = mode === 'node' ? nodeMain(rest) : mode === 'send' ? sendMain(rest) : Promise.reject(new Error(mode));
  run.catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
