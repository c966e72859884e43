// What operators need to trust drains (design.md §Drains): credentials masked in every API
// answer and log line, at most LOGPLEX_MAX_DRAINS_PER_CHANNEL drains, filters by source and
// process (filtered-out lines are acked, not sent), and the drain settings read at start-up.
import t from 'tap';
import { loadConfig } from '../../src/shared/config';
import { createLogger } from '../../src/shared/log';
import { maskUrl } from '../../src/logplex/drains/index';
import { drainSettings } from '../../src/logplex/drains/node';
import { eventually, fields, splitFrames } from '../fixtures/drains';
import { prefixFor, sendLines, startNode } from '../fixtures/logplex';
import { httpSink, type HttpSink } from '../fixtures/sinks';

t.test('credentials never leave in an API answer, a log line or an in-band line', async (t) => {
  const sink = await httpSink();
  t.teardown(() => sink.close());
  sink.fallback = 401;
  const logged: string[] = [];
  const node = await startNode(t, {
    store: 'memory',
    log: createLogger({ level: 'debug', write: (l) => logged.push(l) }),
  });
  const ch = await node.channel(['app']);
  const url = `http://drain-user:hunter2-pass@127.0.0.1:${sink.port}/logs`;
  const made = await node.api('POST', `/v2/channels/${ch.id}/drains`, {
    url,
    headers: { 'x-api-key': 'key-value-42' },
  });
  t.equal(made.body.url, `http://drain-user:***@127.0.0.1:${sink.port}/logs`);
  t.same(made.body.headers, { 'x-api-key': '***' });
  await sendLines(node, ch.tokens.app!, [['web.1', 'hello']]);
  await sink.until((d) => d.length >= 1);
  const d = sink.deliveries[0]!;
  t.equal(
    d.headers.authorization,
    'Basic ' + Buffer.from('drain-user:hunter2-pass').toString('base64'),
    'the receiver gets them',
  );
  t.equal(d.headers['x-api-key'], 'key-value-42');
  await eventually(
    () => node.api('GET', `/v2/channels/${ch.id}/drains/${made.body.id}`),
    (r) => r.body.status?.dropped === 1,
  );
  const dup = await node.api('POST', `/v2/channels/${ch.id}/drains`, { url });
  t.equal(dup.status, 409);
  const answers = [
    made.body,
    dup.body,
    (await node.api('GET', `/v2/channels/${ch.id}/drains`)).body,
    (await node.api('GET', `/v2/channels/${ch.id}/drains/${made.body.id}`)).body,
    (await node.api('GET', `/v2/channels/${ch.id}`)).body,
  ].map((b) => JSON.stringify(b));
  const inBand = (await node.store.history(ch.id, 10)).map((l) => l.msg);
  t.ok(
    inBand.some((m) => m.startsWith('Error L13')),
    'the refusal is reported in-band',
  );
  t.ok(
    logged.some((l) => l.includes('drain batch dropped')),
    'and logged',
  );
  for (const text of [...answers, ...inBand, ...logged]) {
    t.notOk(/hunter2-pass|key-value-42/.test(text), `no credential in: ${text.slice(0, 100)}`);
  }
});

t.test('maskUrl: a password, or a lone user, becomes ***', async (t) => {
  const cases: [string, string][] = [
    ['https://u:p@h.example/x', 'https://u:***@h.example/x'],
    ['https://apikey@h.example/', 'https://***@h.example/'],
    ['https://h.example/', 'https://h.example/'],
    ['otlps+http://k:s@c.example:4318', 'otlps+http://k:***@c.example:4318'],
    ['not a url user:pass@host', '***@host'],
  ];
  for (const [raw, masked] of cases) t.equal(maskUrl(raw), masked, raw);
});

t.test('at most LOGPLEX_MAX_DRAINS_PER_CHANNEL drains; one more is 422', async (t) => {
  const node = await startNode(t, { store: 'memory', env: { LOGPLEX_MAX_DRAINS_PER_CHANNEL: '2' } });
  const ch = await node.channel(['app']);
  const path = `/v2/channels/${ch.id}/drains`;
  const a = await node.api('POST', path, { url: 'syslog://a.example:514' });
  t.equal((await node.api('POST', path, { url: 'syslog://b.example:514' })).status, 201);
  const third = await node.api('POST', path, { url: 'syslog://c.example:514' });
  t.same([third.status, third.body.id], [422, 'unprocessable_entity']);
  t.match(third.body.message, /already has 2 drains \(the limit\)/);
  const other = await node.channel(['app']);
  t.equal(
    (await node.api('POST', `/v2/channels/${other.id}/drains`, { url: 'syslog://c.example:514' })).status,
    201,
    'per channel',
  );
  await node.api('DELETE', `${path}/${a.body.id}`);
  t.equal(
    (await node.api('POST', path, { url: 'syslog://c.example:514' })).status,
    201,
    'a deleted drain frees its place',
  );
  t.equal(loadConfig({}).LOGPLEX_MAX_DRAINS_PER_CHANNEL, 5, 'five by default, as Heroku');
});

