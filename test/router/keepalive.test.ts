// Step 5, keep-alive race: a pooled connection the dyno closes just as a request goes out. This dyno
// answers the first request on each connection and kills the connection on the second one, without a
// byte of response: exactly what a reused connection meets when the dyno's idle timer wins the race.
import t from 'tap';
import { createServer, type Socket } from 'node:net';
import { request } from 'undici';
import { app, dyno, startPlane } from '../fixtures/plane';
import { eventually } from '../fixtures/router';

async function racyDyno(t: { teardown(fn: () => unknown): void }): Promise<{ port: number; requests: string[] }> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => undefined);
    let served = 0;
    let buf = '';
    sock.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buf.slice(0, end);
        const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        buf = buf.slice(end + 4 + len);
        requests.push(head.split('\r\n')[0]!);
        if (++served === 2) return void sock.destroy();
        sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as { port: number }).port, requests };
}

t.test('a GET that dies on a reused connection is replayed once on a fresh one', async (t) => {
  const d = await racyDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const first = await request(p.url + '/one', { headers: { host: 'hello.localhost' } });
  t.equal(await first.body.text(), 'ok');
  const second = await request(p.url + '/two', { headers: { host: 'hello.localhost' } });
  t.equal(second.statusCode, 200, 'the client never sees the race');
  t.equal(await second.body.text(), 'ok');
  t.same(d.requests, ['GET /one HTTP/1.1', 'GET /two HTTP/1.1', 'GET /two HTTP/1.1']);
  t.match(p.lines[1]!, /^at=info .*status=200 .* attempts=2 tried=web\.1,web\.1$/);
});

t.test('a POST whose body went out on the dying connection is not replayed: H13', async (t) => {
  const d = await racyDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const first = await request(p.url + '/one', { headers: { host: 'hello.localhost' } });
  await first.body.text();
  const post = await request(p.url + '/pay', { method: 'POST', body: 'abc', headers: { host: 'hello.localhost' } });
  t.equal(post.statusCode, 503);
  t.match(await post.body.text(), /H13/);
  t.same(d.requests, ['GET /one HTTP/1.1', 'POST /pay HTTP/1.1'], 'the dyno saw the POST once');
  t.match(p.lines[1]!, /^at=error code=H13 /);
});

t.test('pooled dyno connections idle for ROUTER_POOL_IDLE_MS are closed by the router', async (t) => {
  const { startDyno } = await import('../fixtures/dyno');
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], { ROUTER_POOL_IDLE_MS: '100' });
  await (await request(p.url, { headers: { host: 'hello.localhost' } })).body.text();
  t.equal(d.connections(), 1, 'kept alive after the response');
  const held = await p.registry.metrics();
  t.match(held, /switchyard_router_dyno_connections\{state="open"\} 1\n/);
  t.match(held, /switchyard_router_dyno_connections\{state="idle"\} 1\n/);
  // Bounded by time, not by a count of ticks: the idle timer can fire late on a loaded machine.
  await eventually(() => d.connections() === 0, 10_000, 'the idle pooled connection closed');
  t.pass('closed once idle');
  const again = await request(p.url, { headers: { host: 'hello.localhost' } });
  t.equal(again.statusCode, 200, 'and a new one opens for the next request');
  await again.body.text();
});

/**
 * A raw dyno answering every request with `Keep-Alive: timeout=N`; counts connections and their closes.
 * It never closes a connection itself, so a close it sees is the router's.
 */
async function announcingDyno(t: { teardown(fn: () => unknown): void }, timeoutS: number) {
  const state = { connections: 0, closed: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    state.connections++;
    sock.on('error', () => undefined);
    sock.on('close', () => state.closed++);
    let buf = '';
    sock.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
        buf = buf.slice(end + 4);
        sock.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=${timeoutS}\r\n\r\nok`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as { port: number }).port, state };
}

t.test(
  "a dyno's Keep-Alive: timeout=2 has its idle connection closed by the router, whose own idle is 60 s",
  async (t) => {
    const d = await announcingDyno(t, 2);
    const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], { ROUTER_POOL_IDLE_MS: '60000' });
    for (const path of ['/a', '/b'])
      t.equal(await (await request(p.url + path, { headers: { host: 'hello.localhost' } })).body.text(), 'ok');
    t.equal(d.state.connections, 1, 'reused while the dyno keeps it');
    const started = Date.now();
    while (d.state.closed === 0 && Date.now() - started < 5_000) await new Promise((r) => setTimeout(r, 20));
    t.equal(d.state.closed, 1, 'closed by the router while idle (the dyno never closes on its own)');
  },
);

t.test("a dyno's Keep-Alive: timeout=1 leaves no room: its connections are not reused", async (t) => {
  const d = await announcingDyno(t, 1);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  for (const path of ['/a', '/b'])
    t.equal(await (await request(p.url + path, { headers: { host: 'hello.localhost' } })).body.text(), 'ok');
  t.equal(d.state.connections, 2, 'one connection per request');
});
