// Step 1 and step 7 against RFC 9110/9112, and Heroku's router where it is stricter: raw bytes on
// raw sockets to the router, raw bytes from the dyno, the rule stated per case.
import t from 'tap';
import { connect } from 'node:net';
import { startDyno } from '../fixtures/dyno';
import { app, dyno, startPlane } from '../fixtures/plane';
import { rawExchange, type RawReply } from '../fixtures/raw-client';
import { rawDyno } from '../fixtures/raw-dyno';

/** Writes `bytes`; resolves with what came back once the router closed, or after 1.5 s. */
const exchange = (port: number, bytes: string): Promise<RawReply> => rawExchange(port, bytes, { maxMs: 1_500 });

const H = 'Host: hello.localhost\r\n';
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

t.test('Host: two fields, or an empty one, are 400 H26 and reach no dyno (RFC 9112 §3.2)', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)]), app('other', [dyno('web.1', d.port)])]);
  const cases: [string, string][] = [
    ['two different Host fields', `GET /two HTTP/1.1\r\n${H}Host: other.localhost\r\n\r\n`],
    ['an empty Host', 'GET /empty HTTP/1.1\r\nHost:\r\n\r\n'],
    ['no Host in HTTP/1.1', 'GET /none HTTP/1.1\r\n\r\n'],
  ];
  for (const [name, bytes] of cases) {
    const before = p.lines.length;
    const { text, closed } = await exchange(p.plane.port, bytes);
    t.match(text, /^HTTP\/1\.1 400 /, name);
    t.match(text, /H26/, `${name}: the page names H26`);
    t.ok(closed, `${name}: the connection is closed`);
    t.match(
      p.lines[before] ?? '',
      /^at=error code=H26 desc="Request Error" method=GET path="\/\w+" /,
      `${name}: logged with method and path`,
    );
  }
  t.equal(d.seen.length, 0);
});

t.test(
  'absolute-form target: the dyno gets origin-form, and the target authority as Host (RFC 9112 §3.2.2)',
  async (t) => {
    const d = await startDyno(t);
    const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)]), app('other', [dyno('web.1', d.port)])]);
    const { text } = await exchange(
      p.plane.port,
      `GET http://hello.localhost/x?y=1 HTTP/1.1\r\nHost: other.localhost\r\nConnection: close\r\n\r\n`,
    );
    t.match(text, /^HTTP\/1\.1 200 /);
    t.equal(d.seen[0]?.url, '/x?y=1');
    t.equal(d.seen[0]?.headers.host, 'hello.localhost');
    t.match(p.lines[0]!, /host=hello\.localhost /);
  },
);

t.test('Transfer-Encoding in HTTP/1.0 is faulty framing: served, then closed (RFC 9112 §6.1)', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const { text, closed } = await exchange(
    p.plane.port,
    `POST /a HTTP/1.0\r\n${H}Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n`,
  );
  t.match(text, /^HTTP\/1\.1 200 /);
  t.equal(text.match(/HTTP\/1\.1 /g)?.length, 1, 'one response only');
  t.ok(closed, 'closed after it');
  t.same(
    d.seen.map((s) => s.url),
    ['/a'],
    'the bytes after it were never read as a request',
  );
  t.equal(d.seen[0]?.bodyBytes, 3);
});

t.test('Expect: no 100 Continue for HTTP/1.0; empty Expect is forwarded; an unknown one is 417 H26', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const old = await exchange(
    p.plane.port,
    `POST / HTTP/1.0\r\n${H}Expect: 100-continue\r\nContent-Length: 2\r\n\r\nhi`,
  );
  t.match(old.text, /^HTTP\/1\.1 200 /, 'RFC 9110 §10.1.1: an HTTP/1.0 client never gets 100 Continue');
  const empty = await exchange(p.plane.port, `GET /e HTTP/1.1\r\n${H}Expect:\r\nConnection: close\r\n\r\n`);
  t.match(empty.text, /^HTTP\/1\.1 200 /, 'an empty Expect asks for nothing');
  t.equal(d.seen.length, 2);
  const before = p.lines.length;
  const odd = await exchange(p.plane.port, `GET /odd HTTP/1.1\r\n${H}Expect: teapot\r\n\r\n`);
  t.match(odd.text, /^HTTP\/1\.1 417 /);
  t.match(odd.text, /H26/);
  t.match(p.lines[before]!, /^at=error code=H26 .*method=GET path="\/odd" .*status=417 /);
  t.equal(d.seen.length, 2, 'the refused one never reached the dyno');
});