t.test('filters: router lines to one drain, app lines to another; filtered-out lines are acked', async (t) => {
  const sinks: HttpSink[] = [];
  for (let i = 0; i < 3; i++) {
    const s = await httpSink();
    t.teardown(() => s.close());
    sinks.push(s);
  }
  const node = await startNode(t, { store: 'memory' });
  const ch = await node.channel(['app', 'heroku']);
  const filters = [{ processes: ['router'] }, { sources: ['app'] }, { sources: ['app'], processes: ['web'] }];
  const ids: number[] = [];
  for (const [i, filter] of filters.entries()) {
    const r = await node.api('POST', `/v2/channels/${ch.id}/drains`, { url: sinks[i]!.url, filter });
    t.same(r.body.filter, filter);
    ids.push(r.body.id);
  }
  await sendLines(node, ch.tokens.app!, [
    ['web.1', 'app web'],
    ['worker.1', 'app worker'],
  ]);
  await sendLines(node, ch.tokens.heroku!, [['router', 'at=info status=200']]);
  const want = [['router at=info status=200'], ['web.1 app web', 'worker.1 app worker'], ['web.1 app web']];
  for (const [i, sink] of sinks.entries()) {
    const shown = await eventually(
      () => node.api('GET', `/v2/channels/${ch.id}/drains/${ids[i]}`),
      (r) => r.body.status?.backlog === 0 && r.body.status?.delivered === want[i]!.length,
    );
    t.match(shown.body.status, { delivered: want[i]!.length, backlog: 0, dropped: 0 }, `drain ${i}: every line acked`);
    const got = sink.deliveries.flatMap((d) => splitFrames(d.body)).map((f) => `${fields(f).proc} ${fields(f).rest}`);
    t.same(got, want[i], `drain ${i} got only its lines`);
  }
  const bad: [unknown, RegExp][] = [
    [{ sources: [] }, /filter\.sources must be a list of 1 to 16/],
    [{ sources: ['a b'] }, /is not a name/],
    [{ dynos: ['web'] }, /unknown filter field "dynos"/],
    ['web', /"filter" must be an object/],
  ];
  for (const [filter, message] of bad) {
    const r = await node.api('POST', `/v2/channels/${ch.id}/drains`, { url: 'syslog://x.example:514', filter });
    t.equal(r.status, 422);
    t.match(r.body.message, message);
  }
});

t.test('drain settings: timeouts, backoff, batch size, and a CA file that must be readable', async (t) => {
  const s = drainSettings(
    loadConfig({
      LOGPLEX_DRAIN_CONNECT_TIMEOUT_MS: '1234',
      LOGPLEX_DRAIN_RESPONSE_TIMEOUT_MS: '5678',
      LOGPLEX_DRAIN_BATCH_LINES: '50',
      LOGPLEX_DRAIN_BACKOFF_BASE_MS: '10',
      LOGPLEX_DRAIN_BACKOFF_CAP_MS: '40',
    }),
  );
  t.same(s.transport, { connectTimeoutMs: 1234, responseTimeoutMs: 5678 });
  t.equal(s.batchLines, 50);
  for (let attempt = 1; attempt < 10; attempt++) t.ok(s.backoff.delay(attempt) < 40, 'capped by the setting');
  t.throws(() => loadConfig({ LOGPLEX_DRAIN_BATCH_LINES: '0' }), {
    code: 'SY_CONFIG',
    variable: 'LOGPLEX_DRAIN_BATCH_LINES',
  });
  const missing = 'no-such-dir/ca.pem';
  t.throws(() => drainSettings(loadConfig({ LOGPLEX_DRAIN_CA_FILE: missing })), {
    message: /LOGPLEX_DRAIN_CA_FILE="no-such-dir\/ca.pem" is invalid: expected a readable PEM file \(ENOENT\)/,
  });
});

for (const store of ['memory', 'redis'] as const) {
  t.test(`the ${store} drain store keeps secret, headers, filter and app; update never revives a drain`, async (t) => {
    const prefix = store === 'redis' ? await prefixFor(t) : undefined;
    if (store === 'redis' && prefix === undefined) return;
    const node = await startNode(t, { store, ...(prefix ? { prefix } : {}) });
    const ch = await node.channel(['app']);
    const drains = node.drains.store;
    const extras = { secret: 'ds.one', headers: { 'x-k': 'v' }, filter: { sources: ['app'] }, app: 'test' };
    const d = await drains.create(ch.id, 'https://r.example/', extras);
    if (d === 'conflict') throw new Error('conflict');
    t.match(await drains.get(ch.id, d.id), { ...extras, url: 'https://r.example/' });
    t.match((await drains.list(ch.id))[0], extras);
    t.match(await drains.update(ch.id, d.id, { secret: 'ds.two' }), { secret: 'ds.two', headers: extras.headers });
    t.equal((await drains.get(ch.id, d.id))?.secret, 'ds.two');
    await drains.remove(ch.id, d.id);
    t.equal(await drains.update(ch.id, d.id, { secret: 'ds.three' }), undefined);
    t.equal(await drains.get(ch.id, d.id), undefined, 'a removed drain stays removed');
  });
}
