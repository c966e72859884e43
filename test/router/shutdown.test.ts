// Graceful shutdown: close() stops accepting, lets in-flight requests finish, closes idle keep-alive.
import t from 'tap';
import { request, Agent } from 'undici';
import { startDyno } from '../fixtures/dyno';
import { app, dyno, startPlane } from '../fixtures/plane';
import { eventually } from '../fixtures/router';

t.test('close() with requests in flight loses none, then refuses new connections', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const agent = new Agent({ connections: 20 });
  t.teardown(() => agent.close());
  const inFlight = Array.from({ length: 10 }, () =>
    request(p.url, {
      dispatcher: agent,
      headers: { host: 'hello.localhost', 'x-dyno-delay': '200', 'x-dyno-bytes': '1000' },
    }),
  );
  await eventually(
    () => p.plane.inspector.inFlight('hello', 'web.1') === 10,
    5000,
    '10 requests in flight at the dyno',
  );
  const closed = p.plane.close(5_000);
  const results = await Promise.all(inFlight);
  for (const r of results) {
    t.equal(r.statusCode, 200);
    t.equal((await r.body.arrayBuffer()).byteLength, 1000);
  }
  await closed;
  t.equal(p.lines.filter((l) => /status=200/.test(l)).length, 10);
  await t.rejects(request(p.url, { headers: { host: 'hello.localhost' } }), { code: 'ECONNREFUSED' });
});

t.test('a dyno that leaves the table finishes its in-flight request and gets no new ones', async (t) => {
  const d1 = await startDyno(t, 'web.1');
  const d2 = await startDyno(t, 'web.2');
  const p = await startPlane(t, [app('hello', [dyno('web.1', d1.port)])]);
  const slow = request(p.url, { headers: { host: 'hello.localhost', 'x-dyno-delay': '300', 'x-dyno-bytes': '50' } });
  await eventually(
    () => p.plane.inspector.inFlight('hello', 'web.1') > 0,
    5000,
    'the slow request in flight at the dyno',
  );
  p.setTable([app('hello', [dyno('web.2', d2.port)])]);
  const next = await request(p.url, { headers: { host: 'hello.localhost' } });
  t.equal(next.headers['x-dyno-name'], 'web.2', 'new requests go to the dyno in the table');
  await next.body.text();
  const res = await slow;
  t.equal(res.statusCode, 200, 'the request in flight on the departed dyno completed');
  t.equal((await res.body.arrayBuffer()).byteLength, 50);
  t.equal(d1.seen.length, 1);
});
