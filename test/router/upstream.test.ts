// The router's own upstream HTTP/1.1 client (upstream/pool.ts, upstream/response-parser.ts,
// forward.ts) against raw TCP dynos that write exact bytes: framing, reuse of dyno connections,
// malformed responses, request bodies, backpressure and the idle bound of the pool.
import t, { type Test } from 'tap';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { request, Agent } from 'undici';
import { MAX_IDLE_PER_DYNO } from '../../src/router/pools';
import { app, dyno, startPlane, type TestPlane } from '../fixtures/plane';
import { rawDyno } from '../fixtures/raw-dyno';

const HOST = { host: 'hello.localhost' };

async function plane(t: Test, port: number, env: Parameters<typeof startPlane>[2] = {}): Promise<TestPlane> {
  return startPlane(t, [app('hello', [dyno('web.1', port)])], env);
}

async function get(
  p: TestPlane,
  path = '/',
  opts: { method?: string } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const res = await request(p.url + path, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: HOST,
    headersTimeout: 5_000,
    bodyTimeout: 5_000,
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: () => boolean, ms = 3_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!what() && Date.now() < end) await sleep(10);
  return what();
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

t.test('a 20 MB response to a slow-reading client: the router buffers little (backpressure)', async (t) => {
  const SIZE = 20 * 1024 * 1024;
  const MiB = 1024 * 1024;
  const slab = Buffer.alloc(64 * 1024, 'z');
  let sent = 0;
  const d = await rawDyno(t, (req, sock) => {
    if (!req.line.startsWith('GET /big ')) return void sock.write(OK);
    sent = 0;
    sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${SIZE}\r\n\r\n`);
    // A dyno that honours backpressure itself: it sends only as fast as the router takes.
    const pump = (): void => {
      while (sent < SIZE) {
        sent += slab.length;
        if (!sock.write(slab)) return void sock.once('drain', pump);
      }
    };
    pump();
  });
  const p = await plane(t, d.port);
  t.equal((await get(p)).body, 'ok', 'warm');
  const gc = exposeGc();
  // Twice, with a pause: backing stores are freed concurrently with the GC.
  const settle = async (): Promise<NodeJS.MemoryUsage> => {
    gc();
    await sleep(20);
    gc();
    return process.memoryUsage();
  };

  /** One transfer: the client reads nothing for 500 ms, then reads slowly. */
  const transfer = async (): Promise<{
    received: number;
    stalledSent: number;
    stalled: NodeJS.MemoryUsage;
    peakRss: number;
    peakBuffers: number;
  }> => {
    const sock = connect(p.plane.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.pause();
    sock.write('GET /big HTTP/1.1\r\nHost: hello.localhost\r\n\r\n');
    // Only backpressure keeps the router from taking the whole body meanwhile.
    await sleep(500);
    const stalled = await settle();
    const stalledSent = sent;
    let received = 0;
    let headEnd = -1;
    let first = Buffer.alloc(0);
    let reads = 0;
    let peakRss = stalled.rss;
    let peakBuffers = stalled.arrayBuffers;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received} bytes`)), 15_000);
      sock.on('data', (c: Buffer) => {
        if (headEnd === -1) {
          first = Buffer.concat([first, c]);
          headEnd = first.indexOf('\r\n\r\n');
          if (headEnd === -1) return;
          received = first.length - headEnd - 4;
        } else {
          received += c.length;
        }
        if (received >= SIZE) {
          clearTimeout(timer);
          return resolve();
        }
        // A slow reader: a pause after every read.
        sock.pause();
        setTimeout(() => {
          if (++reads % 32 === 0) {
            gc();
            const m = process.memoryUsage();
            peakRss = Math.max(peakRss, m.rss);
            peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
          }
          sock.resume();
        }, 1);
      });
      sock.resume();
    });
    sock.destroy();
    return { received, stalledSent, stalled, peakRss, peakBuffers };
  };

  // The first transfer warms the process (heap sizes, socket buffers); the second is measured.
  t.equal((await transfer()).received, SIZE, 'every byte arrived (warm-up)');
  const base = await settle();
  const r = await transfer();
  t.equal(r.received, SIZE, 'every byte arrived');
  const mib = (n: number): string => (n / MiB).toFixed(1);
  t.comment(
    `stalled 500 ms: dyno sent ${mib(r.stalledSent)} MiB, retained buffers +${mib(r.stalled.arrayBuffers - base.arrayBuffers)} MiB, rss +${mib(r.stalled.rss - base.rss)} MiB; ` +
      `reading: retained buffers +${mib(r.peakBuffers - base.arrayBuffers)} MiB, rss +${mib(r.peakRss - base.rss)} MiB`,
  );
  // What the dyno could send is what the kernel's socket buffers on both hops hold (~8-11 MiB here).
  // Checked by disabling the pause in forward.ts: 20 MiB sent, +16 MiB retained while stalled, +18
  // while reading. With it: +0.2 and +0.3. RSS is asserted too but tells little after the warm-up
  // (the allocator keeps what the warm-up took; unwarmed, heap growth alone was +26 MiB): the
  // retained Buffer memory after a forced GC is the measure that tells backpressure apart.
  t.ok(r.stalledSent < 16 * MiB, `a stalled client stalls the dyno (${mib(r.stalledSent)} MiB sent of 20)`);
  t.ok(r.stalled.arrayBuffers - base.arrayBuffers < 6 * MiB, 'the router holds little of it');
  t.ok(r.stalled.rss - base.rss < 10 * MiB, 'RSS growth well below the body size while stalled');
  t.ok(r.peakBuffers - base.arrayBuffers < 8 * MiB, 'and while reading slowly');
  t.ok(r.peakRss - base.rss < 10 * MiB, 'RSS growth well below the body size while reading');
});

