// /v2/channels/:id/drains on a running node (DESIGN §4): shapes, 422/409/400/404/401, and a
// line posted to /logs arriving at the drain with its delivery status shown.
import t from 'tap';
import { startNode, sendLines } from '../fixtures/logplex';
import { eventually, fields, splitFrames } from '../fixtures/drains';
import { httpSink } from '../fixtures/sinks';

t.test('create, list, show with status, delete; a posted line reaches the drain', async (t) => {
  const sink = await httpSink();
  t.teardown(() => sink.close());
  const node = await startNode(t, { store: 'memory' });
  const ch = await node.channel(['app']);
  const created = await node.api('POST', `/v2/channels/${ch.id}/drains`, { url: sink.url });
  t.equal(created.status, 201);
  t.ok(Number.isInteger(created.body.id));
  t.match(created.body.token, /^d\.[0-9a-f-]{36}$/);
  t.same(Object.keys(created.body).sort(), ['id', 'secret', 'signed', 'token', 'url']);
  t.equal(created.body.url, sink.url);
  const { secret: _secret, ...shownOnce } = created.body;
  const list = await node.api('GET', `/v2/channels/${ch.id}/drains`);
  t.same(list.body, [shownOnce], 'the secret is shown only by the POST that made it');
  t.same(
    (await node.api('GET', `/v2/channels/${ch.id}`)).body.drains,
    [shownOnce],
    'the channel view lists its drains',
  );
  await sendLines(node, ch.tokens.app!, [['web.1', 'hello drain']]);
  await sink.until((d) => d.length >= 1);
  const f = fields(splitFrames(sink.deliveries[0]!.body)[0]!);
  t.same([f.app, f.proc, f.rest], ['app', 'web.1', 'hello drain']);
  t.equal(sink.deliveries[0]!.headers['logplex-drain-token'], created.body.token);
  const shown = await eventually(
    () => node.api('GET', `/v2/channels/${ch.id}/drains/${created.body.id}`),
    (r) => r.body.status?.delivered === 1,
  );
  t.equal(shown.status, 200);
  t.match(shown.body, { id: created.body.id, token: created.body.token, url: sink.url, created_at: String });
  t.match(shown.body.status, {
    delivered: 1,
    retried: 0,
    dropped: 0,
    lost: 0,
    backlog: 0,
    last_error: null,
    last_success_at: String,
  });
  t.ok(shown.body.status.owner, 'the owning node is named');
  const del = await node.api('DELETE', `/v2/channels/${ch.id}/drains/${created.body.id}`);
  t.same([del.status, del.body], [200, { id: created.body.id, deleted: true }]);
  t.equal((await node.api('GET', `/v2/channels/${ch.id}/drains/${created.body.id}`)).status, 404);
  t.same((await node.api('GET', `/v2/channels/${ch.id}/drains`)).body, []);
});

t.test('bad requests get specific errors', async (t) => {
  const node = await startNode(t, { store: 'memory' });
  const ch = await node.channel(['app']);
  const path = `/v2/channels/${ch.id}/drains`;
  const cases: [string, unknown, number, string, RegExp][] = [
    [path, { url: 'ftp://x.example/' }, 422, 'unprocessable_entity', /scheme "ftp"/],
    [path, { url: 'syslog://x.example' }, 422, 'unprocessable_entity', /missing port/],
    [path, {}, 422, 'unprocessable_entity', /"url" must be/],
    [path, { url: 'https://x.example/', extra: 1 }, 400, 'invalid_params', /unknown field "extra"/],
    [path, '{"url":', 400, 'invalid_params', /not valid JSON/],
    ['/v2/channels/999999/drains', { url: 'https://x.example/' }, 404, 'not_found', /no channel/],
    ['/v2/channels/abc/drains', { url: 'https://x.example/' }, 404, 'not_found', /no channel/],
  ];
  for (const [p, body, status, id, message] of cases) {
    const r = await node.api('POST', p, body);
    t.equal(r.status, status, `${JSON.stringify(body)} → ${status}`);
    t.equal(r.body.id, id);
    t.match(r.body.message, message);
  }
  t.equal((await node.api('POST', path, { url: 'syslog://Logs.Example:514' })).status, 201);
  const dup = await node.api('POST', path, { url: 'syslog://logs.example:514/' });
  t.same([dup.status, dup.body.id], [409, 'conflict'], 'the same URL, written differently, is a duplicate');
  t.match(dup.body.message, /already drains to syslog:\/\/logs\.example:514/);
  t.equal((await node.api('GET', `${path}/12345`)).status, 404);
  t.equal((await node.api('DELETE', `${path}/12345`)).status, 404);
  t.equal((await node.api('GET', path, undefined, { authorization: 'Bearer wrong-token-wrong-token' })).status, 401);
});
