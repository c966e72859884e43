// bench/logplex.ts `--peers`: syslog TCP ingest of Logplex (on Redis and on the embedded store)
// against rsyslog's imtcp, in interleaved rounds, each receiver alone in a process pinned to
// CPU 0 and the sender pinned to CPU 1. `--cluster`: two Logplex nodes on a local Redis Cluster
// (3 masters, 3 replicas: the test fixture's), each with its own sender and channel, against one.
// Lines/s are counted at the receiver: the channel's newest seq for Logplex, rsyslog's output
// file for rsyslog.
import { spawn } from 'node:child_process';
import Redis from 'ioredis';
import { nodeCall, startOwnCluster, startOwnRedis } from '../../test/fixtures/redis-server';
import { isPinning, pinSelf } from './child';
import { blast, startNodeChild, startRsyslog, type Receiver, type SendResult } from './ingest-peers';
import { fmt, medianBy, printReport, type Cell } from './report';

const TARGET_CPU = 0;
const SENDER_CPU = 1;
/** Sender connections per receiver. */
const CONNS = 4;

type Target = 'rsyslog' | 'logplex/redis' | 'logplex/memory';

interface Run extends SendResult {
  /** Redis CPU seconds per million lines (Logplex on Redis only). */
  redisCpuPerMillion?: number;
}

const rate = (r: SendResult): number => r.stored / r.seconds;

/** CPU seconds Redis used so far (INFO cpu), summed over the given servers. */
async function redisCpu(urls: readonly string[]): Promise<number> {
  let total = 0;
  for (const url of urls) {
    const r = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
    r.on('error', () => undefined);
    try {
      await r.connect();
      const info = await r.info('cpu');
      for (const k of ['used_cpu_sys', 'used_cpu_user']) total += Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1]);
    } finally {
      r.disconnect();
    }
  }
  return total;
}

/** Pins the redis-server answering at `url` (every thread) to `cpu`. */
async function pinPid(url: string, cpu: number): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const pid = Number(/process_id:(\d+)/.exec(await r.info('server'))?.[1]);
    if (!isPinning()) return;
    const taskset = spawn('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    await new Promise((resolve) => taskset.on('exit', resolve).on('error', resolve));
  } finally {
    r.disconnect();
  }
}

async function measure(r: Receiver, lines: number, redisUrls: readonly string[] = []): Promise<Run> {
  const c0 = redisUrls.length ? await redisCpu(redisUrls) : 0;
  const run: Run = await blast(r, lines, CONNS, SENDER_CPU);
  if (redisUrls.length) run.redisCpuPerMillion = ((await redisCpu(redisUrls)) - c0) / (run.stored / 1e6);
  if (run.stored < lines) throw new Error(`${r.name}: stored ${run.stored} of ${lines} within the time limit`);
  return run;
}

