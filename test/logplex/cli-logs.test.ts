// `switchyard logs` against real Logplex nodes (design.md §Tail sessions): Heroku's short flags,
// SWITCHYARD_APP, --search and --since; and --tail that survives its Logplex node going away
// (two nodes on Redis, the first restarted on its port) with no line twice and none missed,
// says so on stderr, and gives up with exit 1 when Logplex does not come back.
import type { ChildProcess } from 'node:child_process';
import t from 'tap';
import { spawnCli, stopChild } from '../fixtures/dev';
import { API_TOKEN, prefixFor, sendLines, startNode, type TestNode } from '../fixtures/logplex';

function cli(t: Parameters<typeof spawnCli>[0], args: string[], env: Record<string, string>) {
  const child: ChildProcess = spawnCli(t, ['logs', ...args], { SWITCHYARD_API_TOKEN: API_TOKEN, ...env });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString('utf8')));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const lines = (): string[] => out.split('\n').filter(Boolean);
  const waitFor = async (ok: () => boolean, what: string, ms = 20_000): Promise<void> => {
    const until = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > until) throw new Error(`${what} not seen; stdout:\n${out}\nstderr:\n${err}`);
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before ${what}:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { child, lines, stderr: () => err, exit, waitFor };
}

const numbersIn = (lines: string[]): number[] =>
  lines.filter((l) => / n=\d+$/.test(l)).map((l) => Number(/ n=(\d+)$/.exec(l)![1]));
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const numbered = (from: number, to: number): [string, string][] => range(from, to).map((n) => ['web.1', `n=${n}`]);

t.test('short flags, SWITCHYARD_APP, --search and --since', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  await sendLines(node, ch.tokens.app!, [
    ['web.2', 'a'],
    ['web.2', 'b'],
    ['web.1', 'noise'],
    ['web.1', 'noise'],
  ]);
  await sendLines(node, ch.tokens.heroku!, [
    ['router', 'at=info status=200 service=5ms'],
    ['router', 'at=error code=H12 status=503 service=30000ms'],
  ]);
  const env = { LOGPLEX_URL: node.base };
  const short = cli(t, ['-a', 'test', '-n', '2', '-d', 'web.2', '-s', 'app'], env);
  t.equal(await short.exit, 0);
  t.match(short.lines(), [/app\[web\.2\]: a$/, /app\[web\.2\]: b$/]);
  t.equal(short.lines().length, 2);
  const byEnv = cli(t, ['--search', 'status>=500'], { ...env, SWITCHYARD_APP: 'test' });
  t.equal(await byEnv.exit, 0);
  t.same(
    byEnv.lines().map((l) => l.slice(l.indexOf(': ') + 2)),
    ['at=error code=H12 status=503 service=30000ms'],
  );
  // The lines are stamped 2026-11-26T10:00:00.123456Z.
  const since = cli(t, ['-a', 'test', '--since', '2026-11-26T09:59:00Z', '--search', 'noise'], env);
  t.equal(await since.exit, 0);
  t.equal(since.lines().length, 2);
  const recent = cli(t, ['-a', 'test', '--since', '10m'], env);
  t.equal(await recent.exit, 0);
  t.same(recent.lines(), [], 'nothing in the last ten minutes');
  const none = cli(t, ['-n', '1'], env);
  t.equal(await none.exit, 2);
  t.match(none.stderr(), /--app \(or SWITCHYARD_APP\) is required/);
});

t.test('--tail resumes across a Logplex node restart (two nodes on Redis): no gap, no duplicate', async (t) => {
  const prefix = await prefixFor(t);
  if (prefix === undefined) return;
  const a = await startNode(t, { store: 'redis', prefix });
  const b = await startNode(t, { store: 'redis', prefix });
  const port = a.httpPort;
  const ch = await a.channel();
  await sendLines(a, ch.tokens.app!, numbered(1, 3));
  const tail = cli(t, ['-a', 'test', '-t', '-n', '3'], { LOGPLEX_URL: a.base });
  await tail.waitFor(() => numbersIn(tail.lines()).length >= 3, 'history');
  const live = await sendUntilShown(a, ch.tokens.app!, 4, tail.lines);
  await a.close();
  await tail.waitFor(() => /lost Logplex .*reconnecting/.test(tail.stderr()), 'the reconnect notice');
  // Lines arrive through B while A is down and the tail cannot reach it.
  await sendLines(b, ch.tokens.app!, numbered(live + 1, live + 20));
  const a2 = await startNode(t, { store: 'redis', prefix, env: { LOGPLEX_PORT: String(port) } });
  await tail.waitFor(() => numbersIn(tail.lines()).includes(live + 20), 'the lines sent while A was away');
  t.match(tail.stderr(), /reconnected; resuming after id \d+/);
  const last = await sendUntilShown(a2, ch.tokens.app!, live + 21, tail.lines);
  t.same(numbersIn(tail.lines()), range(1, last), 'every line once, in order');
  t.equal(await stopChild(tail.child, 'SIGINT'), 0);
});

t.test('--tail gives up with exit 1 and a clear message when Logplex does not come back', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  await sendLines(node, ch.tokens.app!, numbered(1, 1));
  const tail = cli(t, ['-a', 'test', '-t'], { LOGPLEX_URL: node.base, SWITCHYARD_LOGS_GIVE_UP_MS: '1500' });
  await tail.waitFor(() => tail.lines().length >= 1, 'the first line');
  await node.close();
  t.equal(await tail.exit, 1);
  t.match(tail.stderr(), /lost Logplex .*reconnecting…/);
  t.match(tail.stderr(), /Logplex unreachable for \d+ s .*giving up after id 1/);
});

/** Sends numbered lines one at a time until the tail prints one: live delivery works. */
async function sendUntilShown(node: TestNode, token: string, from: number, lines: () => string[]): Promise<number> {
  for (let n = from; n < from + 100; n++) {
    await sendLines(node, token, [['web.1', `n=${n}`]]);
    for (let i = 0; i < 20; i++) {
      if (numbersIn(lines()).includes(n)) return n;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error('live lines never shown');
}
