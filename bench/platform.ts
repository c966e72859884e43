// Platform benchmark (design.md §How the parts meet: "a curl through the router shows up in `switchyard logs --tail`
// and in the viewer within a second"). Starts `switchyard dev --demo` as a child process, opens a
// WebSocket tail on `hello`, sends N requests through the router one after another (bounded in count
// and time), and measures, per request, response end → its router line and its app line on the tail.
// Same run, for scale: the request's own round trip through the router. Run:
//   npx tsc -p tsconfig.test.json && node build/bench/platform.js [requests]
import { spawn } from 'node:child_process';
import { request } from 'undici';
import { WebSocket } from 'ws';
import { devPorts, MAIN } from '../test/fixtures/dev';
import { printReport } from './lib/report';

const N = Math.min(Number(process.argv[2] ?? 500), 20_000);
const MAX_SECONDS = 60;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function main(): Promise<void> {
  const dev = spawn(process.execPath, [MAIN, 'dev', '--demo', ...devPorts()], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  dev.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const deadline = Date.now() + 20_000;
  while (!(/dyno=web\.1 msg="dyno up"/.test(out) && /dyno=web\.2 msg="dyno up"/.test(out)) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  const router = /router +(http:\S+)/.exec(out)?.[1];
  const logplex = /Logplex API +(http:\S+)\/v2\/channels/.exec(out)?.[1];
  if (!router || !logplex) throw new Error('dev did not start:\n' + out);
  try {
    const apps = (await (await request(logplex + '/v2/channels?name=hello')).body.json()) as {
      name: string;
      channel_id: number;
    }[];
    const s = await request(logplex + '/v2/sessions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel_id: apps[0]!.channel_id, num: 0, tail: true }),
    });
    const { url } = (await s.body.json()) as { url: string };
    const ws = new WebSocket(url.replace(/^http/, 'ws'));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const seen = new Map<string, { router?: number; app?: number }>();
    ws.on('message', (m) => {
      const line = m.toString();
      const id = /request_id=(bench-\d+)/.exec(line)?.[1];
      if (!id) return;
      const e = seen.get(id) ?? {};
      if (line.includes('heroku[router]')) e.router = performance.now();
      else if (/ app\[web\.\d\]/.test(line)) e.app = performance.now();
      seen.set(id, e);
    });
    const done = new Map<string, number>();
    const rtt: number[] = [];
    const stopAt = Date.now() + MAX_SECONDS * 1000;
    for (let i = 0; i < N && Date.now() < stopAt; i++) {
      const id = `bench-${String(i).padStart(16, '0')}`;
      const t0 = performance.now();
      const res = await request(router + '/', { headers: { host: 'hello.localhost', 'x-request-id': id } });
      await res.body.dump();
      const t1 = performance.now();
      rtt.push(t1 - t0);
      done.set(id, t1);
    }
    const waitUntil = Date.now() + 5_000;
    while (Date.now() < waitUntil && [...done.keys()].some((id) => !(seen.get(id)?.router && seen.get(id)?.app)))
      await new Promise((r) => setTimeout(r, 20));
    const toRouter: number[] = [];
    const toApp: number[] = [];
    let missing = 0;
    for (const [id, t1] of done) {
      const e = seen.get(id);
      if (e?.router === undefined || e.app === undefined) missing++;
      if (e?.router !== undefined) toRouter.push(Math.max(0, e.router - t1));
      if (e?.app !== undefined) toApp.push(Math.max(0, e.app - t1));
    }
    ws.terminate();
    const row = (name: string, xs: number[]): string[] => [
      name,
      pct(xs, 50).toFixed(1),
      pct(xs, 99).toFixed(1),
      Math.max(...xs).toFixed(1),
    ];
    printReport({
      title: 'The platform: request → its log lines on a tail',
      setup: [
        `${done.size} requests one after another through \`switchyard dev --demo\`; lines missing after 5 s: ${missing}.`,
      ],
      columns: ['measure (ms)', 'p50', 'p99', 'max'],
      rows: [
        row('request round trip through the router', rtt),
        row('response end → router line on the tail', toRouter),
        row('response end → app line on the tail', toApp),
      ],
      ratios: [`p99 router line / 1 s goal: ${(pct(toRouter, 99) / 1000).toFixed(3)}`],
    });
  } finally {
    dev.kill('SIGTERM');
    await new Promise((r) => dev.once('exit', r));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