t.test('a chunked response arrives intact and its connection is reused', async (t) => {
  const d = await rawDyno(t, (_req, sock) => {
    sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n');
    sock.write('5;ext=1\r\nhello\r\nA\r\n, chunked \r\n');
    sock.write('6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n');
  });
  const p = await plane(t, d.port);
  for (let i = 0; i < 3; i++) {
    const r = await get(p);
    t.equal(r.status, 200);
    t.equal(r.body, 'hello, chunked world!');
    t.equal(r.headers['x-a'], 'b');
  }
  t.equal(d.opened(), 1, 'one dyno connection for all three');
});

t.test('a response written one byte at a time arrives intact', async (t) => {
  const body = 'x'.repeat(100) + '\r\n\0' + 'y'.repeat(50);
  const d = await rawDyno(t, (req, sock) => {
    const bytes = Buffer.from(
      req.line.includes('chunked')
        ? `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`
        : `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nX-Slow: 1\r\n\r\n${body}`,
      'latin1',
    );
    let i = 0;
    const next = (): void => {
      if (sock.destroyed || i >= bytes.length) return;
      sock.write(bytes.subarray(i, ++i));
      setImmediate(next);
    };
    next();
  });
  const p = await plane(t, d.port);
  for (const path of ['/length', '/chunked']) {
    const r = await get(p, path);
    t.equal(r.status, 200, path);
    t.equal(r.body, body, path);
  }
  t.equal(d.opened(), 1);
});

