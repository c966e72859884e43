// Step 5: connect failures are retried on other dynos, up to 3 attempts, only while nothing was sent.
import t from 'tap';
import { request } from 'undici';
import { blackHolePort, refusingPort, startDyno } from '../fixtures/dyno';
import { app, dyno, startPlane } from '../fixtures/plane';

t.test('H21 on one dyno: retried on another, the line names both', async (t) => {
  const d = await startDyno(t, 'web.2');
  const dead = await refusingPort();
  // round-robin from the first dyno (sorted by name), so web.1 (refusing) is tried first.
  const p = await startPlane(t, [
    app('hello', [dyno('web.1', dead), dyno('web.2', d.port)], { balancer: 'round-robin' }),
  ]);
  const res = await request(p.url, { method: 'POST', body: 'payload', headers: { host: 'hello.localhost' } });
  t.equal(res.statusCode, 200);
  t.equal(((await res.body.json()) as { bodyBytes: number }).bodyBytes, 7, 'the body arrived whole on the second dyno');
  t.equal(d.seen.length, 1);
  t.match(p.lines[0]!, /^at=info .* dyno=web\.2 .*status=200 .* attempts=2 tried=web\.1,web\.2$/);
});

t.test('every dyno refuses: 503 H21 after 3 attempts at most', async (t) => {
  const ports = [await refusingPort(), await refusingPort(), await refusingPort(), await refusingPort()];
  const p = await startPlane(t, [
    app(
      'hello',
      ports.map((port, i) => dyno(`web.${i + 1}`, port)),
    ),
  ]);
  const res = await request(p.url, { headers: { host: 'hello.localhost' } });
  t.equal(res.statusCode, 503);
  t.match(await res.body.text(), /H21/);
  t.match(
    p.lines[0]!,
    /^at=error code=H21 desc="Backend connection refused" .* attempts=3 tried=web\.\d,web\.\d,web\.\d$/,
  );
});

t.test('H19: connect timeout on a black-hole dyno, then the healthy one answers', async (t) => {
  const hole = await blackHolePort(t);
  const d = await startDyno(t, 'web.2');
  const p = await startPlane(
    t,
    [app('hello', [dyno('web.1', hole), dyno('web.2', d.port)], { balancer: 'round-robin' })],
    {
      ROUTER_CONNECT_TIMEOUT_MS: '200',
    },
  );
  const res = await request(p.url, { headers: { host: 'hello.localhost' } });
  t.equal(res.statusCode, 200);
  await res.body.text();
  t.match(p.lines[0]!, /attempts=2 tried=web\.1,web\.2$/);
  t.equal(p.plane.inspector.inFlight('hello', 'web.1'), 0);
});

t.test('H19 alone: 503 with the code', async (t) => {
  const hole = await blackHolePort(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', hole)])], { ROUTER_CONNECT_TIMEOUT_MS: '200' });
  const res = await request(p.url, { headers: { host: 'hello.localhost' } });
  t.equal(res.statusCode, 503);
  t.match(await res.body.text(), /H19/);
  t.match(p.lines[0]!, /^at=error code=H19 desc="Backend connection timeout" /);
});

t.test('a dyno that refused is skipped for a back-off (outlier ejection)', async (t) => {
  const d = await startDyno(t, 'web.2');
  const e = await startDyno(t, 'web.3');
  const dead = await refusingPort();
  const p = await startPlane(t, [
    app('hello', [dyno('web.1', dead), dyno('web.2', d.port), dyno('web.3', e.port)], { balancer: 'round-robin' }),
  ]);
  for (let i = 0; i < 6; i++) {
    const res = await request(p.url, { headers: { host: 'hello.localhost' } });
    t.equal(res.statusCode, 200);
    await res.body.text();
  }
  const tried = p.lines.filter((l) => /tried=web\.1/.test(l)).length;
  t.equal(tried, 1, 'web.1 was tried once, then sat out its back-off');
});
