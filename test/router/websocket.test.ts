// Step 8: Upgrade requests are proxied as a byte pipe after the 101, with the same rules.
import t from 'tap';
import { WebSocket } from 'ws';
import { refusingPort, startDyno } from '../fixtures/dyno';
import { app, dyno, startPlane } from '../fixtures/plane';

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
  const p = await startPlane(t, [app('hello', [dyno('web.1', dead), dyno('web.2', d.port)], { balancer: 'round-robin' })]);
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

t.test('WebSocket idle beyond ROUTER_IDLE_TIMEOUT_MS: both sides closed', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], { ROUTER_IDLE_TIMEOUT_MS: '200' });
  const ws = await open(p.url.replace('http', 'ws'), 'hello.localhost');
  const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
  t.equal(code, 1006, 'closed without a close frame: the pipe was cut');
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
