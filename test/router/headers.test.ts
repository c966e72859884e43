// Step 6: the header set a dyno sees, and hop-by-hop headers removed both ways.
import t from 'tap';
import { connect } from 'node:net';
import { request } from 'undici';
import { startDyno } from '../fixtures/dyno';
import { upstreamFields } from '../../src/router/headers';
import { app, dyno, startPlane } from '../fixtures/plane';
import { eventually } from '../fixtures/router';

t.test('the dyno sees X-Request-Id, X-Forwarded-*, X-Request-Start, Via and timing headers', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const before = Date.now();
  const res = await request(p.url + '/x', {
    headers: {
      host: 'hello.localhost',
      'x-forwarded-for': '10.0.0.1',
      via: '1.0 edge',
      'x-request-start': '1',
      'x-forwarded-proto': 'https',
    },
  });
  t.equal(res.statusCode, 200);
  await res.body.text();
  const h = d.seen[0]!.headers;
  t.match(h['x-request-id'], /^[0-9a-f-]{36}$/, 'a new UUID');
  t.equal(h['x-forwarded-for'], '10.0.0.1, 127.0.0.1', 'appended');
  t.equal(h['x-forwarded-proto'], 'http', 'set by the router, not the client');
  t.equal(h['x-forwarded-port'], String(p.plane.port));
  t.ok(Number(h['x-request-start']) >= before && Number(h['x-request-start']) <= Date.now());
  t.equal(h.via, '1.0 edge, 1.1 switchyard');
  t.match(h['connect-time'], /^\d+$/);
  t.match(h['total-route-time'], /^\d+$/);
  t.equal(h.host, 'hello.localhost');
  t.match(p.lines[0]!, new RegExp(`request_id=${String(h['x-request-id'])}`));
});

t.test("the client's X-Request-Id is kept when it has 20–200 safe characters, replaced otherwise", async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const cases: [string, boolean][] = [
    ['abcdefghij0123456789', true],
    ['a'.repeat(200), true],
    ['short', false],
    ['a'.repeat(201), false],
    ['has space in it and is long enough', false],
    ['abc+/=-ABC0123456789xyz', true],
  ];
  for (const [id, kept] of cases) {
    const res = await request(p.url, { headers: { host: 'hello.localhost', 'x-request-id': id } });
    await res.body.text();
    const seen = d.seen[d.seen.length - 1]!.headers['x-request-id'];
    if (kept) t.equal(seen, id, `kept: ${id.slice(0, 30)}`);
    else t.not(seen, id, `replaced: ${id.slice(0, 30)}`);
  }
});

t.test('hop-by-hop headers, and those Connection names, are removed both ways', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const sock = connect(p.plane.port, '127.0.0.1');
  sock.write(
    'GET / HTTP/1.1\r\nHost: hello.localhost\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\n' +
      'Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic eA==\r\nX-Kept: yes\r\n\r\n',
  );
  let got = '';
  sock.on('data', (c) => (got += c.toString()));
  await eventually(() => got.includes('"dyno"'), 5000, 'the echo body');
  sock.destroy();
  const h = d.seen[0]!.headers;
  for (const gone of ['x-secret', 'keep-alive', 'te', 'proxy-authorization'])
    t.equal(h[gone], undefined, `${gone} removed`);
  t.equal(h['x-kept'], 'yes');
  t.match(got, /^HTTP\/1\.1 200 /);
  t.match(got, /x-dyno-name: web\.1/i);
});

t.test('Expect: 100-continue is answered, then the body is forwarded', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const sock = connect(p.plane.port, '127.0.0.1');
  sock.write('POST / HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  let got = '';
  sock.on('data', (c) => (got += c.toString()));
  await eventually(() => got.includes('100 Continue'), 5000, '100 Continue');
  sock.write('hello');
  await eventually(() => got.includes('"bodyBytes":5'), 5000, 'the response to the 5-byte body');
  sock.destroy();
  t.equal(d.seen[0]!.headers.expect, undefined, 'the router answered the expectation itself');
  t.equal(d.seen[0]!.bodyBytes, 5);
});

t.test("the dyno's hop-by-hop response headers do not reach the client", async (t) => {
  const { createServer } = await import('node:net');
  const raw = createServer((sock) => {
    sock.on('error', () => undefined);
    sock.once('data', () =>
      sock.end(
        'HTTP/1.1 200 OK\r\nConnection: close, X-Internal\r\nX-Internal: secret\r\nKeep-Alive: timeout=77\r\nProxy-Authenticate: Basic\r\nX-Public: yes\r\nContent-Length: 2\r\n\r\nok',
      ),
    );
  });
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => raw.close(() => resolve())));
  const p = await startPlane(t, [app('hello', [dyno('web.1', (raw.address() as { port: number }).port)])]);
  const res = await request(p.url, { headers: { host: 'hello.localhost' } });
  t.equal(await res.body.text(), 'ok');
  t.equal(res.headers['x-public'], 'yes');
  t.equal(res.headers['x-internal'], undefined);
  t.equal(res.headers['proxy-authenticate'], undefined);
  t.not(res.headers['keep-alive'], 'timeout=77', "the dyno's keep-alive is its own, not the client's");
  t.not(res.headers.connection, 'close, X-Internal');
});

t.test('a sink that drops a line is counted', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], {}, { write: () => false });
  await (await request(p.url, { headers: { host: 'hello.localhost' } })).body.text();
  t.match(await p.registry.metrics(), /switchyard_router_access_log_dropped_total 1/);
});

t.test('X-Request-Start is the acceptance time in decimal ms, across seconds and repeated values', (t) => {
  const facts = { requestId: 'r'.repeat(20), remote: '127.0.0.1', proto: 'http', port: 80, connectMs: 0 } as const;
  const start = (acceptedAt: number): string =>
    /x-request-start: (.*)\r\n/.exec(upstreamFields([], '', { ...facts, acceptedAt }, acceptedAt))![1]!;
  for (const ms of [1_700_000_000_005, 1_700_000_000_005, 1_700_000_000_050, 1_700_000_000_999, 1_700_000_001_000])
    t.equal(start(ms), String(ms));
  t.equal(start(1_699_999_999_999), '1699999999999', 'an earlier second after a later one');
  t.equal(start(7), '7', 'the first second of 1970 has no seconds to put before its digits');
  t.equal(start(1_700_000_000_000.5), '1700000000000.5');
  t.end();
});