t.test(
  'a random mix of framings on one keep-alive connection: every body intact, reuse exactly when allowed',
  async (t) => {
    const bin = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) % 256)).toString('latin1');
    // [response bytes, body the client must see, status, whether the connection may be reused]
    const kinds: [string, string, number, boolean][] = [
      [`HTTP/1.1 200 OK\r\nContent-Length: ${bin.length}\r\n\r\n${bin}`, bin, 200, true],
      [
        'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: t\r\n\r\n',
        'abc0123456789',
        201,
        true,
      ],
      ['HTTP/1.1 204 No Content\r\n\r\n', '', 204, true],
      ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes', 'yes', 200, true],
      ['HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n10', '10', 200, true],
      ['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nclose', 'close', 200, false],
      ['HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', '', 404, true],
    ];
    const rand = (
      (seed: number) => () =>
        (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
    )(7);
    const order = Array.from({ length: 60 }, () => Math.floor(rand() * kinds.length));
    const d = await rawDyno(t, (req, sock) => {
      const [bytes, , , reusable] = kinds[Number(req.line.split(' ')[1]!.slice(1).split('-')[1])]!;
      // Split the response at a random point, sometimes, into two writes.
      const at = Math.floor(rand() * bytes.length);
      sock.write(Buffer.from(bytes.slice(0, at), 'latin1'));
      setImmediate(() => {
        sock.write(Buffer.from(bytes.slice(at), 'latin1'));
        if (!reusable) sock.end();
      });
    });
    const p = await plane(t, d.port);
    let expectedConns = 1;
    for (let i = 0; i < order.length; i++) {
      const [, body, status, reusable] = kinds[order[i]!]!;
      const res = await request(`${p.url}/${i}-${order[i]}`, {
        headers: HOST,
        headersTimeout: 5_000,
        bodyTimeout: 5_000,
      });
      const got = Buffer.from(await res.body.arrayBuffer()).toString('latin1');
      if (res.statusCode !== status || got !== body) {
        t.fail(`request ${i} (kind ${order[i]})`, { status: res.statusCode, got: got.slice(0, 40) });
        return;
      }
      if (!reusable && i < order.length - 1) expectedConns++;
    }
    t.pass(`${order.length} responses intact`);
    t.equal(d.opened(), expectedConns, 'a new dyno connection only after a response that forbade reuse');
  },
);

t.test('a close-delimited response arrives intact and its connection is not reused', async (t) => {
  const d = await rawDyno(t, (_req, sock) => {
    sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n');
    sock.write('until ');
    setTimeout(() => sock.end('the close'), 20);
  });
  const p = await plane(t, d.port);
  const a = await get(p);
  t.equal(a.status, 200);
  t.equal(a.body, 'until the close');
  const b = await get(p);
  t.equal(b.body, 'until the close');
  t.equal(d.opened(), 2, 'a new connection for the second request');
  t.same(
    d.requests.map((r) => r.conn),
    [1, 2],
  );
});

t.test('bytes after a response: that connection is not reused', async (t) => {
  const d = await rawDyno(t, (req, sock, n) => {
    if (n === 1) sock.write(`${OK}HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nforged`);
    else if (n === 2) {
      // The extra bytes come in a later segment, after the response looked complete.
      sock.write(OK);
      setTimeout(() => sock.write('junk'), 30);
    } else sock.write(OK);
    void req;
  });
  const p = await plane(t, d.port);
  t.equal((await get(p)).body, 'ok');
  const second = await get(p);
  t.equal(second.status, 200);
  t.equal(second.body, 'ok', 'the forged response never reaches a client');
  t.same(
    d.requests.map((r) => r.conn),
    [1, 2],
    'the second request went on a new connection',
  );
  await sleep(80);
  const third = await get(p);
  t.equal(third.body, 'ok');
  t.same(
    d.requests.map((r) => r.conn),
    [1, 2, 3],
    'an idle connection that received bytes is closed, not reused',
  );
});

t.test('a close-delimited response cut by a reset is not passed off as complete: H18', async (t) => {
  const d = await rawDyno(t, (_req, sock) => {
    sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart of');
    setTimeout(() => sock.resetAndDestroy(), 30);
  });
  const p = await plane(t, d.port);
  const res = await request(p.url, { headers: HOST, headersTimeout: 5_000, bodyTimeout: 5_000 });
  t.equal(res.statusCode, 200);
  await t.rejects(res.body.text(), 'the client sees a cut, not a clean end');
  t.ok(await until(() => p.lines.length === 1));
  t.match(p.lines[0]!, /^at=error code=H18 /);
});

