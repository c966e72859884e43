// An HTTP/2 stream as the request path's client interface (tls/h2-exchange.ts), driven by a real
// node:http2 client; the request path is stood in for by a ServeExchange that answers from what
// it was given, so the test sees exactly what the path would receive and what the client gets.
import { connect, createServer, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import type { ClientRequest, ClientSide } from '../../src/router/client/exchange';
import { serveStream } from '../../src/router/tls/h2-exchange';

async function withServer(t: Test, serve: (r: ClientRequest, s: ClientSide) => void) {
  const server = createServer();
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) =>
    serveStream(stream, headers, rawHeaders, { proto: 'https', port: 8443 }, serve),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  client.on('error', () => undefined);
  const sessions = new Set<import('node:http2').ServerHttp2Session>();
  server.on('session', (session) => sessions.add(session));
  t.teardown(() => {
    client.destroy();
    for (const session of sessions) session.destroy();
    server.close();
  });
  return client;
}

t.test('HEADERS become a ClientRequest; the ClientSide answers on the stream', async (t) => {
  const seen: ClientRequest[] = [];
  const client = await withServer(t, (req, side) => {
    seen.push(req);
    let body = '';
    side.readBody({
      onData: (c) => (body += c.toString()),
      onEnd: () => {
        t.equal(side.bodyComplete, true);
        t.ok(
          side.writeHead(201, 'Created', [
            'X-Echo',
            body,
            'Connection',
            'close',
            'Set-Cookie',
            'a=1',
            'Set-Cookie',
            'b=2',
          ]),
        );
        t.equal(side.headSent, true);
        side.end(Buffer.from(`got ${body.length}`));
      },
    });
  });
  const req = client.request({
    ':method': 'POST',
    ':path': '/p?q=1',
    ':authority': 'app.example.test',
    cookie: ['a=1', 'b=2'],
  });
  req.end('hello body');
  const [head, text] = await new Promise<[Record<string, unknown>, string]>((resolve) => {
    let h: Record<string, unknown> = {};
    let out = '';
    req.on('response', (x) => (h = x));
    req.on('data', (c: Buffer) => (out += c.toString()));
    req.on('end', () => resolve([h, out]));
  });
  t.equal(head[':status'], 201);
  t.equal(head['x-echo'], 'hello body');
  t.same(head['set-cookie'], ['a=1', 'b=2'], 'set-cookie stays separate fields');
  t.equal(head.connection, undefined, 'no connection-specific field on HTTP/2 (RFC 9113 §8.2.2)');
  t.equal(text, 'got 10');
  const r = seen[0]!;
  t.match(r, {
    method: 'POST',
    target: '/p?q=1',
    authority: 'app.example.test',
    version: 'HTTP/2',
    proto: 'https',
    port: 8443,
  });
  t.same(r.body, { kind: 'stream' }, 'no content-length: a streamed body');
  t.notOk(
    r.rawHeaders.some((h) => h.startsWith(':')),
    'no pseudo-headers',
  );
  t.equal(r.rawHeaders[r.rawHeaders.indexOf('host') + 1], 'app.example.test', ':authority as Host');
  t.equal(r.rawHeaders[r.rawHeaders.indexOf('cookie') + 1], 'a=1; b=2', 'cookies joined (RFC 9113 §8.2.3)');
});

t.test(
  'a GET has no body, a content-length is kept, a reset stream is gone, CONNECT never reaches the path',
  async (t) => {
    const seen: ClientRequest[] = [];
    let gone: string | undefined;
    const client = await withServer(t, (req, side) => {
      seen.push(req);
      side.onGone((reason) => (gone = reason));
      if (req.target === '/slow') return; // never answered: the client resets it
      side.writeHead(200, 'OK', []);
      side.end();
    });
    const done = (s: ReturnType<typeof client.request>) =>
      new Promise<number>((resolve) => {
        let status = 0;
        s.on('response', (h) => (status = Number(h[':status'])));
        s.on('error', () => resolve(-1));
        s.on('close', () => resolve(status));
        s.resume();
      });
    t.equal(await done(client.request({ ':path': '/get' })), 200);
    const post = client.request({ ':method': 'PUT', ':path': '/len', 'content-length': '3' });
    post.end('abc');
    t.equal(await done(post), 200);
    t.same(seen[0]!.body, { kind: 'none' });
    t.same(seen[1]!.body, { kind: 'length', length: 3 });
    const slow = client.request({ ':path': '/slow' });
    await new Promise((r) => setTimeout(r, 50));
    slow.close();
    for (let i = 0; i < 100 && gone === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    t.equal(gone, 'gone', 'a client reset reaches onGone');
    const connect = client.request({ ':method': 'CONNECT', ':authority': 'x.example.test:443' });
    t.equal(await done(connect), 405);
    t.equal(seen.length, 3, 'CONNECT was answered without the request path');
  },
);
