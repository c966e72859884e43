// Step 8: Upgrade requests are proxied as a byte pipe after the 101, with the same rules.
import t from 'tap';
import { WebSocket } from 'ws';
import { request } from 'undici';
import { refusingPort, startDyno } from '../fixtures/dyno';
import { app, dyno, startPlane, type TestPlane } from '../fixtures/plane';
import { eventually } from '../fixtures/router';

function open(url: string, host: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { host } });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
  });
}

t.test('WebSocket echo through the router, with the router headers at the dyno', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const ws = await open(p.url.replace('http', 'ws') + '/chat', 'hello.localhost');
  const echoed = await new Promise<string>((resolve) => {
    ws.once('message', (m) => resolve(m.toString()));
    ws.send('ping through the router');
  });
  t.equal(echoed, 'ping through the router');
  const big = Buffer.alloc(200_000, 7);
  const back = await new Promise<Buffer>((resolve) => {
    ws.once('message', (m) => resolve(m as Buffer));
    ws.send(big);
  });
  t.equal(back.length, big.length);
  ws.close();
  t.equal(d.seen[0]!.url, '/chat');
  t.match(d.seen[0]!.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  t.equal(d.seen[0]!.headers.via, '1.1 switchyard');
  t.match(p.lines[0]!, /^at=info method=GET path="\/chat" .* dyno=web\.1 .*status=101 /);
});

t.test('WebSocket: a refused dyno is retried on another', async (t) => {
  const d = await startDyno(t, 'web.2');
  const dead = await refusingPort();
  const p = await startPlane(t, [
    app('hello', [dyno('web.1', dead), dyno('web.2', d.port)], { balancer: 'round-robin' }),
  ]);
  const ws = await open(p.url.replace('http', 'ws'), 'hello.localhost');
  ws.close();
  t.match(p.lines[0]!, /status=101 .* attempts=2 tried=web\.1,web\.2$/);
});

t.test('WebSocket to an app with no dynos: 503 H14; unknown host: 404', async (t) => {
  const p = await startPlane(t, [app('empty', [])]);
  await t.rejects(open(p.url.replace('http', 'ws'), 'empty.localhost'), /status 503/);
  await t.rejects(open(p.url.replace('http', 'ws'), 'nope.localhost'), /status 404/);
  t.match(p.lines[0]!, /^at=error code=H14 /);
});

/** Resolves once the router has no open pipe left (it saw the close), bounded. */
async function pipesClosed(p: TestPlane): Promise<void> {
  await eventually(
    async () => /switchyard_router_websocket_connections 0/.test(await p.registry.metrics()),
    2000,
    'pipes closed',
  );
}

t.test(
  'WebSocket idle beyond ROUTER_IDLE_TIMEOUT_MS: both sides closed, one H15 line after the 101 line',
  async (t) => {
    const d = await startDyno(t);
    const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], { ROUTER_IDLE_TIMEOUT_MS: '200' });
    const ws = await open(p.url.replace('http', 'ws') + '/idle', 'hello.localhost');
    const echoed = new Promise<void>((resolve) => ws.once('message', () => resolve()));
    ws.send('one message, then silence');
    await echoed;
    const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    t.equal(code, 1006, 'closed without a close frame: the pipe was cut');
    await pipesClosed(p);
    t.equal(p.lines.length, 2, 'the 101 line and the H15 line, nothing more');
    t.match(p.lines[0]!, /^at=info method=GET path="\/idle" .*status=101 /);
    t.match(
      p.lines[1]!,
      /^at=error code=H15 desc="Idle connection" method=GET path="\/idle" host=hello\.localhost .*dyno=web\.1 .*status=503 bytes=\d+ protocol=http$/,
    );
    t.match(p.lines[1]!, / service=\d+ms /);
    t.ok(Number(/bytes=(\d+)/.exec(p.lines[1]!)![1]) > 0, 'bytes counts what the pipe relayed to the client');
    t.same(
      p.entries.map((e) => [e.app, e.code, e.status]),
      [
        ['hello', undefined, 101],
        ['hello', 'H15', 503],
      ],
      'both lines reach the app channel',
    );
    t.equal(p.entries[1]!.line, p.lines[1]);
    const metrics = await p.registry.metrics();
    t.match(metrics, /switchyard_router_upstream_errors_total\{code="H15"\} 1/);
    t.match(
      metrics,
      /switchyard_router_requests_total\{app="hello",class="1xx",code="none"\} 1/,
      'counted once as a request',
    );
  },
);

