// Router throughput and latency against its peers, measured in ONE run (STYLE habit 15):
// direct to the backend, node-http-proxy, a bare undici proxy, nginx when installed, and
// Switchyard with every routing feature on. Each proxy runs alone in a child pinned to
// cpu 0; the load generator and the backends share cpu 1. Prints a markdown table to paste
// into docs/benchmarks.md with the command line. Writes nothing itself.
//
//   npm run bench:router [-- --duration 5 --connections 64 --tool wrk|autocannon --profile DIR]
import { cpus } from 'node:os';
import { startBackends } from './lib/backend';
import { startNginx, startNodePeer } from './lib/baseline';
import { canPin, pinSelf, type ServerChild } from './lib/child';
import { defaultTool, peak, type LoadResult, type LoadTool } from './lib/load';
import { openLoop, type OpenLoopResult } from './lib/open-loop';
import { BENCH_HOST, findDataPlane, startSwitchyard } from './lib/switchyard';
import { argValue, fmt, ratioLine } from './lib/report';

const PROXY_CPU = 0;
const LOAD_CPU = 1;
const DYNOS = 4;

type Peer = 'direct' | 'node-http-proxy' | 'undici' | 'nginx' | 'switchyard';

interface Row {
  peer: Peer;
  peak?: LoadResult;
  quarter?: OpenLoopResult;
  skipped?: string;
}

async function main(argv: string[]): Promise<number> {
  const durationS = Number(argValue(argv, '--duration') ?? 5);
  const connections = Number(argValue(argv, '--connections') ?? 64);
  const tool = (argValue(argv, '--tool') ?? defaultTool) as LoadTool;
  const profileDir = argValue(argv, '--profile');
  if (!(durationS > 0 && durationS <= 60) || !(connections > 0 && connections <= 1000)) {
    console.error('--duration must be 1-60 s and --connections 1-1000');
    return 2;
  }
  const pinnedSelf = await pinSelf(LOAD_CPU);
  const backends = await startBackends({ count: DYNOS, cpu: LOAD_CPU });
  // Direct gets its own backend on the proxies' core: the backend alone, on one core.
  const directBackend = await startBackends({ count: 1, cpu: PROXY_CPU });

  const starters: Record<Peer, () => Promise<ServerChild | { skipped: string }>> = {
    switchyard: async () =>
      findDataPlane()
        ? startSwitchyard({ balancer: 'p2c', backends: backends.ports, cpu: PROXY_CPU, profileDir })
        : { skipped: 'src/router/server.ts does not export startDataPlane yet' },
    direct: async () => ({ ...directBackend, stop: async () => undefined }),
    'node-http-proxy': () => startNodePeer('http-proxy', backends.ports, PROXY_CPU),
    undici: () => startNodePeer('undici', backends.ports, PROXY_CPU),
    nginx: () => startNginx(backends.ports, PROXY_CPU),
  };
  const rows: Row[] = [];
  try {
    // Switchyard first: its peak sets the rate of the latency runs.
    let rate = 0;
    for (const peer of Object.keys(starters) as Peer[]) {
      const started = await starters[peer]();
      if ('skipped' in started) {
        console.log(`# ${peer}: skipped: ${started.skipped}`);
        rows.push({ peer, skipped: started.skipped });
        continue;
      }
      try {
        const url = `http://127.0.0.1:${started.ports[0]}/`;
        const load = { url, host: BENCH_HOST, connections, cpu: LOAD_CPU, tool };
        await peak({ ...load, durationS: 1 }); // warm-up: JIT, pools, connections
        const row: Row = { peer, peak: await peak({ ...load, durationS }) };
        if (peer === 'switchyard') rate = Math.max(100, Math.round(row.peak!.rps / 4));
        if (rate > 0) {
          row.quarter = await openLoop({ origin: url.slice(0, -1), host: BENCH_HOST, rate, durationMs: durationS * 1000, connections });
        }
        rows.push(row);
        console.log(`# ${peer}: ${fmt(row.peak!.rps, 0)} req/s` + (row.quarter ? `, p99 ${fmt(row.quarter.p99, 2)} ms at ${rate} req/s` : ''));
      } finally {
        await started.stop();
      }
    }
    report(rows, { durationS, connections, tool, rate, pinned: canPin && pinnedSelf });
  } finally {
    await backends.stop();
    await directBackend.stop();
  }
  return 0;
}

function report(rows: Row[], o: { durationS: number; connections: number; tool: LoadTool; rate: number; pinned: boolean }): void {
  const by = (p: Peer): Row | undefined => rows.find((r) => r.peer === p && r.peak);
  const order: Peer[] = ['direct', 'node-http-proxy', 'undici', 'nginx', 'switchyard'];
  console.log(`\nnode ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}; ${o.tool}, ${o.connections} connections, ${o.durationS} s per run;`);
  console.log(o.pinned ? `proxy pinned to cpu ${PROXY_CPU}, load + backends to cpu ${LOAD_CPU} (taskset)` : 'not pinned (taskset missing)');
  console.log(`latency at a quarter of Switchyard's peak: open loop, ${o.rate || '-'} req/s\n`);
  console.log('| peer | req/s | p50 ms | p99 ms | errors | 1/4-peak p50 ms | 1/4-peak p99 ms |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const peer of order) {
    const r = rows.find((x) => x.peer === peer);
    if (!r) continue;
    if (!r.peak) {
      console.log(`| ${peer} | skipped: ${r.skipped} | | | | | |`);
      continue;
    }
    const q = r.quarter;
    const qErr = q ? q.errors + q.timeouts : 0;
    console.log(
      `| ${peer} | ${fmt(r.peak.rps, 0)} | ${fmt(r.peak.p50, 2)} | ${fmt(r.peak.p99, 2)} | ${r.peak.errors + qErr} | ${q ? fmt(q.p50, 3) : '-'} | ${q ? fmt(q.p99, 3) : '-'} |`,
    );
  }
  const sy = by('switchyard');
  console.log('');
  if (!sy) {
    console.log('Switchyard not measured: no ratios.');
    return;
  }
  console.log(ratioLine('Switchyard / node-http-proxy', sy.peak!.rps, by('node-http-proxy')?.peak?.rps, 1.5));
  console.log(ratioLine('Switchyard / bare undici', sy.peak!.rps, by('undici')?.peak?.rps, 0.9));
  console.log(ratioLine('Switchyard / nginx (stretch)', sy.peak!.rps, by('nginx')?.peak?.rps, 0.5));
  const direct = by('direct')?.quarter;
  if (sy.quarter && direct) {
    const added = sy.quarter.p99 - direct.p99;
    console.log(`p99 added at ${o.rate} req/s: ${fmt(added, 3)} ms (goal <= 1 ms: ${added <= 1 ? 'met' : 'MISSED'})`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