t.test('an HTTP/1.0 dyno: never reused without keep-alive; close-delimited works', async (t) => {
  const d = await rawDyno(t, (req, sock) => {
    if (req.line.startsWith('GET /ka '))
      sock.write('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nka');
    else if (req.line.startsWith('GET /close ')) sock.end('HTTP/1.0 200 OK\r\n\r\nto the close');
    // A dyno that answers 1.0 without keep-alive but leaves the connection open.
    else sock.write('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n1.0');
  });
  const p = await plane(t, d.port);
  t.equal((await get(p)).body, '1.0');
  t.equal((await get(p)).body, '1.0');
  t.equal(d.opened(), 2, 'HTTP/1.0 without keep-alive: a connection per request');
  t.equal((await get(p, '/close')).body, 'to the close');
  t.equal(d.opened(), 3);
  t.equal((await get(p, '/ka')).body, 'ka');
  t.equal((await get(p, '/ka')).body, 'ka');
  t.equal(d.opened(), 4, 'HTTP/1.0 with keep-alive is reused');
});

t.test('1xx interim responses, then the final one', async (t) => {
  const d = await rawDyno(t, (_req, sock) => {
    sock.write('HTTP/1.1 100 Continue\r\n\r\n');
    sock.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
    setTimeout(() => sock.write('HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone'), 10);
  });
  const p = await plane(t, d.port);
  const r = await get(p);
  t.equal(r.status, 201);
  t.equal(r.body, 'done');
  t.equal((await get(p)).status, 201);
  t.equal(d.opened(), 1);
});

t.test('HEAD: the length is passed on, no body is read, the connection is reused', async (t) => {
  const d = await rawDyno(t, (req, sock) => {
    if (req.method === 'HEAD') sock.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nX-Head: 1\r\n\r\n');
    else sock.write(OK);
  });
  const p = await plane(t, d.port);
  const h = await get(p, '/', { method: 'HEAD' });
  t.equal(h.status, 200);
  t.equal(h.headers['content-length'], '1000');
  t.equal(h.body, '');
  const g = await get(p);
  t.equal(g.body, 'ok', 'the next response on the connection is read from its start');
  t.equal(d.opened(), 1);
});

t.test('204 and 304 have no body; a 204 followed by bytes is not reused', async (t) => {
  const d = await rawDyno(t, (req, sock) => {
    if (req.line.startsWith('GET /204 ')) sock.write('HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n');
    else if (req.line.startsWith('GET /304 ')) sock.write('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n');
    else if (req.line.startsWith('GET /204-body ')) sock.write('HTTP/1.1 204 No Content\r\n\r\nsurprise');
    else sock.write(OK);
  });
  const p = await plane(t, d.port);
  const a = await get(p, '/204');
  t.equal(a.status, 204);
  t.equal(a.body, '');
  const b = await get(p, '/304');
  t.equal(b.status, 304);
  t.equal(b.headers.etag, '"v1"');
  t.equal(b.body, '');
  t.equal((await get(p)).body, 'ok');
  t.equal(d.opened(), 1, 'all three on one connection');
  t.equal((await get(p, '/204-body')).status, 204);
  t.equal((await get(p)).body, 'ok');
  t.equal(d.opened(), 2, 'a 204 with a body: its connection is dropped');
});

t.test('Transfer-Encoding with Content-Length: the client gets the de-chunked body with a true framing', async (t) => {
  const d = await rawDyno(t, (_req, sock) => {
    sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
  });
  const p = await plane(t, d.port);
  const r = await get(p);
  t.equal(r.status, 200);
  t.equal(r.body, 'hello');
  t.not(r.headers['content-length'], '100');
  t.equal((await get(p)).body, 'hello', 'and the client connection still frames the next response');
  t.equal(d.opened(), 2, 'such a dyno connection is not reused');
});

