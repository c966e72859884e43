// Step 7 failures from real misbehaving dynos: each H code, its status and its log line.
import t from 'tap';
import { request } from 'undici';
import { connect } from 'node:net';
import { startDyno } from '../fixtures/dyno';
import { app, dyno, startPlane } from '../fixtures/plane';
import { eventually } from '../fixtures/router';

const env = { ROUTER_RESPONSE_TIMEOUT_MS: '300', ROUTER_IDLE_TIMEOUT_MS: '300' };

t.test('H12: no response headers within ROUTER_RESPONSE_TIMEOUT_MS → 503, nothing retried', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], env);
  const res = await request(p.url, { headers: { host: 'hello.localhost', 'x-dyno-delay': '2000' } });
  t.equal(res.statusCode, 503);
  t.match(await res.body.text(), /H12/);
  t.equal(d.seen.length, 1);
  t.match(
    p.lines[0]!,
    /^at=error code=H12 desc="Request timeout" method=GET path="\/" host=hello\.localhost .* dyno=web\.1 .*status=503 /,
  );
});

t.test(
  'H13: the dyno closes a fresh connection without a response → 503, not replayed (no keep-alive race)',
  async (t) => {
    const d = await startDyno(t);
    const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], env);
    const res = await request(p.url, {
      method: 'GET',
      headers: { host: 'hello.localhost', 'x-dyno-close': 'before-headers' },
    });
    t.equal(res.statusCode, 503);
    await res.body.text();
    t.match(p.lines[0]!, /^at=error code=H13 desc="Connection closed without response" /);
    t.equal(d.seen.length, 1, 'a fresh connection cannot have raced the keep-alive timer: no replay');
  },
);

t.test('H13 for a POST whose body was sent: never replayed', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], env);
  const res = await request(p.url, {
    method: 'POST',
    body: 'hello body',
    headers: { host: 'hello.localhost', 'x-dyno-close': 'before-headers' },
  });
  t.equal(res.statusCode, 503);
  await res.body.text();
  t.equal(d.seen.length, 1, 'the dyno saw the POST exactly once');
  t.match(p.lines[0]!, /code=H13/);
  t.notMatch(p.lines[0]!, /attempts=/);
});

t.test('H17: an unparseable response → 503', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], env);
  const res = await request(p.url, {
    method: 'POST',
    body: 'x',
    headers: { host: 'hello.localhost', 'x-dyno-garbage': '1' },
  });
  t.equal(res.statusCode, 503);
  t.match(await res.body.text(), /H17/);
  t.match(p.lines[0]!, /^at=error code=H17 desc="Poorly formatted HTTP response" /);
});

t.test('H18: the dyno dies mid-body → the client connection is cut, logged H18', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], env);
  const res = await request(p.url, {
    headers: { host: 'hello.localhost', 'x-dyno-close': 'mid-body', 'x-dyno-bytes': '10000' },
  });
  t.equal(res.statusCode, 200, 'headers were already on their way');
  await t.rejects(res.body.text());
  t.match(p.lines[0]!, /^at=error code=H18 desc="Server Request Interrupted" .*status=503 /);
});

t.test('H15: no body byte within ROUTER_IDLE_TIMEOUT_MS → both sides closed', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], env);
  const res = await request(p.url, {
    headers: { host: 'hello.localhost', 'x-dyno-hang': 'after-headers', 'x-dyno-bytes': '100' },
  });
  t.equal(res.statusCode, 200);
  await t.rejects(res.body.text());
  t.match(p.lines[0]!, /^at=error code=H15 desc="Idle connection" /);
});

t.test('H27: the client leaves first → logged as status 499', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], env);
  const sock = connect(p.plane.port, '127.0.0.1');
  sock.write('GET / HTTP/1.1\r\nHost: hello.localhost\r\nx-dyno-delay: 250\r\n\r\n');
  await new Promise((r) => setTimeout(r, 100));
  sock.destroy();
  await eventually(() => p.lines.length > 0, 5000, 'the H27 line');
  t.match(p.lines[0]!, /^at=error code=H27 desc="Client Request Interrupted" .*status=499 /);
});
