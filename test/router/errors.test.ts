// Steps 2, 3 and 10: unknown host, app checks (H80, H14, H10, H11), error pages in HTML or JSON.
import t from 'tap';
import { request } from 'undici';
import { startDyno } from '../fixtures/dyno';
import { app, dyno, startPlane } from '../fixtures/plane';
import { eventually } from '../fixtures/router';

t.test('unknown host: 404 "no such app", a metric, no app log', async (t) => {
  const p = await startPlane(t, []);
  const res = await request(p.url, { headers: { host: 'nope.localhost' } });
  t.equal(res.statusCode, 404);
  t.match(await res.body.text(), /No such app/);
  t.equal(p.entries.length, 0, 'nothing for an app channel');
  t.match(await p.registry.metrics(), /switchyard_router_unknown_host_total 1/);
});

t.test('app checks answer 503 with their code without touching a dyno', async (t) => {
  const d = await startDyno(t);
  const past = Date.now() - 1000;
  const p = await startPlane(t, [
    app('maint', [dyno('web.1', d.port)], { maintenance: true }),
    app('empty', []),
    app('crashed', [dyno('web.1', d.port, { state: 'crashed' })]),
    app('expired', [dyno('web.1', d.port, { leaseExpiresAt: past })]),
  ]);
  const cases: [string, string][] = [
    ['maint', 'H80'],
    ['empty', 'H14'],
    ['crashed', 'H10'],
    ['expired', 'H14'],
  ];
  for (const [name, code] of cases) {
    const res = await request(p.url, { headers: { host: `${name}.localhost` } });
    t.equal(res.statusCode, 503, name);
    t.match(await res.body.text(), new RegExp(code));
  }
  t.equal(d.seen.length, 0);
  t.match(
    p.lines[0]!,
    /^at=error code=H80 desc="Maintenance mode" method=GET path="\/" host=maint\.localhost .* dyno= connect= service= status=503 /,
  );
  t.equal(p.entries.length, 4, 'app failures go to the app channel');
});

t.test('H11: beyond ROUTER_APP_MAX_INFLIGHT per dyno, shed at once', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], { ROUTER_APP_MAX_INFLIGHT: '1' });
  const slow = request(p.url, { headers: { host: 'hello.localhost', 'x-dyno-delay': '300' } });
  await eventually(
    () => p.plane.inspector.inFlight('hello', 'web.1') > 0,
    5000,
    'the slow request in flight at the dyno',
  );
  const shed = await request(p.url, { headers: { host: 'hello.localhost' } });
  t.equal(shed.statusCode, 503);
  t.match(await shed.body.text(), /H11/);
  const ok = await slow;
  t.equal(ok.statusCode, 200);
  await ok.body.text();
  t.equal(d.seen.length, 1);
});

t.test('error pages: HTML by default, JSON when preferred, naming code and request id', async (t) => {
  const p = await startPlane(t, [app('empty', [])]);
  const html = await request(p.url, {
    headers: { host: 'empty.localhost', 'x-request-id': 'req-0123456789abcdefghij' },
  });
  const text = await html.body.text();
  t.match(html.headers['content-type'], /text\/html/);
  t.match(text, /H14/);
  t.match(text, /req-0123456789abcdefghij/);
  t.notMatch(text, /at .*\.js/, 'no stack trace');
  const json = await request(p.url, { headers: { host: 'empty.localhost', accept: 'application/json' } });
  const body = (await json.body.json()) as { id: string; message: string; request_id: string };
  t.equal(body.id, 'H14');
  t.equal(body.message, 'No web dynos running');
  t.match(body.request_id, /^[0-9a-f-]{36}$/);
});