t.test('a Content-Length list of one value reaches the client as one Content-Length', async (t) => {
  const d = await rawDyno(t, (req, sock) => {
    if (req.line.startsWith('GET /list ')) sock.write('HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello');
    else sock.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nhello');
  });
  const p = await plane(t, d.port);
  for (const path of ['/list', '/repeated']) {
    // undici's llhttp, like most clients, refuses a list or a repeated Content-Length.
    const r = await get(p, path);
    t.equal(r.status, 200, path);
    t.equal(r.body, 'hello', path);
    t.equal(r.headers['content-length'], '5', path);
  }
  t.equal(d.opened(), 1);
});

t.test('a malformed response head → 503 H17', async (t) => {
  const heads = [
    'HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nok',
    'HTTP/1.1 2x0 OK\r\n\r\n',
    'HTTP/1.1 200 OK\r\nBad Name: v\r\n\r\n',
    'HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nok',
    'HTTP/1.1 200 OK\r\nX: \0\r\n\r\n',
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n',
  ];
  const d = await rawDyno(t, (_req, sock, n) => void sock.write(heads[n - 1]!));
  const p = await plane(t, d.port);
  for (const head of heads) {
    const r = await get(p);
    t.equal(r.status, 503, JSON.stringify(head));
    t.match(r.body, /H17/);
  }
  t.equal(p.lines.length, heads.length);
  for (const line of p.lines) t.match(line, /^at=error code=H17 .*status=503 /);
  t.equal(d.requests.length, heads.length, 'each sent once, never replayed');
});

t.test('a head larger than 64 KiB → H17', async (t) => {
  const d = await rawDyno(t, (_req, sock) => {
    sock.write('HTTP/1.1 200 OK\r\n');
    for (let i = 0; i < 70; i++) sock.write(`X-Fill-${i}: ${'a'.repeat(1000)}\r\n`);
    sock.write('Content-Length: 0\r\n\r\n');
  });
  const p = await plane(t, d.port);
  const r = await get(p);
  t.equal(r.status, 503);
  t.match(r.body, /H17/);
});

t.test('bad chunk framing mid-body: the client connection is cut, H18', async (t) => {
  const d = await rawDyno(t, (_req, sock) => {
    sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    setTimeout(() => sock.write('zz\r\nbad\r\n'), 20);
  });
  const p = await plane(t, d.port);
  const res = await request(p.url, { headers: HOST, headersTimeout: 5_000, bodyTimeout: 5_000 });
  t.equal(res.statusCode, 200, 'the head went out before the bad chunk');
  await t.rejects(res.body.text(), 'the body ends in a cut, not a clean end');
  t.ok(await until(() => p.lines.length === 1));
  t.match(p.lines[0]!, /^at=error code=H18 /);
  t.equal(d.open(), 0, 'the dyno connection is closed');
});

t.test('a fresh connection closed before any response byte → H13, not replayed', async (t) => {
  const d = await rawDyno(t, (_req, sock) => void sock.destroy());
  const p = await plane(t, d.port);
  const r = await get(p);
  t.equal(r.status, 503);
  t.match(r.body, /H13/);
  t.equal(d.requests.length, 1, 'the dyno saw it once');
  t.match(p.lines[0]!, /^at=error code=H13 /);
  t.notMatch(p.lines[0]!, /attempts=/, 'one attempt');
  // Same with a half-written head: still before the head is complete.
  const d2 = await rawDyno(t, (_req, sock) => void sock.end('HTTP/1.1 200 OK\r\nContent-Le'));
  const p2 = await plane(t, d2.port);
  const r2 = await get(p2);
  t.equal(r2.status, 503);
  t.match(r2.body, /H13/);
  t.equal(d2.requests.length, 1);
});

t.test('a reused connection closed after part of a response head → H13, not replayed', async (t) => {
  // Only a connection that died before any response byte is the keep-alive race; here the dyno
  // took the request and began answering it.
  const d = await rawDyno(t, (_req, sock, n) => {
    if (n === 1) sock.write(OK);
    else sock.end('HTTP/1.1 200 OK\r\nContent-Le');
  });
  const p = await plane(t, d.port);
  t.equal((await get(p)).body, 'ok');
  const r = await get(p, '/second');
  t.equal(r.status, 503);
  t.match(r.body, /H13/);
  t.equal(d.requests.length, 2, 'the dyno saw the second request once');
  t.equal(d.opened(), 1);
});

