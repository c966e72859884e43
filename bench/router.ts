// Router throughput and latency against its peers, measured in ONE run: direct to the backend,
// a byte pipe (the ceiling of any proxy on net.Socket), node-http-proxy, a bare undici proxy,
// nginx when installed, and Switchyard with every routing feature on and its router line
// written to a real file (as production writes it). Each proxy
// runs alone in a child pinned to cpu 0 (unless --no-pin); the load generator and the backends
// (nginx answering 100 bytes when installed, else node:http) share cpu 1. `--workers 2` compares
// Switchyard's ROUTER_WORKERS=2 with nginx's 2 workers, unpinned. Prints a markdown table to
// paste into docs/benchmarks.md with the command line.
//
//   npm run bench:router [-- --duration 5 --connections 64 --rounds 3 --tool wrk|autocannon
//                            --peers direct,byte-pipe,node-http-proxy,undici,nginx,switchyard --workers N
//                            --profile DIR (Node servers under --cpu-prof) --no-pin]
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { startBackends } from './lib/backend';
import { startNginx, startNginxBackends, startNodePeer } from './lib/baseline';
import { cpuSeconds, disablePinning, pinSelf, type ServerChild } from './lib/child';
import { defaultTool, peak, type LoadResult, type LoadTool } from './lib/load';
import { openLoop, type OpenLoopResult } from './lib/open-loop';
import { BENCH_HEADERS, linesFile, startSwitchyard } from './lib/switchyard';
import { argValue, fmt, medianBy, printReport, ratioLine } from './lib/report';

const PROXY_CPU = 0;
const LOAD_CPU = 1;
const DYNOS = 4;

type Peer = 'direct' | 'byte-pipe' | 'node-http-proxy' | 'undici' | 'nginx' | 'switchyard';

/** A peak run, with the requests the server answered per CPU-second it used. */
type PeakRun = LoadResult & { perCpuS: number | undefined };

interface Row {
  peer: Peer;
  peaks: PeakRun[];
  quarters: OpenLoopResult[];
  skipped?: string;
}

const ORDER: readonly Peer[] = ['direct', 'byte-pipe', 'node-http-proxy', 'undici', 'nginx', 'switchyard'];