export async function peersMain(opts: {
  lines: number;
  rounds: number;
  profileDir?: string;
  /** Logplex targets to run (rsyslog always runs: it is what the others are divided by). */
  only?: readonly string[];
}): Promise<void> {
  await pinSelf(SENDER_CPU);
  const redis = await startOwnRedis();
  if (!redis) throw new Error('redis-server is needed for --peers');
  // Redis on the sender's core: left to the scheduler it lands on the node's core at times, and
  // then the node waits for the core it shares rather than for Redis.
  await pinPid(redis.url, SENDER_CPU);
  const runs = new Map<Target, Run[]>([
    ['rsyslog', []],
    ['logplex/redis', []],
    ['logplex/memory', []],
  ]);
  const targets = [...runs.keys()].filter((t) => !opts.only || t === 'rsyslog' || opts.only.includes(t));
  try {
    for (let round = 0; round < opts.rounds; round++) {
      // Interleaved: each round starts with the next target, so drift of the machine's load
      // spreads over all of them.
      for (let i = 0; i < targets.length; i++) {
        const target = targets[(round + i) % targets.length]!;
        const receiver =
          target === 'rsyslog'
            ? await startRsyslog(TARGET_CPU)
            : await startNodeChild({
                store: target === 'logplex/redis' ? 'redis' : 'memory',
                redisUrl: redis.url,
                prefix: `sybench:peers:${round}:`,
                cpu: TARGET_CPU,
                ...(opts.profileDir ? { profileDir: opts.profileDir } : {}),
              });
        try {
          const run = await measure(receiver, opts.lines, target === 'logplex/redis' ? [redis.url] : []);
          runs.get(target)!.push(run);
          const busy = (perMillion: number | undefined): string =>
            `${Math.round(((perMillion ?? NaN) * rate(run)) / 1e4)}%`;
          process.stderr.write(
            `# round ${round + 1} ${target}: ${fmt(rate(run), 0)} lines/s; receiver ${busy(run.receiverCpuPerMillion)} busy, ${fmt(run.receiverCpuPerMillion, 2)} µs/line` +
              (run.redisCpuPerMillion === undefined ? '\n' : `, Redis ${busy(run.redisCpuPerMillion)} busy\n`),
          );
        } finally {
          await receiver.stop();
        }
      }
    }
  } finally {
    await redis.destroy();
  }
  const med = (t: Target): Run => medianBy(runs.get(t)!, rate)!;
  // Ratios per round (same machine load), then the median of those: by wall clock, and by the
  // receiver's own CPU time (what one core of its own would ingest; other work on a shared
  // machine moves it least).
  const perRound = (t: Target, of: (r: Run) => number): number => {
    const rs = runs.get('rsyslog')!;
    return medianBy(
      runs.get(t)!.map((r, i) => of(r) / of(rs[i]!)),
      (x) => x,
    )!;
  };
  const perCore = (r: Run): number => 1e6 / r.receiverCpuPerMillion;
  const rows: Cell[][] = targets.map((t) => {
    const m = med(t);
    const all = runs.get(t)!.map(rate);
    return [
      t,
      fmt(rate(m), 0),
      `${fmt(Math.min(...all), 0)}–${fmt(Math.max(...all), 0)}`,
      t === 'rsyslog' ? '1.00x' : `${fmt(perRound(t, rate), 2)}x`,
      `${Math.round((rate(m) * m.receiverCpuPerMillion) / 1e4)}%`,
      fmt(
        medianBy(runs.get(t)!.map(perCore), (x) => x)!,
        0,
      ),
      t === 'rsyslog' ? '1.00x' : `${fmt(perRound(t, perCore), 2)}x`,
      m.redisCpuPerMillion === undefined ? '' : fmt(m.redisCpuPerMillion, 2),
      `${Math.round(m.senderBusy * 100)}%`,
    ];
  });
  const met = (x: number): string => `(goal >= 0.5x: ${x >= 0.5 ? 'met' : 'MISSED'})`;
  const ratio = (t: Target, label: string, goal: boolean): string[] => {
    if (!targets.includes(t)) return [];
    const wall = perRound(t, rate);
    const core = perRound(t, perCore);
    return [
      `${label} / rsyslog: ${fmt(wall, 2)}x by wall clock${goal ? ' ' + met(wall) : ''}; ` +
        `${fmt(core, 2)}x per receiver CPU-second${goal ? ' ' + met(core) : ''}`,
    ];
  };
  printReport({
    title: 'Logplex ingest against rsyslog',
    setup: [
      `${fmt(opts.lines, 0)} octet-counted RFC 5424 lines of 200 bytes over ${CONNS} TCP connections per run, ${opts.rounds} interleaved rounds; ` +
        `each receiver alone in a process pinned to CPU ${TARGET_CPU}, the sender pinned to CPU ${SENDER_CPU}, Redis (its own redis-server, no persistence) pinned with the sender.`,
      'lines/s: lines stored at the receiver (Logplex: the channel’s newest seq; rsyslog: lines in its omfile output) from the first write to the last line stored; median round, and the range. ' +
        'per receiver CPU-s: lines stored per CPU-second the receiver used (Redis’s own time not counted: its column).',
    ],
    columns: [
      'receiver',
      'lines/s',
      'range',
      'vs rsyslog',
      'receiver busy',
      'lines per receiver CPU-s',
      'vs rsyslog per CPU-s',
      'Redis CPU µs / line',
      'sender busy',
    ],
    rows,
    ratios: [
      ...ratio('logplex/redis', 'Logplex on Redis', true),
      ...ratio('logplex/memory', 'Logplex embedded', false),
    ],
  });
}