t.test('a truncated Content-Length body → the client connection is cut, H18', async (t) => {
  const d = await rawDyno(t, (_req, sock) => void sock.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf'));
  const p = await plane(t, d.port);
  const res = await request(p.url, { headers: HOST, headersTimeout: 5_000, bodyTimeout: 5_000 });
  await t.rejects(res.body.text());
  t.ok(await until(() => p.lines.length === 1));
  t.match(p.lines[0]!, /^at=error code=H18 /);
});

/** A node:http dyno that answers with what it received: body bytes, their hash-free echo, framing headers. */
async function echoDyno(t: Test): Promise<number> {
  const server = createHttpServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      const json = JSON.stringify({
        te: req.headers['transfer-encoding'],
        cl: req.headers['content-length'],
        length: body.length,
        body: body.toString('latin1'),
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }).end(json);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as { port: number }).port;
}

/** Sends a POST with a chunked body, one raw chunk per element, with a pause between them. */
async function chunkedPost(port: number, chunks: string[], method = 'POST'): Promise<{ status: number; body: string }> {
  const sock = connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.write(
    `${method} /upload HTTP/1.1\r\nHost: hello.localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
  );
  for (const c of chunks) {
    await sleep(5);
    if (c.length > 0) sock.write(`${Buffer.byteLength(c, 'latin1').toString(16)}\r\n${c}\r\n`, 'latin1');
  }
  sock.write('0\r\n\r\n');
  const parts: Buffer[] = [];
  sock.on('data', (c: Buffer) => parts.push(c));
  await Promise.race([new Promise((r) => sock.once('close', r)), sleep(5_000)]);
  sock.destroy();
  const raw = Buffer.concat(parts);
  const end = raw.indexOf('\r\n\r\n');
  return { status: Number(raw.toString('latin1', 9, 12)), body: raw.toString('utf8', end + 4) };
}

t.test('a chunked request upload arrives de-chunked and whole at a node:http dyno', async (t) => {
  const port = await echoDyno(t);
  const p = await plane(t, port);
  const chunks = ['first', '\r\n0\r\n\r\n', 'x'.repeat(70_000), '\u00ff\u0000', 'last'];
  const r = await chunkedPost(p.plane.port, chunks);
  t.equal(r.status, 200);
  const seen = JSON.parse(r.body) as { te: string; cl: string | undefined; length: number; body: string };
  t.equal(seen.te, 'chunked', 'passed on chunked');
  t.equal(seen.cl, undefined);
  t.equal(seen.length, chunks.join('').length);
  t.equal(seen.body, chunks.join(''), 'byte for byte, chunk-lookalike data included');
  const empty = await chunkedPost(p.plane.port, []);
  t.equal(empty.status, 200);
  t.match(JSON.parse(empty.body), { length: 0, te: 'chunked' }, 'an empty chunked body ends too');
});

t.test('a PUT body that had not started when a reused connection died is replayed whole', async (t) => {
  // Keep-alive race with a body still to come: the dyno kills its reused connection on the head of
  // the request. PUT is idempotent (RFC 9110 §9.2.2), so it is replayed, with the whole body.
  const d = await rawDyno(t, (req, sock) => {
    if (req.method !== 'PUT') return void sock.write(OK);
    sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${req.body.length}\r\n\r\n${req.body.toString('latin1')}`);
  });
  const p = await plane(t, d.port);
  for (const [label, chunked] of [
    ['content-length', false],
    ['chunked', true],
  ] as const) {
    t.equal((await get(p)).body, 'ok', 'a pooled connection to race on');
    d.killOnHead.add(d.requests[d.requests.length - 1]!.conn);
    const sock = connect(p.plane.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const parts: Buffer[] = [];
    sock.on('data', (c: Buffer) => parts.push(c));
    const closed = new Promise((r) => sock.once('close', r));
    sock.write(
      `PUT /race HTTP/1.1\r\nHost: hello.localhost\r\nConnection: close\r\n${chunked ? 'Transfer-Encoding: chunked' : 'Content-Length: 7'}\r\n\r\n`,
    );
    // The body follows once the first attempt has died and the replay is on its way.
    await sleep(100);
    sock.write(chunked ? '7\r\npayload\r\n0\r\n\r\n' : 'payload');
    await Promise.race([closed, sleep(3_000)]);
    sock.destroy();
    const raw = Buffer.concat(parts).toString('latin1');
    t.match(raw, /^HTTP\/1\.1 200 /, label);
    t.match(raw, /\r\n\r\npayload$/, `${label}: the dyno got the whole body on the replay`);
  }
  t.equal(d.requests.filter((r) => r.method === 'PUT').length, 2, 'each PUT reached the dyno whole once');
});

