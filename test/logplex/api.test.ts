// The v2 API (design.md §Logplex API): shapes, auth (Bearer, or Basic with the token as password), and
// bad input answered 4xx `{id, message}` naming the field; unknown fields refused.
import t from 'tap';
import { API_TOKEN, sendLines, startNode } from '../fixtures/logplex';

t.test('channels: create, read, add a token, delete', async (t) => {
  const node = await startNode(t);
  const created = await node.api('POST', '/v2/channels', { name: 'hello', tokens: [{ name: 'app' }, 'heroku'] });
  t.equal(created.status, 201);
  t.match(created.body, { channel_id: Number, name: 'hello', drains: [] });
  t.same(
    created.body.tokens.map((x: { name: string }) => x.name),
    ['app', 'heroku'],
  );
  const id = created.body.channel_id as number;
  t.ok(Number.isInteger(id));
  const got = await node.api('GET', `/v2/channels/${id}`);
  t.equal(got.status, 200);
  t.same(got.body, created.body);
  const tok = await node.api('POST', `/v2/channels/${id}/tokens`, { name: 'router' });
  t.equal(tok.status, 201);
  t.match(tok.body, { name: 'router', token: /^t\.[0-9a-f-]{36}$/ });
  await sendLines(node, tok.body.token, [['router', 'works']]);
  const del = await node.api('DELETE', `/v2/channels/${id}`);
  t.equal(del.status, 200);
  t.equal((await node.api('GET', `/v2/channels/${id}`)).status, 404);
  t.equal((await node.api('DELETE', `/v2/channels/${id}`)).status, 404);
  await t.rejects(
    sendLines(node, tok.body.token, [['router', 'gone']]),
    /401/,
    'tokens of a deleted channel stop working',
  );
});

t.test('GET /v2/channels lists channels, filtered by ?name=', async (t) => {
  const node = await startNode(t);
  const a = await node.api('POST', '/v2/channels', { name: 'hello', tokens: ['app'] });
  const b = await node.api('POST', '/v2/channels', { name: 'other' });
  const all = await node.api('GET', '/v2/channels');
  t.equal(all.status, 200);
  t.same(all.body, [
    { channel_id: a.body.channel_id, name: 'hello' },
    { channel_id: b.body.channel_id, name: 'other' },
  ]);
  t.same((await node.api('GET', '/v2/channels?name=other')).body, [{ channel_id: b.body.channel_id, name: 'other' }]);
  t.same((await node.api('GET', '/v2/channels?name=nope')).body, []);
  t.equal((await node.api('GET', '/v2/channels?color=red')).status, 400);
  t.equal((await node.api('GET', '/v2/channels', undefined, { authorization: '' })).status, 401);
});

t.test('auth: Bearer or Basic with the token as password; anything else 401', async (t) => {
  const node = await startNode(t);
  const basic = 'Basic ' + Buffer.from(`:${API_TOKEN}`).toString('base64');
  t.equal((await node.api('POST', '/v2/channels', { name: 'a' }, { authorization: basic })).status, 201);
  for (const authorization of [
    '',
    'Bearer wrong-token-wrong-token',
    'Basic ' + Buffer.from('x:nope').toString('base64'),
    'Token abc',
  ]) {
    const r = await node.api('POST', '/v2/channels', { name: 'a' }, { authorization });
    t.equal(r.status, 401, JSON.stringify(authorization));
    t.equal(r.body.id, 'unauthorized');
  }
  t.equal((await node.api('GET', '/v2/channels/1', undefined, { authorization: '' })).status, 401);
});

t.test('bad input is 400 naming the field; unknown channels 404', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  const cases: [string, string, unknown, number, RegExp][] = [
    ['POST', '/v2/channels', '{not json', 400, /not valid JSON/],
    ['POST', '/v2/channels', '[1,2]', 400, /JSON object/],
    ['POST', '/v2/channels', { name: 'a', color: 'red' }, 400, /unknown field "color"/],
    ['POST', '/v2/channels', { name: 42 }, 400, /"name"/],
    ['POST', '/v2/channels', {}, 400, /"name"/],
    ['POST', '/v2/channels', { name: 'has space' }, 400, /"name"/],
    ['POST', '/v2/channels', { name: 'a', tokens: 'app' }, 400, /"tokens"/],
    ['POST', '/v2/channels', { name: 'a', tokens: [{ name: 'app', x: 1 }] }, 400, /unknown field "tokens\[0\]\.x"/],
    ['POST', '/v2/channels', { name: 'a', tokens: [7] }, 400, /"tokens\[0\]"/],
    ['POST', `/v2/channels/${ch.id}/tokens`, { name: '' }, 400, /"name"/],
    ['POST', `/v2/channels/${ch.id}/tokens`, { name: 'x', extra: 1 }, 400, /unknown field "extra"/],
    ['POST', '/v2/channels/999999/tokens', { name: 'x' }, 404, /no channel/],
    ['GET', '/v2/channels/abc', undefined, 404, /no channel/],
    ['GET', '/v2/channels/999999', undefined, 404, /no channel/],
    ['POST', '/v2/sessions', { channel_id: 'abc' }, 400, /"channel_id"/],
    ['POST', '/v2/sessions', {}, 400, /"channel_id"/],
    ['POST', '/v2/sessions', { channel_id: ch.id, num: -1 }, 400, /"num"/],
    ['POST', '/v2/sessions', { channel_id: ch.id, num: 1.5 }, 400, /"num"/],
    ['POST', '/v2/sessions', { channel_id: ch.id, tail: 'maybe' }, 400, /"tail"/],
    ['POST', '/v2/sessions', { channel_id: ch.id, dyno: 'web', ps: 'worker' }, 400, /alias/],
    ['POST', '/v2/sessions', { channel_id: ch.id, dyno: 'has space' }, 400, /"dyno"/],
    ['POST', '/v2/sessions', { channel_id: ch.id, source: [] }, 400, /"source"/],
    ['POST', '/v2/sessions', { channel_id: ch.id, follow: true }, 400, /unknown field "follow"/],
    ['POST', '/v2/sessions', { channel_id: 999999 }, 404, /no channel/],
    ['PUT', '/v2/channels', {}, 405, /not allowed/],
    ['GET', '/v2/nothing', undefined, 404, /no route/],
  ];
  for (const [method, path, body, status, re] of cases) {
    const r = await node.api(method, path, body);
    t.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}`);
    t.match(r.body?.message, re, `${method} ${path} message`);
    t.type(r.body?.id, 'string');
  }
});

t.test('ops endpoints answer', async (t) => {
  const node = await startNode(t);
  t.equal((await node.api('GET', '/healthz')).status, 200);
  const ready = await node.api('GET', '/readyz');
  t.equal(ready.status, 200);
  t.match(ready.body, { status: 'ready', store: 'memory' });
  const metrics = await node.api('GET', '/metrics');
  t.match(metrics.body, /switchyard_logplex_sessions_active/);
});