export async function clusterMain(opts: { lines: number; rounds: number }): Promise<void> {
  const cluster = await startOwnCluster();
  if (!cluster) throw new Error('redis-server and redis-cli are needed for --cluster');
  const servers = cluster.ports.map((p) => `redis://127.0.0.1:${p}`);
  const prefix = `sybench:cluster:${process.pid}:`;
  const nodes: (Receiver & { channel: number })[] = [];
  const one: Run[] = [];
  const two: { a: Run; b: Run; redisCpuPerMillion: number }[] = [];
  try {
    nodes.push(await startNodeChild({ store: 'redis', redisUrl: cluster.url, prefix, cpu: 0 }));
    // The second node's channel on another master, as two apps' channels mostly are.
    const other = await channelOnOtherMaster(cluster.ports[0]!, nodes[0]!.channel);
    nodes.push(await startNodeChild({ store: 'redis', redisUrl: cluster.url, prefix, cpu: 1, channel: other }));
    for (let round = 0; round < opts.rounds; round++) {
      // Alternate which goes first.
      const steps = [
        async () => one.push(await measure(nodes[0]!, opts.lines, servers)),
        async () => {
          const c0 = await redisCpu(servers);
          // Senders unpinned: both cores run a node.
          const [a, b] = await Promise.all(nodes.map((n) => blast(n, opts.lines, CONNS)));
          const redisCpuPerMillion = ((await redisCpu(servers)) - c0) / ((a!.stored + b!.stored) / 1e6);
          two.push({ a: a!, b: b!, redisCpuPerMillion });
        },
      ];
      if (round % 2) steps.reverse();
      for (const s of steps) await s();
      process.stderr.write(
        `# round ${round + 1}: one node ${fmt(rate(one.at(-1)!), 0)}, two nodes ${fmt(total(two.at(-1)!), 0)} lines/s\n`,
      );
    }
  } finally {
    for (const n of nodes) await n.stop();
    await cluster.destroy();
  }
  const oneMed = medianBy(one, rate)!;
  const twoMed = medianBy(two, total)!;
  const ratio = medianBy(
    two.map((t, i) => total(t) / rate(one[i]!)),
    (x) => x,
  )!;
  printReport({
    title: 'Logplex ingest: two nodes on a Redis Cluster',
    setup: [
      `A local Redis Cluster (3 masters, 3 replicas); each node its own channel and sender, ${fmt(opts.lines, 0)} lines of 200 bytes over ${CONNS} connections per sender, ${opts.rounds} interleaved rounds.`,
      'The two channels hash to different masters. One node: pinned to CPU 0, its sender to CPU 1. Two nodes: pinned to CPU 0 and CPU 1, both senders unpinned (the machine has 2 cores, so senders and the 6 Redis processes share them with the nodes).',
    ],
    columns: ['setup', 'lines/s (total)', 'per node', 'node CPU s / 1M lines', 'Redis CPU s / 1M lines (6 servers)'],
    rows: [
      [
        'one node',
        fmt(rate(oneMed), 0),
        fmt(rate(oneMed), 0),
        fmt(oneMed.receiverCpuPerMillion, 2),
        fmt(oneMed.redisCpuPerMillion ?? NaN, 2),
      ],
      [
        'two nodes',
        fmt(total(twoMed), 0),
        `${fmt(rate(twoMed.a), 0)} + ${fmt(rate(twoMed.b), 0)}`,
        fmt((twoMed.a.receiverCpuPerMillion + twoMed.b.receiverCpuPerMillion) / 2, 2),
        fmt(twoMed.redisCpuPerMillion, 2),
      ],
    ],
    ratios: [
      `two nodes / one node: ${fmt(ratio, 2)}x (goal about 2x)`,
      `per node core (1 / node CPU per line): one node ${fmt(1e6 / oneMed.receiverCpuPerMillion, 0)} lines/s, two nodes ${fmt(1e6 / twoMed.a.receiverCpuPerMillion, 0)} and ${fmt(1e6 / twoMed.b.receiverCpuPerMillion, 0)}`,
      `what 2 cores can ingest at most here, node and Redis CPU per line together: ${fmt(2e6 / (oneMed.receiverCpuPerMillion + (oneMed.redisCpuPerMillion ?? 0)), 0)} lines/s`,
    ],
  });
}

/** The master serving the hash slot of channel `id`'s keys (`{id}`), as `host:port`. */
async function masterOf(port: number, id: number): Promise<string> {
  const slot = Number(await nodeCall(port, 'CLUSTER', 'KEYSLOT', `{${id}}`));
  const ranges = (await nodeCall(port, 'CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const r = ranges.find(([lo, hi]) => slot >= lo && slot <= hi);
  return r ? `${r[2][0]}:${r[2][1]}` : '';
}

/** The smallest channel id above `id` whose keys live on another master than `id`'s. */
async function channelOnOtherMaster(port: number, id: number): Promise<number> {
  const mine = await masterOf(port, id);
  for (let next = id + 1; next < id + 100; next++) if ((await masterOf(port, next)) !== mine) return next;
  return id + 1;
}

/** Both nodes' stored lines over the longer of the two runs. */
const total = (t: { a: Run; b: Run }): number => (t.a.stored + t.b.stored) / Math.max(t.a.seconds, t.b.seconds);
