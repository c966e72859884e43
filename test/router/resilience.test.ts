// Step 1 as an attacker meets it: slowloris heads, slow uploads, silent sockets and a flood of
// pipelined requests on one connection must not starve an app. Request buffering keeps an
// unfinished upload out of admission (no app slot, no dyno connection), a connection reads one
// request at a time, and every buffer has a bound — so ordinary requests keep getting 200.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { request, Agent } from 'undici';
import { startDyno } from '../fixtures/dyno';
import { app, dyno, startPlane } from '../fixtures/plane';
import { rawExchange } from '../fixtures/raw-client';

const H = 'Host: hello.localhost\r\n';

function open(port: number, sockets: Socket[], bytes: string): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      if (bytes !== '') s.write(bytes);
      resolve();
    });
    s.on('error', () => resolve());
    sockets.push(s);
  });
}

async function gauge(registry: { metrics(): Promise<string> }, name: string): Promise<number> {
  const m = new RegExp(`^switchyard_router_${name} (\\d+)$`, 'm').exec(await registry.metrics());
  return m === null ? NaN : Number(m[1]);
}

t.test(
  '1,500 abusive connections: ordinary requests to the same app still get 200, memory stays bounded',
  async (t) => {
    const d = await startDyno(t);
    // A small app: one dyno and a low in-flight cap, so a held slot would show at once as H11.
    const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], { ROUTER_APP_MAX_INFLIGHT: '20' });
    const sockets: Socket[] = [];
    t.teardown(() => {
      for (const s of sockets) s.destroy();
    });
    const heapBefore = process.memoryUsage().heapUsed;
    const abuse: Promise<void>[] = [];
    for (let i = 0; i < 500; i++) {
      abuse.push(open(p.plane.port, sockets, `GET /slow-head HTTP/1.1\r\n${H}X-Slow: `));
      abuse.push(open(p.plane.port, sockets, `POST /slow-body HTTP/1.1\r\n${H}Content-Length: 100000\r\n\r\nabc`));
      abuse.push(open(p.plane.port, sockets, ''));
      if (i % 100 === 99) await Promise.all(abuse.splice(0));
    }
    await Promise.all(abuse);
    // Let the router read what they sent (bounded wait).
    for (let i = 0; i < 100 && (await gauge(p.registry, 'buffered_requests')) < 500; i++)
      await new Promise((r) => setTimeout(r, 20));
    t.equal(await gauge(p.registry, 'buffered_requests'), 500, 'the 500 slow uploads are being buffered');
    t.equal(await gauge(p.registry, 'buffered_request_bytes'), 1500, 'holding their 3 bytes each, nothing more');
    t.equal(await gauge(p.registry, 'in_flight'), 0, 'none of them was admitted');

    const agent = new Agent({ connections: 10 });
    t.teardown(() => agent.close());
    const ordinary = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const res = await request(p.url, {
          dispatcher: agent,
          headers: { host: 'hello.localhost' },
          headersTimeout: 10_000,
        });
        await res.body.text();
        return res.statusCode;
      }),
    );
    t.same(
      ordinary.filter((s) => s !== 200),
      [],
      'all 50 ordinary requests answered 200',
    );
    t.equal(d.seen.length, 50, 'only they reached the dyno');
    t.ok((await gauge(p.registry, 'client_connections')) >= 1500, 'the abusive connections are still open');
    // Bounded: the 1,500 connections cost little (parser state, a few held bytes each).
    const grown = process.memoryUsage().heapUsed - heapBefore;
    t.ok(grown < 96 * 1024 * 1024, `heap grew by ${Math.round(grown / 1024 / 1024)} MiB`);
  },
);

t.test('a flood of pipelined requests on one connection waits in its own socket', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  // 20,000 pipelined GETs (about 1 MB) from a client that never reads its responses.
  const flood = connect(p.plane.port, '127.0.0.1');
  t.teardown(() => flood.destroy());
  flood.on('error', () => undefined);
  flood.pause();
  await new Promise((r) => flood.once('connect', r));
  flood.write(`GET /flood HTTP/1.1\r\n${H}\r\n`.repeat(20_000));
  for (let i = 0; i < 50 && d.seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  for (let i = 0; i < 20; i++) {
    const res = await request(p.url + '/normal', { headers: { host: 'hello.localhost' }, headersTimeout: 10_000 });
    await res.body.text();
    t.equal(res.statusCode, 200, `ordinary request ${i}`);
  }
  const flooded = d.seen.filter((s) => s.url === '/flood').length;
  // One at a time, and only while its responses drain: the unread ones stop it.
  t.ok(flooded < 20_000, `${flooded} of the flood served, the rest wait unread in the client's own socket`);
  t.equal(d.seen.filter((s) => s.url === '/normal').length, 20);
});

t.test('a body that does not arrive within ROUTER_BODY_TIMEOUT_MS: 408 H28, never forwarded', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], { ROUTER_BODY_TIMEOUT_MS: '200' });
  const { text: got } = await rawExchange(p.plane.port, `POST /upload HTTP/1.1\r\n${H}Content-Length: 1000\r\n\r\n`, {
    maxMs: 5_000,
    // Trickles: each byte in time for any idle timer, the whole far too late.
    then: (sock) => {
      const drip = setInterval(() => (sock.writable ? sock.write('x') : clearInterval(drip)), 20);
      sock.on('close', () => clearInterval(drip));
    },
  });
  t.match(got, /^HTTP\/1\.1 408 /);
  t.match(got, /H28/);
  t.equal(d.seen.length, 0);
  t.match(p.lines[0]!, /^at=error code=H28 desc="Client Connection Idle" method=POST path="\/upload" .*status=408 /);
});

t.test('a body larger than ROUTER_BUFFER_BODY_BYTES streams: the dyno sees it before it ends', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], {
    ROUTER_BUFFER_BODY_BYTES: '1024',
    ROUTER_BODY_TIMEOUT_MS: '5000',
  });
  const sock = connect(p.plane.port, '127.0.0.1');
  t.teardown(() => sock.destroy());
  sock.on('error', () => undefined);
  let text = '';
  sock.on('data', (c: Buffer) => (text += c.toString('latin1')));
  await new Promise((r) => sock.once('connect', r));
  sock.write(`POST /big HTTP/1.1\r\n${H}Content-Length: 4096\r\nConnection: close\r\n\r\n${'a'.repeat(2048)}`);
  for (let i = 0; i < 100 && d.heads() === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(d.heads(), 1, 'the head went to the dyno while the body was still coming');
  sock.write('b'.repeat(2048));
  for (let i = 0; i < 100 && !text.includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 20));
  t.match(text, /^HTTP\/1\.1 200 /);
  t.equal(d.seen[0]?.bodyBytes, 4096);
});