t.test('Expect: 100-continue gets one 100 Continue, even when the request is replayed', async (t) => {
  const d = await rawDyno(t, (_req, sock) => void sock.write(OK));
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  t.match((await exchange(p.plane.port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`)).text, /200 OK/);
  // The pooled connection dies on the PUT's head: a keep-alive race, replayed on a fresh one.
  d.killOnHead.add(1);
  const put = `PUT / HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n`;
  const { text: got } = await rawExchange(p.plane.port, put, {
    then: (sock) => {
      let head = '';
      const onData = (c: Buffer): void => {
        head += c.toString('latin1');
        if (!head.startsWith('HTTP/1.1 100 ')) return;
        sock.off('data', onData);
        sock.write('body');
      };
      sock.on('data', onData);
    },
  });
  t.equal(got.match(/HTTP\/1\.1 100 /g)?.length, 1, 'one 100 Continue');
  t.match(got, /HTTP\/1\.1 200 OK/);
  t.match(p.lines[p.lines.length - 1]!, /status=200 .*attempts=2/);
});

t.test('methods are extensible (RFC 9110 §9.1): WIBBLE and PROPFIND reach the dyno; CONNECT is 400', async (t) => {
  const d = await rawDyno(t, (_req, sock) => void sock.write(OK));
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  for (const m of ['WIBBLE', 'PROPFIND']) {
    const { text } = await exchange(p.plane.port, `${m} /m HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    t.match(text, /^HTTP\/1\.1 200 /, m);
  }
  t.same(
    d.requests.map((r) => r.method),
    ['WIBBLE', 'PROPFIND'],
  );
  const c = await exchange(p.plane.port, 'CONNECT hello.localhost:443 HTTP/1.1\r\nHost: hello.localhost:443\r\n\r\n');
  t.match(c.text, /^HTTP\/1\.1 400 /);
  t.match(p.lines[p.lines.length - 1]!, /^at=error code=H26 /);
  t.equal(d.requests.length, 2);
});

t.test('HTTP/2.0 on the HTTP/1.1 port is 505 (RFC 9110 §15.6.6), logged as H26', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const { text } = await exchange(p.plane.port, `GET / HTTP/2.0\r\n${H}\r\n`);
  t.match(text, /^HTTP\/1\.1 505 /);
  t.match(p.lines[0]!, /^at=error code=H26 .*status=505 /);
  t.equal(d.seen.length, 0);
});

t.test('a dyno response with a final coding other than chunked is H17, not a garbled body', async (t) => {
  const d = await rawDyno(
    t,
    (_req, sock) => void sock.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b'),
  );
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const { text } = await exchange(p.plane.port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
  t.match(text, /^HTTP\/1\.1 503 /);
  t.match(p.lines[0]!, /^at=error code=H17 /);
});

t.test('a dyno 204 with Content-Length reaches the client without it (RFC 9110 §8.6)', async (t) => {
  const d = await rawDyno(
    t,
    (_req, sock) => void sock.write('HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-A: b\r\n\r\n'),
  );
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const { text } = await exchange(p.plane.port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
  t.match(text, /^HTTP\/1\.1 204 /);
  t.match(text, /X-A: b/);
  t.notMatch(text, /content-length/i);
  t.notMatch(text, /transfer-encoding/i);
});

t.test('endless 1xx interim responses from a dyno are cut: H17', async (t) => {
  const d = await rawDyno(t, (_req, sock) => {
    const hint = 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n';
    // Far more than the bound, and never a final head.
    sock.write(hint.repeat(1_000));
  });
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const { text } = await exchange(p.plane.port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
  t.match(text, /^HTTP\/1\.1 503 /);
  t.match(p.lines[0]!, /^at=error code=H17 /);
});

t.test('an unknown host is a 404 through the same exit, with its line', async (t) => {
  const p = await startPlane(t, []);
  const { text } = await exchange(
    p.plane.port,
    'DELETE /x HTTP/1.1\r\nHost: nope.localhost\r\nConnection: close\r\n\r\n',
  );
  t.match(text, /^HTTP\/1\.1 404 /);
  t.match(p.lines[0]!, /^at=info method=DELETE path="\/x" host=nope\.localhost .*status=404 /);
});

t.test('pipelined requests are answered in order on one connection (RFC 9112 §9.3.2)', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const { text } = await exchange(
    p.plane.port,
    `GET /1 HTTP/1.1\r\n${H}x-dyno-delay: 50\r\n\r\nPOST /2 HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nhiGET /3 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
  );
  const urls = [...text.matchAll(/"url":"(\/\d)"/g)].map((m) => m[1]);
  t.same(urls, ['/1', '/2', '/3'], 'three responses, in request order');
  t.equal(text.match(/HTTP\/1\.1 200 /g)?.length, 3);
});

t.test('HTTP/1.0 keep-alive: the response says so and the connection serves the next request', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const { text } = await exchange(
    p.plane.port,
    `GET /a HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n${H}\r\n`,
  );
  t.match(text, /^HTTP\/1\.1 200 [^]*Connection: keep-alive\r\n[^]*HTTP\/1\.1 200 [^]*Connection: close\r\n/);
  t.same(
    d.seen.map((s) => s.url),
    ['/a', '/b'],
  );
});

t.test('a refused connection is ended by the router and let go even if the client never closes its side', async (t) => {
  const p = await startPlane(t, []);
  const sock = connect({ port: p.plane.port, host: '127.0.0.1', allowHalfOpen: true });
  t.teardown(() => sock.destroy());
  sock.on('error', () => undefined);
  let text = '';
  let ended = false;
  sock.on('data', (c: Buffer) => (text += c.toString('latin1')));
  // The client keeps its side open and never ends it.
  sock.on('end', () => (ended = true));
  sock.write('GET / HTTP/2.0\r\nHost: x\r\n\r\nmore bytes the router reads and drops');
  const open = async (): Promise<number> =>
    Number(/^switchyard_router_client_connections (\d+)$/m.exec(await p.registry.metrics())?.[1]);
  for (let i = 0; i < 100 && !ended; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(await open(), 1, 'still held open after its answer, for the client to close');
  for (let i = 0; i < 150 && (await open()) !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  t.equal(await open(), 0, 'the router closed its connection within its linger bound');
  t.match(text, /^HTTP\/1\.1 505 /, 'the answer arrived whole first');
  t.ok(ended, 'the router ended its side');
});
