// The data plane inside a router node: a dyno registered through the control API gets traffic.
import t from 'tap';
import { request } from 'undici';
import { startDyno } from '../fixtures/dyno';
import { eventually, startTestRouter } from '../fixtures/router';

t.test('register an app and a dyno through the control API, then route to it', async (t) => {
  const lines: string[] = [];
  const r = (await startTestRouter(t, { writeLine: (l) => lines.push(l) }))!;
  const d = await startDyno(t);
  t.equal((await r.api('PUT', '/v1/apps/hello', {})).status < 300, true);
  t.equal((await r.api('PUT', '/v1/apps/hello/dynos/web.1', { host: '127.0.0.1', port: d.port })).status < 300, true);
  const url = `http://127.0.0.1:${r.node.port}/hi`;
  let status = 0;
  await eventually(
    async () => {
      const res = await request(url, { headers: { host: 'hello.localhost' } });
      await res.body.text();
      status = res.statusCode;
      return status === 200;
    },
    3000,
    'the table to pick up the dyno',
  );
  t.equal(status, 200);
  t.equal(d.seen[d.seen.length - 1]!.url, '/hi');
  t.match(
    lines[lines.length - 1]!,
    /^at=info method=GET path="\/hi" host=hello\.localhost .* dyno=web\.1 .*status=200 /,
  );
});
