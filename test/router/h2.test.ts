// HTTP/2 from clients over TLS (RFC 9113): ALPN h2 with fallback to HTTP/1.1, each stream sent
// to the dyno as HTTP/1.1 with the same headers and router line; stream limits; a rapid-reset
// flood (CVE-2023-44487) cut off while another client keeps being served.
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import t from 'tap';
import { WebSocket } from 'ws';
import { startDyno } from '../fixtures/dyno';
import { eventually, startTestRouter, type TestRouter } from '../fixtures/router';
import { certFor, curlTls, fingerprintOf, handshake, pinOf } from '../fixtures/tls-client';

async function setup(t: Parameters<typeof startTestRouter>[0], config: Record<string, string> = {}) {
  const lines: string[] = [];
  const r = (await startTestRouter(t, { tls: true, config, writeLine: (l) => lines.push(l) }))!;
  const dyno = await startDyno(t);
  await r.api('PUT', '/v1/apps/two', {});
  await r.api('PUT', '/v1/apps/two/domains/h2.example.test', {});
  await r.api('PUT', '/v1/apps/two/dynos/web.1', { host: '127.0.0.1', port: dyno.port });
  const cert = certFor(['h2.example.test']);
  await r.api('PUT', '/v1/apps/two/domains/h2.example.test/certificate', {
    certificate_chain: cert.cert,
    private_key: cert.key,
  });
  await eventually(async () => {
    const hs = await handshake(r.node.tls!.port, 'h2.example.test');
    hs.socket.destroy();
    return hs.fingerprint === fingerprintOf(cert.cert);
  });
  return { r, dyno, cert, lines };
}

function h2Client(t: { teardown(fn: () => unknown): void }, r: TestRouter): ClientHttp2Session {
  const session = connect(`https://h2.example.test:${r.node.tls!.port}`, {
    host: '127.0.0.1',
    rejectUnauthorized: false,
  } as never);
  session.on('error', () => undefined);
  t.teardown(() => session.destroy());
  return session;
}

function get(
  session: ClientHttp2Session,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ':method': body === undefined ? 'GET' : 'POST', ...headers });
    let status = 0;
    let responseHeaders: Record<string, unknown> = {};
    let text = '';
    req.setEncoding('utf8');
    req.on('response', (h) => {
      status = Number(h[':status']);
      responseHeaders = h;
    });
    req.on('data', (c: string) => (text += c));
    req.on('end', () => resolve({ status, body: text, headers: responseHeaders }));
    req.on('error', reject);
    req.end(body);
  });
}

t.test('curl --http2 with SNI: h2 to the router, HTTP/1.1 to the dyno, router line protocol=https', async (t) => {
  const { r, dyno, cert, lines } = await setup(t);
  const port = r.node.tls!.port;
  const res = await curlTls('h2.example.test', port, '/over-h2?x=1', [
    '--http2',
    '--pinnedpubkey',
    pinOf(cert.cert),
    '-H',
    'cookie: a=1',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code} %{http_version}',
  ]);
  t.equal(res.stdout, '200 2', `curl --http2: ${res.stderr}`);
  const seen = dyno.seen.at(-1)!;
  t.equal(seen.url, '/over-h2?x=1');
  t.equal(seen.headers.host, 'h2.example.test:' + port, ':authority became Host');
  t.equal(seen.headers['x-forwarded-proto'], 'https');
  t.equal(seen.headers['x-forwarded-port'], String(port));
  t.equal(seen.headers.cookie, 'a=1');
  t.ok(seen.headers['x-request-id'], 'platform headers as on HTTP/1.1');
  t.notOk(
    seen.rawHeaders.some((h) => h.startsWith(':')),
    'no pseudo-header reaches the dyno',
  );
  t.match(
    lines.find((l) => l.includes('path="/over-h2?x=1"')),
    /status=200 .*protocol=https http_version=2\.0/,
  );
  const h1 = await curlTls('h2.example.test', port, '/', ['--http1.1', '-o', '/dev/null', '-w', '%{http_version}']);
  t.equal(h1.stdout, '1.1', 'a client that offers only http/1.1 gets it');
});