t.test('WebSocket closed normally: exactly one router line', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const ws = await open(p.url.replace('http', 'ws'), 'hello.localhost');
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.close();
  await closed;
  await pipesClosed(p);
  t.equal(p.lines.length, 1);
  t.match(p.lines[0]!, /^at=info .*status=101 /);
  t.equal(p.entries.length, 1);
  t.notMatch(await p.registry.metrics(), /code="H15"/);
});

t.test('open WebSockets count toward H11 while open, and give their slot back once on close', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], { ROUTER_APP_MAX_INFLIGHT: '2' });
  const get = async (): Promise<number> => {
    const res = await request(p.url, { headers: { host: 'hello.localhost' } });
    await res.body.text();
    return res.statusCode;
  };
  const wsUrl = p.url.replace('http', 'ws');
  const a = await open(wsUrl, 'hello.localhost');
  const b = await open(wsUrl, 'hello.localhost');
  t.equal(p.plane.inspector.appInFlight('hello'), 2, 'each open pipe holds one slot');
  t.equal(await get(), 503, 'two open pipes fill the app at 2 per dyno');
  t.match(p.lines.at(-1)!, /^at=error code=H11 /);
  await t.rejects(open(wsUrl, 'hello.localhost'), /status 503/, 'a third upgrade is shed too');
  a.close();
  await eventually(async () => (await get()) === 200, 2000, 'a slot freed by the close');
  const c = await open(wsUrl, 'hello.localhost');
  // Released exactly once: a double release would leave room for this request.
  t.equal(await get(), 503, 'the reopened pipe takes the freed slot, and only that one');
  b.close();
  c.close();
  await pipesClosed(p);
  t.equal(p.plane.inspector.appInFlight('hello'), 0, 'every slot given back, none twice');
  t.equal(await get(), 200);
});

t.test('a table change never closes an open WebSocket', async (t) => {
  const d = await startDyno(t, 'web.1');
  const d2 = await startDyno(t, 'web.2');
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const ws = await open(p.url.replace('http', 'ws'), 'hello.localhost');
  p.setTable([app('hello', [dyno('web.2', d2.port)])]);
  // A request on the new table makes the router close the departed dyno's pool.
  const { request } = await import('undici');
  await (await request(p.url, { headers: { host: 'hello.localhost' } })).body.text();
  const echoed = await new Promise<string>((resolve) => {
    ws.once('message', (m) => resolve(m.toString()));
    ws.send('still here');
  });
  t.equal(echoed, 'still here');
  ws.close();
});

t.test('open WebSockets and client connections show in the gauges', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const ws = await open(p.url.replace('http', 'ws'), 'hello.localhost');
  const text = await p.registry.metrics();
  t.match(text, /switchyard_router_websocket_connections 1/);
  t.match(text, /switchyard_router_client_connections 1/);
  ws.close();
});

t.test('an upgrade opens a dyno connection of its own, never a pooled one, and the pool never sees it', async (t) => {
  // An upgrade is never replayed, so a keep-alive race on a pooled connection would fail it; and
  // pooled connections read into the shared buffer, where a piped socket needs a stream (design.md step 8).
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  await (await request(p.url, { headers: { host: 'hello.localhost' } })).body.text();
  t.equal(d.connections(), 1, 'a plain request left one pooled connection');
  const before = await p.registry.metrics();
  t.match(before, /switchyard_router_dyno_connections\{state="idle"\} 1\n/);
  const ws = await open(p.url.replace('http', 'ws'), 'hello.localhost');
  const echoed = await new Promise<string>((resolve) => {
    ws.once('message', (m) => resolve(m.toString()));
    ws.send('on a connection of its own');
  });
  t.equal(echoed, 'on a connection of its own');
  t.equal(d.connections(), 2, 'the upgrade opened a new connection');
  const during = await p.registry.metrics();
  t.match(during, /switchyard_router_dyno_connections\{state="open"\} 1\n/, "the piped socket is not the pool's");
  t.match(during, /switchyard_router_dyno_connections\{state="idle"\} 1\n/, 'the pooled connection stayed idle');
  t.match(during, /switchyard_router_websocket_connections 1/);
  await (await request(p.url, { headers: { host: 'hello.localhost' } })).body.text();
  t.equal(d.connections(), 2, 'the next plain request reuses the pooled connection');
  ws.close();
  await pipesClosed(p);
  await eventually(() => d.connections() === 1, 2000, "the pipe's dyno connection closed");
  t.match(await p.registry.metrics(), /switchyard_router_dyno_connections\{state="open"\} 1\n/);
});
