import t from 'tap';
import { request } from 'undici';
import { startDyno } from '../fixtures/dyno';
import { app, dyno, startPlane } from '../fixtures/plane';

t.test('a GET reaches the dyno and its response comes back with one router line', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const res = await request(p.url + '/path?q=1', { headers: { host: 'hello.localhost', 'x-dyno-bytes': '512' } });
  t.equal(res.statusCode, 200);
  t.equal((await res.body.arrayBuffer()).byteLength, 512);
  t.equal(d.seen.length, 1);
  t.equal(d.seen[0]!.url, '/path?q=1');
  t.equal(p.lines.length, 1);
  t.match(
    p.lines[0]!,
    /^at=info method=GET path="\/path\?q=1" host=hello\.localhost request_id=[0-9a-f-]{36} fwd="127\.0\.0\.1" dyno=web\.1 connect=\d+ms service=\d+ms status=200 bytes=512 protocol=http$/,
  );
  t.equal(p.entries.length, 1);
  t.equal(p.entries[0]!.app, 'hello');
  const metrics = await p.registry.metrics();
  t.match(metrics, /switchyard_router_requests_total\{app="hello",class="2xx",code="none"\} 1/);
  t.match(metrics, /switchyard_router_service_seconds_count 1/);
});

t.test('a POST body is streamed to the dyno', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const res = await request(p.url + '/', {
    method: 'POST',
    headers: { host: 'hello.localhost' },
    body: Buffer.alloc(100_000, 'a'),
  });
  t.equal(res.statusCode, 200);
  const echo = (await res.body.json()) as { bodyBytes: number };
  t.equal(echo.bodyBytes, 100_000);
});