async function main(argv: string[]): Promise<number> {
  const durationS = Number(argValue(argv, '--duration') ?? 5);
  const connections = Number(argValue(argv, '--connections') ?? 64);
  const rounds = Number(argValue(argv, '--rounds') ?? 3);
  const tool = (argValue(argv, '--tool') ?? defaultTool) as LoadTool;
  const profileDir = argValue(argv, '--profile');
  const workers = Number(argValue(argv, '--workers') ?? 1);
  const only = argValue(argv, '--peers')?.split(',') ?? (workers > 1 ? ['nginx', 'switchyard'] : undefined);
  if (
    !(durationS > 0 && durationS <= 60) ||
    !(connections > 0 && connections <= 1000) ||
    !(rounds >= 1 && rounds <= 9) ||
    !(workers >= 1 && workers <= 8)
  ) {
    console.error('--duration must be 1-60 s, --connections 1-1000, --rounds 1-9 and --workers 1-8');
    return 2;
  }
  // Several workers use every core: nothing is pinned then.
  if (argv.includes('--no-pin') || workers > 1) disablePinning();
  const pinnedSelf = await pinSelf(LOAD_CPU);
  const lines = linesFile();
  rmSync(lines, { force: true });
  const nginxBackends = await startNginxBackends(DYNOS, LOAD_CPU);
  const backends = 'skipped' in nginxBackends ? await startBackends({ count: DYNOS, cpu: LOAD_CPU }) : nginxBackends;
  // For peak throughput, direct gets its own backend on the proxies' core: the backend
  // alone on one core. For latency, direct goes to the very backends the proxies use, so
  // the difference is the proxy's own hop.
  const directBackend = await startBackends({ count: 1, cpu: PROXY_CPU });
  let directTarget: ServerChild = directBackend;

  const starters: Record<Peer, () => Promise<ServerChild | { skipped: string }>> = {
    switchyard: () =>
      startSwitchyard({
        balancer: 'p2c',
        backends: backends.ports,
        cpu: PROXY_CPU,
        profileDir,
        linesFile: lines,
        workers,
      }),
    direct: async () => ({ ...directTarget, stop: async () => undefined }),
    'node-http-proxy': () => startNodePeer('http-proxy', backends.ports, PROXY_CPU, profileDir),
    undici: () => startNodePeer('undici', backends.ports, PROXY_CPU, profileDir),
    'byte-pipe': () => startNodePeer('byte-pipe', backends.ports, PROXY_CPU, profileDir),
    nginx: () => startNginx(backends.ports, PROXY_CPU, workers),
  };
  const peers = ORDER.filter((p) => !only || only.includes(p));
  const rows = new Map<Peer, Row>(peers.map((peer) => [peer, { peer, peaks: [], quarters: [] }]));
  /** Starts a peer, runs `fn` on its URL, stops it; a skipped peer is noted once. */
  const session = async (peer: Peer, fn: (url: string, server: ServerChild) => Promise<string>): Promise<void> => {
    const row = rows.get(peer)!;
    if (row.skipped) return;
    const started = await starters[peer]();
    if ('skipped' in started) {
      console.log(`# ${peer}: skipped: ${started.skipped}`);
      row.skipped = started.skipped;
      return;
    }
    try {
      console.log(`# ${peer}: ${await fn(`http://127.0.0.1:${started.ports[0]}`, started)}`);
    } finally {
      await started.stop();
    }
  };
  let rate = 0;
  try {
    // Rounds interleave the peers, so a neighbour's burst on this shared machine lands
    // on every peer alike; the report takes each peer's median round.
    for (let round = 0; round < rounds; round++) {
      for (const peer of peers) {
        await session(peer, async (url, server) => {
          const load = { url: url + '/', headers: BENCH_HEADERS, connections, cpu: LOAD_CPU, tool };
          await peak({ ...load, durationS: 1 }); // warm-up: JIT, pools, connections
          const cpu0 = cpuSeconds(server.pid);
          const r = await peak({ ...load, durationS });
          const cpu1 = cpuSeconds(server.pid);
          const perCpuS =
            cpu0 !== undefined && cpu1 !== undefined && cpu1 > cpu0 ? r.requests / (cpu1 - cpu0) : undefined;
          rows.get(peer)!.peaks.push({ ...r, perCpuS });
          return `${fmt(r.rps, 0)} req/s, p99 ${fmt(r.p99, 2)} ms, ${perCpuS ? fmt(perCpuS, 0) : '-'} req per CPU-second`;
        });
      }
    }
    const syPeak = medianBy(rows.get('switchyard')?.peaks ?? [], (r) => r.rps);
    rate = syPeak ? Math.max(100, Math.round(syPeak.rps / 4)) : 0;
    directTarget = backends;
    // The latency goal compares Switchyard with the backend alone; a peer slower than
    // Switchyard would run near its own peak at this rate, which measures nothing useful.
    for (let round = 0; rate > 0 && workers === 1 && round < rounds; round++) {
      for (const peer of peers.filter((p) => p === 'direct' || p === 'switchyard')) {
        await session(peer, async (url) => {
          const load = { origin: url, headers: BENCH_HEADERS, rate, connections };
          // Each session starts a fresh child: one second at peak first (as the peak runs get), so the
          // JIT has seen tens of thousands of requests before the tail is measured, then the rate itself.
          await peak({ url: url + '/', headers: BENCH_HEADERS, connections, cpu: LOAD_CPU, tool, durationS: 1 });
          await openLoop({ ...load, durationMs: 1000 });
          const r = await openLoop({ ...load, durationMs: durationS * 1000 });
          rows.get(peer)!.quarters.push(r);
          return `p50 ${fmt(r.p50, 3)} ms, p99 ${fmt(r.p99, 3)} ms at ${rate} req/s`;
        });
      }
    }
  } finally {
    await backends.stop();
    await directBackend.stop();
  }
  const written = existsSync(lines) ? readFileSync(lines, 'latin1').split('\n').length - 1 : 0;
  rmSync(lines, { force: true });
  report([...rows.values()], { durationS, connections, rounds, tool, rate, pinned: pinnedSelf, workers });
  console.log(`router lines written to a file during the run: ${written}`);
  console.log(`backends: ${'skipped' in nginxBackends ? 'node:http' : 'nginx'}, ${DYNOS} ports`);
  return 0;
}

function report(
  rows: Row[],
  o: {
    durationS: number;
    connections: number;
    rounds: number;
    tool: LoadTool;
    rate: number;
    pinned: boolean;
    workers: number;
  },
): void {
  const peakOf = (p: Peer): PeakRun | undefined => medianBy(rows.find((r) => r.peer === p)?.peaks ?? [], (r) => r.rps);
  const perCpuOf = (p: Peer): number | undefined =>
    medianBy(rows.find((r) => r.peer === p)?.peaks ?? [], (r) => r.perCpuS ?? 0)?.perCpuS;
  const quarterOf = (p: Peer): OpenLoopResult | undefined =>
    medianBy(rows.find((r) => r.peer === p)?.quarters ?? [], (r) => r.p99);
  const setup = [
    `${o.tool}, ${o.connections} connections, ${o.durationS} s per run, median of ${o.rounds} interleaved rounds;`,
    o.pinned
      ? `proxy pinned to cpu ${PROXY_CPU}, load + backends to cpu ${LOAD_CPU} (taskset);`
      : 'not pinned (--no-pin, or taskset missing);',
    ...(o.workers > 1
      ? [`${o.workers} workers each: Switchyard ROUTER_WORKERS=${o.workers}, nginx worker_processes ${o.workers};`]
      : []),
    `latency at a quarter of Switchyard's peak: open loop, ${o.workers > 1 ? '-' : o.rate || '-'} req/s.`,
  ];
  const table: string[][] = [];
  for (const r of rows) {
    const p = peakOf(r.peer);
    if (!p) {
      table.push([r.peer, `skipped: ${r.skipped ?? 'not run'}`, '', '', '', '', '', '']);
      continue;
    }
    const q = quarterOf(r.peer);
    const errors = [...r.peaks.map((x) => x.errors), ...r.quarters.map((x) => x.errors + x.timeouts)].reduce(
      (a, b) => a + b,
      0,
    );
    table.push([
      r.peer,
      fmt(p.rps, 0),
      fmt(p.p50, 2),
      fmt(p.p99, 2),
      fmt(perCpuOf(r.peer) ?? NaN, 0),
      String(errors),
      q ? fmt(q.p50, 3) : '-',
      q ? fmt(q.p99, 3) : '-',
    ]);
  }
  const ratios: string[] = [];
  const sy = peakOf('switchyard');
  if (!sy) ratios.push('Switchyard not measured: no ratios.');
  else {
    const goals: [string, Peer, number][] = [
      ['node-http-proxy', 'node-http-proxy', 1.5],
      ['bare undici', 'undici', 1.5],
      ['nginx (stretch)', 'nginx', 0.5],
    ];
    for (const [label, peer, goal] of goals) {
      ratios.push(ratioLine(`req/s: Switchyard / ${label}`, sy.rps, peakOf(peer)?.rps, goal));
    }
    // The same ratios per CPU-second each server used: steadier when neighbours steal time.
    const syCpu = perCpuOf('switchyard');
    for (const [label, peer, goal] of goals) {
      if (syCpu) ratios.push(ratioLine(`req per CPU-s: Switchyard / ${label}`, syCpu, perCpuOf(peer), goal));
    }
    // No goal: the byte pipe is the ceiling of a proxy on net.Socket, how close we are to it.
    ratios.push(ratioLine("req/s: Switchyard / byte pipe (Node's ceiling)", sy.rps, peakOf('byte-pipe')?.rps));
    const direct = quarterOf('direct');
    const syq = quarterOf('switchyard');
    if (syq && direct) {
      const added = syq.p99 - direct.p99;
      ratios.push(`p99 added at ${o.rate} req/s: ${fmt(added, 3)} ms (goal <= 1 ms: ${added <= 1 ? 'met' : 'MISSED'})`);
    }
  }
  printReport({
    title: 'Router: Switchyard against its peers',
    setup,
    columns: ['peer', 'req/s', 'p50 ms', 'p99 ms', 'req per CPU-s', 'errors', '1/4-peak p50 ms', '1/4-peak p99 ms'],
    rows: table,
    ratios,
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
