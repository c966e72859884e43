// Balancers under a slow dyno (design.md §Request path, step 4): four single-worker dynos, three taking
// 2 ms per request and one taking 20 ms, and the same open-loop offered load through
// Switchyard for p2c, round-robin and random. A balancer that keeps feeding the slow dyno
// its share (a quarter) overloads it (50 req/s of capacity) and its queue sets the p99;
// p2c sees the slow dyno's in-flight count grow and sends elsewhere. Goal: p2c's p99 at
// least 3x better than random's. Prints a markdown table; writes nothing itself.
//
//   npm run bench:balance [-- --rate 300 --duration 5 --rounds 3 --no-pin]
import type { Balancer } from '../src/router/table/route-table';
import { startBackends } from './lib/backend';
import { disablePinning, pinSelf } from './lib/child';
import { openLoop, type OpenLoopResult } from './lib/open-loop';
import { argValue, fmt, medianBy, printReport, ratioLine } from './lib/report';
import { rmSync } from 'node:fs';
import { BENCH_HEADERS, linesFile, startSwitchyard } from './lib/switchyard';

const PROXY_CPU = 0;
const LOAD_CPU = 1;
const SERIAL_MS = [2, 2, 2, 20];
const BALANCERS: readonly Balancer[] = ['random', 'round-robin', 'p2c'];
/** Enough client connections for every request the slow dyno may queue. */
const CONNECTIONS = 512;

async function main(argv: string[]): Promise<number> {
  const rate = Number(argValue(argv, '--rate') ?? 300);
  const durationS = Number(argValue(argv, '--duration') ?? 5);
  const rounds = Number(argValue(argv, '--rounds') ?? 3);
  if (!(rate > 0 && rate <= 5000) || !(durationS > 0 && durationS <= 60) || !(rounds >= 1 && rounds <= 9)) {
    console.error('--rate must be 1-5000 req/s, --duration 1-60 s and --rounds 1-9');
    return 2;
  }
  if (argv.includes('--no-pin')) disablePinning();
  const pinnedSelf = await pinSelf(LOAD_CPU);
  const backends = await startBackends({ serialMs: SERIAL_MS, cpu: LOAD_CPU });
  const results = new Map<Balancer, OpenLoopResult[]>(BALANCERS.map((b) => [b, []]));
  try {
    // Interleaved rounds, each balancer's median round reported: see bench/router.ts.
    for (let round = 0; round < rounds; round++)
      for (const balancer of BALANCERS) {
        const sy = await startSwitchyard({ balancer, backends: backends.ports, cpu: PROXY_CPU });
        try {
          const origin = `http://127.0.0.1:${sy.ports[0]}`;
          const load = { origin, headers: BENCH_HEADERS, connections: CONNECTIONS };
          await openLoop({ ...load, rate: 50, durationMs: 1000 }); // warm-up, well under capacity
          const r = await openLoop({
            ...load,
            rate,
            durationMs: durationS * 1000,
            drainMs: 20_000,
            countHeader: 'x-dyno',
          });
          results.get(balancer)!.push(r);
          console.log(`# ${balancer}: p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms`);
        } finally {
          await sy.stop();
        }
      }
  } finally {
    await backends.stop();
    rmSync(linesFile(), { force: true });
  }
  const slow = String(SERIAL_MS.indexOf(Math.max(...SERIAL_MS)));
  const median = new Map(BALANCERS.map((b) => [b, medianBy(results.get(b)!, (r) => r.p99)!]));
  const p2c = median.get('p2c')!.p99;
  const perRound = results.get('p2c')!.map((r, i) => fmt(results.get('random')![i]!.p99 / r.p99, 1) + 'x');
  printReport({
    title: 'Router: balancers under a slow dyno',
    setup: [
      `Dynos: one worker each, ${SERIAL_MS.join(' / ')} ms per request; open loop ${rate} req/s for ${durationS} s;` +
        ` median (by p99) of ${rounds} interleaved rounds;`,
      pinnedSelf ? `Switchyard pinned to cpu ${PROXY_CPU}, load + dynos to cpu ${LOAD_CPU}.` : 'not pinned.',
    ],
    columns: ['balancer', 'offered', 'ok', 'errors + timeouts', 'to the slow dyno', 'p50 ms', 'p99 ms', 'max ms'],
    rows: [...median].map(([b, r]) => [
      b,
      r.offered,
      r.ok,
      r.errors + r.timeouts,
      `${fmt((100 * (r.counts[slow] ?? 0)) / Math.max(1, r.ok), 1)}%`,
      fmt(r.p50, 2),
      fmt(r.p99, 2),
      fmt(r.max, 2),
    ]),
    ratios: [
      ratioLine("random's p99 / p2c's p99", median.get('random')!.p99, p2c, 3),
      ratioLine("round-robin's p99 / p2c's p99", median.get('round-robin')!.p99, p2c),
      `random / p2c p99 in each round: ${perRound.join(', ')}`,
    ],
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
