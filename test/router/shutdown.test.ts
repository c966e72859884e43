// Graceful shutdown: close() stops accepting, lets in-flight requests finish, closes idle keep-alive.
import t from 'tap';
import { request, Agent } from 'undici';
import { startDyno } from '../fixtures/dyno';
import { app, dyno, startPlane } from '../fixtures/plane';

t.test('close() with requests in flight loses none, then refuses new connections', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const agent = new Agent({ connections: 20 });
  t.teardown(() => agent.close());
  const inFlight = Array.from({ length: 10 }, () =>
    request(p.url, { dispatcher: agent, headers: { host: 'hello.localhost', 'x-dyno-delay': '200', 'x-dyno-bytes': '1000' } }),
  );
  while (p.plane.inspector.inFlight('hello', 'web.1') < 10) await new Promise((r) => setTimeout(r, 5));
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