t.test('an empty chunked body whose end was sent on a connection that died is ended again on the replay', async (t) => {
  const d = await rawDyno(t, (req, sock) => {
    if (req.method !== 'PUT') return void sock.write(OK);
    sock.write(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nempty`);
  });
  const p = await plane(t, d.port, { ROUTER_RESPONSE_TIMEOUT_MS: '1500' });
  t.equal((await get(p)).body, 'ok');
  d.killOnHead.add(d.requests[0]!.conn);
  const r = await chunkedPost(p.plane.port, [], 'PUT');
  t.equal(r.status, 200, 'not H12: the replay sent the terminating chunk');
  t.equal(r.body, 'empty');
  t.match(p.lines[p.lines.length - 1]!, /status=200 .*attempts=2/);
});

t.test('a dyno that answers without reading a big upload: the client connection goes on', async (t) => {
  // The upload fills the dyno's socket, so the router pauses the client's body for backpressure;
  // then the dyno answers. The rest of the body must be drained, not left paused, or the client's
  // next request on its connection would never be read.
  const sockets = new Set<Socket>();
  let conns = 0;
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => undefined);
    const n = ++conns;
    sock.once('data', () => {
      if (n > 1) return void sock.end('HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnext');
      sock.pause();
      setTimeout(() => sock.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nearly'), 300);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const p = await plane(t, (server.address() as { port: number }).port);
  const SIZE = 24 * 1024 * 1024;
  const sock = connect(p.plane.port, '127.0.0.1');
  t.teardown(() => sock.destroy());
  await new Promise((r) => sock.once('connect', r));
  let text = '';
  sock.on('data', (c: Buffer) => (text += c.toString('latin1')));
  sock.write(`POST /upload HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: ${SIZE}\r\n\r\n`);
  sock.write(Buffer.alloc(SIZE, 'u'));
  sock.write('GET /next HTTP/1.1\r\nHost: hello.localhost\r\n\r\n');
  t.ok(await until(() => text.includes('next'), 5_000), 'the second request on the client connection is answered');
  t.match(text, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nearlyHTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nnext$/);
});

t.test('a client that stops reading for the idle window is cut as H27, not blamed on the dyno as H15', async (t) => {
  // The dyno has the whole body ready; it is the router that stops reading it (backpressure).
  const SIZE = 16 * 1024 * 1024;
  const slab = Buffer.alloc(64 * 1024, 'q');
  const d = await rawDyno(t, (_req, sock) => {
    sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${SIZE}\r\n\r\n`);
    let sent = 0;
    const pump = (): void => {
      while (sent < SIZE) {
        sent += slab.length;
        if (!sock.write(slab)) return void sock.once('drain', pump);
      }
    };
    pump();
  });
  const p = await plane(t, d.port, { ROUTER_IDLE_TIMEOUT_MS: '300' });
  const sock = connect(p.plane.port, '127.0.0.1');
  t.teardown(() => sock.destroy());
  await new Promise((r) => sock.once('connect', r));
  sock.pause();
  sock.write('GET /big HTTP/1.1\r\nHost: hello.localhost\r\n\r\n');
  t.ok(await until(() => p.lines.length === 1, 5_000), 'bounded: the router gives up on the stalled client');
  t.match(p.lines[0]!, /^at=error code=H27 /);
  t.ok(await until(() => d.open() === 0), 'and frees the dyno connection');
});

