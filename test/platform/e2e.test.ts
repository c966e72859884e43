// The platform end to end (design.md §How the parts meet): `switchyard dev --demo` as a real process; a request
// through the router shows up as a `heroku[router]` line and an `app[web.N]` line, both in
// `switchyard logs` (spawned) and over a tail session's WebSocket.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { request } from 'undici';
import WebSocket from 'ws';
import { devPorts, spawnCli, startDev, stopChild, watchOutput, type DevProcess } from '../fixtures/dev';

async function throughRouter(dev: DevProcess, path: string): Promise<{ status: number; body: string; id: string }> {
  // X-Request-Id of 20–200 allowed chars is kept by the router (design.md §Request path, step 6), so the test can find its lines.
  const id = 'e2e-' + randomUUID();
  const res = await request(dev.router + path, { headers: { host: 'hello.localhost', 'x-request-id': id } });
  return { status: res.statusCode, body: await res.body.text(), id };
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

t.test('dev --demo: a request appears in `switchyard logs` and over the WebSocket', async (t) => {
  const dev = await startDev(t, ['--demo']);
  // Both demo dynos announce themselves once they listen and are registered.
  await dev.waitFor(/dyno=web\.1 msg="dyno up"/);
  await dev.waitFor(/dyno=web\.2 msg="dyno up"/);

  // Open a tail first (history too, so ordering cannot lose the lines).
  const tail = spawnCli(t, ['logs', '--app', 'hello', '--tail', '--num', '50'], { LOGPLEX_URL: dev.logplex });
  const tailOut = watchOutput(tail);

  const r = await throughRouter(dev, '/e2e');
  t.equal(r.status, 200);
  t.match(r.body, /^Hello from web\.[12]! You asked for \/e2e/);
  const dyno = /web\.[12]/.exec(r.body)![0];

  const routerLine = new RegExp(
    `heroku\\[router\\]: at=info method=GET path="/e2e" host=hello\\.localhost request_id=${escape(r.id)} .*dyno=${escape(dyno)} .*status=200`,
  );
  const appLine = new RegExp(`app\\[${escape(dyno)}\\]: GET /e2e 200 .*request_id=${escape(r.id)}`);
  await tailOut.waitFor(routerLine);
  await tailOut.waitFor(appLine);
  t.pass('logs --tail showed the router line and the app line');
  await tailOut.waitFor(/heroku\[web\.1\]: State changed from starting to up/);
  t.equal(await stopChild(tail, 'SIGINT'), 0, 'logs --tail ends cleanly on SIGINT');

  // One-shot `logs` (no --tail) with a dyno filter: only that dyno's lines.
  const once = spawnCli(t, ['logs', '--app', 'hello', '--num', '100', '--dyno', dyno, '--source', 'app'], {
    LOGPLEX_URL: dev.logplex,
  });
  const onceOut = watchOutput(once);
  const code = await new Promise<number | null>((resolve) => once.once('exit', resolve));
  t.equal(code, 0);
  t.match(onceOut.output(), appLine);
  t.notMatch(onceOut.output(), /heroku\[router\]/, '--source app leaves router lines out');
  t.notMatch(onceOut.output(), new RegExp(`app\\[(?!${escape(dyno)}\\])`), '--dyno keeps one dyno');

  // The WebSocket tail (what the viewer uses).
  const apps = (await (await request(dev.logplex + '/v2/channels?name=hello')).body.json()) as {
    name: string;
    channel_id: number;
  }[];
  const hello = apps.find((a) => a.name === 'hello');
  t.ok(hello, 'GET /v2/channels?name=hello finds its channel');
  const sres = await request(dev.logplex + '/v2/sessions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel_id: hello!.channel_id, num: 0, tail: true }),
  });
  t.equal(sres.statusCode, 201);
  const session = (await sres.body.json()) as { url: string };
  const ws = new WebSocket(session.url.replace(/^http/, 'ws'));
  t.teardown(() => ws.terminate());
  const got: string[] = [];
  ws.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const r2 = await throughRouter(dev, '/over-ws');
  t.equal(r2.status, 200);
  const deadline = Date.now() + 10_000;
  const has = (re: RegExp): boolean => got.some((l) => re.test(l));
  const wsRouter = new RegExp(`heroku\\[router\\]: .*path="/over-ws" .*request_id=${escape(r2.id)}`);
  const wsApp = new RegExp(`app\\[web\\.[12]\\]: GET /over-ws 200 .*request_id=${escape(r2.id)}`);
  while (!(has(wsRouter) && has(wsApp)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.ok(has(wsRouter), 'router line over WebSocket');
  t.ok(has(wsApp), 'app line over WebSocket');
});

t.test('logs: an unknown app is a clear message and exit 1', async (t) => {
  const dev = await startDev(t);
  const child = spawnCli(t, ['logs', '--app', 'nosuchapp'], { LOGPLEX_URL: dev.logplex });
  const out = watchOutput(child);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.equal(code, 1);
  t.match(out.output(), /switchyard logs: no app named "nosuchapp" \(apps: none yet\)/);
});

t.test('dev: a port already in use is one clear line and exit 1', async (t) => {
  const { createServer } = await import('node:net');
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  t.teardown(() => busy.close());
  const port = (busy.address() as { port: number }).port;
  const child = spawnCli(t, ['dev', ...devPorts([], { '--router-port': port })]);
  const out = watchOutput(child);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.equal(code, 1);
  t.match(
    out.output(),
    new RegExp(`switchyard dev: 127\\.0\\.0\\.1:${port} is already in use; choose other ports with --router-port`),
  );
});
