// Both sides of the data plane read into one buffer the process shares (client/lent-reads.ts,
// upstream/pool.ts; design.md §Request path step 5): every byte kept past a read must have been
// copied. These run many connections at once, so the shared buffer is overwritten between any two
// reads of one connection: a kept slice that was not copied shows up as a wrong body.
import { createHash } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { adoptLent } from '../../src/router/client/lent-reads';
import { eventually } from '../fixtures/eventually';
import { app, dyno, startPlane } from '../fixtures/plane';

/** `n` bytes that differ by seed and by position: a mix-up of any two streams shows. */
function pattern(seed: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A dyno that answers a POST with the sha256 of its body, and GET /SEED/N with pattern(SEED, N). */
async function hashDyno(t: Test): Promise<number> {
  const server = createHttpServer((req, res) => {
    if (req.method === 'POST') {
      const h = createHash('sha256');
      req.on('data', (c: Buffer) => h.update(c));
      req.on('end', () => res.end(h.digest('hex')));
      return;
    }
    const [, seed, n, framing] = (req.url ?? '').split('/');
    const body = pattern(Number(seed), Number(n));
    if (framing === 'chunked') {
      // Several writes: a chunked body spread over many reads on the router's side.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let at = 0; at < body.length; at += 7_000) res.write(body.subarray(at, at + 7_000));
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.keepAliveTimeout = 60_000;
  return (server.address() as AddressInfo).port;
}

t.test('concurrent uploads each reach the dyno intact (client reads are lent)', async (t) => {
  const port = await hashDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', port)])]);
  // Small bodies are buffered before admission, large ones (over 1 MiB) stream through: both kinds.
  const sizes = [1, 700, 65_537, 300_000, 1_500_000, 3_000_000];
  const bodies = sizes.flatMap((n, i) => [pattern(i * 2 + 1, n), pattern(i * 2 + 2, n)]);
  const answers = await Promise.all(
    bodies.map(async (body) => {
      const res = await request(p.url + '/', { method: 'POST', headers: { host: 'hello.localhost' }, body });
      return { status: res.statusCode, digest: await res.body.text() };
    }),
  );
  answers.forEach((a, i) => {
    t.equal(a.status, 200);
    t.equal(a.digest, sha(bodies[i]!), `upload ${i} (${bodies[i]!.length} bytes) arrived as sent`);
  });
});

t.test('concurrent downloads each reach their client intact (dyno reads are lent)', async (t) => {
  const port = await hashDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', port)])]);
  const asks = [10, 16_384, 16_385, 200_000, 2_000_000].flatMap((n, i) => [
    { seed: i * 2 + 1, n, framing: 'length' },
    { seed: i * 2 + 2, n, framing: 'chunked' },
  ]);
  const got = await Promise.all(
    asks.map(async (a) => {
      const res = await request(`${p.url}/${a.seed}/${a.n}/${a.framing}`, { headers: { host: 'hello.localhost' } });
      return Buffer.from(await res.body.arrayBuffer());
    }),
  );
  got.forEach((body, i) => {
    const a = asks[i]!;
    t.equal(body.length, a.n);
    t.equal(sha(body), sha(pattern(a.seed, a.n)), `download ${i} (${a.n} bytes, ${a.framing}) arrived as sent`);
  });
});

t.test('a download to a client that stops reading is written from a copy', async (t) => {
  const port = await hashDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', port)])]);
  // The client reads nothing at first: the router's writes to it queue (a socket keeps what it
  // cannot send at once) while other downloads reuse the shared read buffer.
  const n = 4_000_000;
  const s = connect(Number(new URL(p.url).port), '127.0.0.1');
  s.pause();
  s.write(`GET /99/${n}/length HTTP/1.1\r\nHost: hello.localhost\r\nConnection: close\r\n\r\n`);
  await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      request(`${p.url}/${i + 40}/300000/chunked`, { headers: { host: 'hello.localhost' } }).then((r) => r.body.dump()),
    ),
  );
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.resume();
  await new Promise((resolve) => s.on('close', resolve));
  const wire = Buffer.concat(chunks);
  const body = wire.subarray(wire.indexOf('\r\n\r\n') + 4);
  t.equal(body.length, n);
  t.equal(sha(body), sha(pattern(99, n)), 'the stalled download arrived as sent');
});

t.test('pipelined requests behind a body are kept across reads', async (t) => {
  const port = await hashDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', port)])]);
  const body = pattern(7, 5_000);
  const head = (len: number): string => `POST / HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: ${len}\r\n\r\n`;
  // Three requests in one write: the second and third wait, unread, while the first is answered,
  // and other connections' reads overwrite the shared buffer meanwhile.
  const wire = Buffer.concat([Buffer.from(head(body.length)), body, Buffer.from(head(3)), Buffer.from('abc')]);
  const third = Buffer.from('GET /3/100/length HTTP/1.1\r\nHost: hello.localhost\r\nConnection: close\r\n\r\n');
  const noise = Array.from({ length: 8 }, (_, i) =>
    request(`${p.url}/${i + 20}/50000/length`, { headers: { host: 'hello.localhost' } }).then((r) => r.body.dump()),
  );
  const s = connect(Number(new URL(p.url).port), '127.0.0.1');
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.write(Buffer.concat([wire, third]));
  await new Promise((resolve) => s.on('close', resolve));
  await Promise.all(noise);
  const text = Buffer.concat(chunks).toString('latin1');
  t.ok(text.includes(sha(body)), 'the first body arrived as sent');
  t.ok(text.includes(sha(Buffer.from('abc'))), 'the second body arrived as sent');
  t.ok(text.endsWith(pattern(3, 100).toString('latin1')), 'the third answer came last, intact');
});

t.test(
  'an adopted socket reads into the shared buffer, pauses, ends, and is still counted by its server',
  async (t) => {
    let adopted: { socket: Socket; reads: { reader: ((c: Buffer) => void) | undefined } } | undefined;
    const server = createServer({ allowHalfOpen: true }, (accepted) => {
      adopted = adoptLent(accepted);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await eventually(() => adopted !== undefined, 2000, 'accepted');
    const a = adopted!;
    t.ok(a, 'a plain TCP socket can be adopted');
    const got: string[] = [];
    a.reads.reader = (c) => got.push(c.toString('latin1'));
    client.write('one');
    await eventually(() => got.join('') === 'one', 2000, 'the first bytes');
    a.socket.pause();
    client.write('two');
    // Paused: nothing is read (the bytes wait in the kernel) until resumed.
    await new Promise((resolve) => setImmediate(resolve));
    a.socket.resume();
    await eventually(() => got.join('') === 'onetwo', 2000, 'the bytes written while paused');
    const ended = new Promise((resolve) => a.socket.once('end', resolve));
    client.end();
    await ended;
    t.pass("the client's end is seen");
    const count = await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));
    t.equal(count, 1, 'the server still counts the connection');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    a.socket.destroy();
    await closed;
    t.same(got, ['one', 'two']);
  },
);