/** `gc` without --expose-gc, so memory is measured retained rather than merely not yet collected. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

t.test(`after a burst, at most MAX_IDLE_PER_DYNO (${MAX_IDLE_PER_DYNO}) dyno connections stay idle`, async (t) => {
  const N = MAX_IDLE_PER_DYNO + 44;
  const held: Socket[] = [];
  let burst = true;
  const d = await rawDyno(t, (_req, sock) => {
    if (!burst) return void sock.write(OK);
    held.push(sock);
    // Answer all at once, when every request is in flight on its own connection.
    if (held.length === N) {
      burst = false;
      for (const s of held.splice(0)) s.write(OK);
    }
  });
  const p = await plane(t, d.port, { ROUTER_APP_MAX_INFLIGHT: '10000' });
  const agent = new Agent({ connections: N + 10 });
  t.teardown(() => agent.close());
  const all = await Promise.all(
    Array.from({ length: N }, async () => {
      const res = await request(p.url, { headers: HOST, dispatcher: agent, headersTimeout: 10_000 });
      return res.body.text();
    }),
  );
  t.equal(all.filter((b) => b === 'ok').length, N, 'every request answered');
  t.equal(d.opened(), N, 'one dyno connection per concurrent request');
  t.ok(await until(() => d.open() <= MAX_IDLE_PER_DYNO), `dyno sees ${d.open()} open`);
  await sleep(50);
  t.equal(d.open(), MAX_IDLE_PER_DYNO, 'the rest were closed, the bound kept');
  // And the kept ones serve the next burst without new connections.
  await Promise.all(Array.from({ length: 10 }, () => get(p)));
  t.equal(d.opened(), N, 'idle connections reused');
});

t.test(
  'an upgrade answered with a big non-101 response: relayed whole, and a stalled client stalls the dyno',
  async (t) => {
    const SIZE = 20 * 1024 * 1024;
    const MiB = 1024 * 1024;
    const slab = Buffer.alloc(64 * 1024, 'u');
    let sent = 0;
    const d = await rawDyno(t, (req, sock) => {
      if (!req.line.startsWith('GET /socket ')) return void sock.write(OK);
      sock.write(`HTTP/1.1 426 Upgrade Required\r\nContent-Length: ${SIZE}\r\n\r\n`);
      const pump = (): void => {
        while (sent < SIZE) {
          sent += slab.length;
          if (!sock.write(slab)) return void sock.once('drain', pump);
        }
      };
      pump();
    });
    const p = await plane(t, d.port);
    const sock = connect(p.plane.port, '127.0.0.1');
    t.teardown(() => sock.destroy());
    await new Promise((r) => sock.once('connect', r));
    sock.pause();
    sock.write('GET /socket HTTP/1.1\r\nHost: hello.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    await sleep(500);
    t.ok(
      sent < 16 * MiB,
      `the dyno is held off while the client reads nothing (${(sent / MiB).toFixed(1)} MiB of 20 sent)`,
    );
    let all = Buffer.alloc(0);
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('response not finished')), 15_000);
      sock.on('data', (c: Buffer) => chunks.push(c));
      sock.once('end', () => {
        clearTimeout(timer);
        resolve();
      });
      sock.resume();
    });
    all = Buffer.concat(chunks);
    const headEnd = all.indexOf('\r\n\r\n');
    t.match(all.subarray(0, headEnd).toString('latin1'), /^HTTP\/1\.1 426 Upgrade Required\r\n/);
    t.equal(all.length - headEnd - 4, SIZE, 'every byte of the answer arrived, then the connection closed');
  },
);