t.test('a node:http2 client opens 100 concurrent streams on one connection', async (t) => {
  const { r, dyno } = await setup(t);
  const session = h2Client(t, r);
  const before = dyno.seen.length;
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      get(session, `/s/${i}`, { 'x-dyno-delay': '20' }, i % 10 === 0 ? `body-${i}` : undefined),
    ),
  );
  t.same(
    results.map((x) => x.status),
    Array(100).fill(200),
  );
  t.equal(dyno.seen.length - before, 100, 'every stream reached the dyno once');
  const posts = dyno.seen.slice(before).filter((s) => s.method === 'POST');
  t.equal(posts.length, 10);
  t.ok(
    posts.every((s) => s.bodyBytes === `body-${s.url.slice(3)}`.length),
    'request bodies without content-length arrived whole (chunked to the dyno)',
  );
  const metrics = await r.api('GET', '/metrics');
  t.match(metrics.body, /switchyard_router_h2_streams_open\{[^}]*\} 0\n/, 'no stream left open');
});

t.test('a rapid-reset flood is cut off with GOAWAY while another client keeps getting 200s', async (t) => {
  const { r } = await setup(t, { ROUTER_H2_MAX_RESETS: '50', ROUTER_H2_RESET_WINDOW_MS: '60000' });
  const good = h2Client(t, r);
  t.equal((await get(good, '/before')).status, 200);
  const bad = h2Client(t, r);
  await new Promise<void>((resolve) => bad.once('connect', () => resolve()));
  const goaway = new Promise<number>((resolve) => bad.once('goaway', (code: number) => resolve(code)));
  const closed = new Promise<void>((resolve) => bad.once('close', () => resolve()));
  // Open a stream and reset it at once, over and over: each one costs the server a request.
  for (let i = 0; i < 500 && !bad.destroyed && !bad.closed; i++) {
    const s = bad.request({ ':path': `/flood/${i}`, 'x-dyno-delay': '1000' });
    s.on('error', () => undefined);
    s.close(constants.NGHTTP2_CANCEL);
    if (i % 20 === 19) await new Promise((r) => setImmediate(r));
  }
  t.equal(await goaway, constants.NGHTTP2_ENHANCE_YOUR_CALM, 'GOAWAY ENHANCE_YOUR_CALM');
  await closed;
  const after = await Promise.all(Array.from({ length: 10 }, (_, i) => get(good, `/after/${i}`)));
  t.same(
    after.map((x) => x.status),
    Array(10).fill(200),
    'the other client is still served',
  );
  const metrics = await r.api('GET', '/metrics');
  t.match(metrics.body, /switchyard_router_h2_reset_floods_total\{[^}]*\} 1\n/);
});

t.test('H codes and error pages are the HTTP/1.1 ones over h2', async (t) => {
  const { r, lines } = await setup(t);
  const session = h2Client(t, r);
  const unknown = await get(session, '/', { ':authority': 'nobody.example.test' });
  t.equal(unknown.status, 404, 'no such app');
  await r.api('PUT', '/v1/apps/two', { maintenance: true });
  await eventually(async () => (await get(session, '/m')).status === 503);
  const m = await get(session, '/m2', { accept: 'application/json' });
  t.equal(m.status, 503);
  t.match(JSON.parse(m.body), { id: 'H80' });
  t.match(
    lines.find((l) => l.includes('path="/m2"')),
    /^at=error code=H80 .*protocol=https http_version=2\.0/,
  );
});

t.test('a :path the HTTP/1 parser would refuse is still escaped in the router line over h2', async (t) => {
  const { r, lines } = await setup(t);
  const session = h2Client(t, r);
  await get(session, '/q"x\\y');
  t.ok(
    lines.some((l) => l.includes(' path="/q\\"x\\\\y" ')),
    'DQUOTE and backslash escaped in the quoted path',
  );
});

t.test('WebSocket over HTTP/1.1 TLS (wss) is piped to the dyno', async (t) => {
  const { r } = await setup(t);
  const ws = new WebSocket(`wss://127.0.0.1:${r.node.tls!.port}/chat`, {
    headers: { host: 'h2.example.test' },
    rejectUnauthorized: false,
  });
  t.teardown(() => ws.terminate());
  await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  ws.send('over tls');
  const echo = await new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString())));
  t.equal(echo, 'over tls');
});
