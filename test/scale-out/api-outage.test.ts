// While Redis is away, both services' APIs answer 503 with Retry-After naming what is away, never
// 500 and never ioredis' words; when Redis returns they answer again (design.md §Control API,
// §Logplex API). A private redis-server is stopped and started again under them.
import { connect } from 'node:net';
import t from 'tap';
import { request } from 'undici';
import { encodeFrame } from '../../src/shared/syslog/frame';
import { startDyno } from '../fixtures/dyno';
import { API_TOKEN, logplexMsg, readHistory, startNode } from '../fixtures/logplex';
import { ownRedisFor } from '../fixtures/redis-server';
import { eventually, startTestRouter, TEST_TOKEN } from '../fixtures/router';

t.test('both APIs answer 503 with Retry-After while Redis is away, and 2xx once it is back', async (t) => {
  const redis = await ownRedisFor(t);
  if (!redis) return;
  const lp = await startNode(t, { store: 'redis', redisUrl: redis.url, prefix: 'sytest:outage:' });
  const r = (await startTestRouter(t, { store: 'redis', redisUrl: redis.url, prefix: 'sytest:outage:' }))!;
  await eventually(async () => (await lp.api('GET', '/readyz')).status === 200, 10_000, 'logplex ready');
  await eventually(() => r.node.table.state.ready, 10_000, 'router ready');
  const ch = await lp.channel(['app']);
  t.equal((await r.api('PUT', '/v1/apps/outage', {})).status, 201);

  await redis.stop();
  await eventually(async () => (await lp.api('GET', '/readyz')).status === 503, 10_000, 'logplex not ready');
  const lpReady = await lp.api('GET', '/readyz');
  t.match(lpReady.body, { status: 'not_ready', reason: 'store_unreachable', url: redis.url });

  const calls: [string, () => Promise<{ status: number; body: any; headers?: Record<string, unknown> }>][] = [
    ['logplex: create a channel', () => lp.api('POST', '/v2/channels', { name: 'x', tokens: ['app'] })],
    ['logplex: read a channel', () => lp.api('GET', `/v2/channels/${ch.id}`)],
    ['logplex: list channels', () => lp.api('GET', '/v2/channels')],
    ['logplex: create a session', () => lp.api('POST', '/v2/sessions', { channel_id: ch.id })],
    ['router: create an app', () => r.api('PUT', '/v1/apps/another', {})],
    ['router: heartbeat', () => r.api('PUT', '/v1/apps/outage/dynos/web.1', { host: '127.0.0.1', port: 5001 })],
    ['router: list apps', () => r.api('GET', '/v1/apps')],
  ];
  for (const [what, call] of calls) {
    const res = await call();
    t.equal(res.status, 503, `${what}: 503`);
    t.equal(res.body?.id, 'unavailable', `${what}: {id: unavailable}`);
    t.notMatch(JSON.stringify(res.body), /max retries|ioredis/i, `${what}: in our words`);
  }
  const withHeaders = await r.api('GET', '/v1/apps');
  t.equal(withHeaders.headers['retry-after'], '1', 'Retry-After on the router API');
  const lpMessage = (await lp.api('GET', `/v2/channels/${ch.id}`)).body.message;
  t.match(lpMessage, redis.url, 'Logplex names the store it cannot reach');

  await redis.start();
  await eventually(async () => (await lp.api('GET', `/v2/channels/${ch.id}`)).status === 200, 15_000, 'logplex back');
  await eventually(async () => (await r.api('GET', '/v1/apps')).status === 200, 15_000, 'router back');
});

/** One API call with a 5 s client timeout: an answer must come at all, well before ioredis' own wait. */
async function within5s(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  const res = await request(base + path, {
    method: method as 'GET',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headersTimeout: 5_000,
    bodyTimeout: 5_000,
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

// A hung Redis (SIGSTOP) keeps its sockets open, so the client stays "connected" and would wait
// for ever (design.md §Stores): both APIs still answer 503 with Retry-After, the router keeps
// routing on its table, TCP syslog is held rather than dropped, and everything recovers on SIGCONT.
t.test('a hung Redis: APIs answer 503, the data plane serves, TCP lines wait; all recover', async (t) => {
  const redis = await ownRedisFor(t);
  if (!redis) return;
  const prefix = 'sytest:hung:';
  const lp = await startNode(t, { store: 'redis', redisUrl: redis.url, prefix });
  const r = (await startTestRouter(t, { store: 'redis', redisUrl: redis.url, prefix }))!;
  await eventually(async () => (await lp.api('GET', '/readyz')).status === 200, 10_000, 'logplex ready');
  await eventually(() => r.node.table.state.ready, 10_000, 'router ready');
  const dyno = await startDyno(t);
  const ch = await lp.channel(['app']);
  const token = ch.tokens.app!;
  t.equal((await r.api('PUT', '/v1/apps/hung', {})).status, 201);
  t.equal((await r.api('PUT', '/v1/apps/hung/dynos/web.1', { host: '127.0.0.1', port: dyno.port })).status, 201);
  const drain = await lp.api('POST', `/v2/channels/${ch.id}/drains`, { url: 'syslog://127.0.0.1:9' });
  t.equal(drain.status, 201);
  await eventually(() => r.node.table.table.app('hung')?.routable.length === 1, 10_000, 'dyno routable');
  const get = (): Promise<number> =>
    request(`http://127.0.0.1:${r.node.port}/`, { headers: { host: 'hung.localhost' } }).then(async (res) => {
      await res.body.dump();
      return res.statusCode;
    });
  t.equal(await get(), 200);
  const tcp = connect(lp.syslogPort, '127.0.0.1');
  tcp.on('error', () => undefined);
  t.teardown(() => tcp.destroy());
  await new Promise((res) => tcp.once('connect', res));
  const session = await lp.api('POST', '/v2/sessions', { channel_id: ch.id });
  t.equal(session.status, 201);

  redis.pause();
  const lpBase = `http://127.0.0.1:${lp.httpPort}`;
  const calls: [string, () => ReturnType<typeof within5s>][] = [
    [
      'logplex: create a channel',
      () => within5s(lpBase, API_TOKEN, 'POST', '/v2/channels', { name: 'x', tokens: ['app'] }),
    ],
    ['logplex: read a channel', () => within5s(lpBase, API_TOKEN, 'GET', `/v2/channels/${ch.id}`)],
    [
      'logplex: post a drain',
      () => within5s(lpBase, API_TOKEN, 'POST', `/v2/channels/${ch.id}/drains`, { url: 'syslog://127.0.0.1:10' }),
    ],
    [
      'logplex: drain status',
      () => within5s(lpBase, API_TOKEN, 'GET', `/v2/channels/${ch.id}/drains/${drain.body.id}`),
    ],
    ['logplex: create a session', () => within5s(lpBase, API_TOKEN, 'POST', '/v2/sessions', { channel_id: ch.id })],
    ['logplex: open a session', () => within5s('', API_TOKEN, 'GET', session.body.url)],
    ['router: create an app', () => within5s(r.adminUrl, TEST_TOKEN, 'PUT', '/v1/apps/another', {})],
    [
      'router: register a dyno',
      () => within5s(r.adminUrl, TEST_TOKEN, 'PUT', '/v1/apps/hung/dynos/web.2', { host: '127.0.0.1', port: 5002 }),
    ],
    ['router: app status', () => within5s(r.adminUrl, TEST_TOKEN, 'GET', '/v1/apps/hung')],
  ];
  for (const [what, call] of calls) {
    const res = await call();
    t.equal(res.status, 503, `${what}: 503`);
    t.equal(res.body?.id, 'unavailable', `${what}: {id: unavailable}`);
    t.equal(res.headers['retry-after'], '1', `${what}: Retry-After`);
  }
  t.match((await lp.api('GET', '/readyz')).body, { status: 'not_ready', reason: 'store_unreachable' });
  t.match(r.node.table.state, { degraded: true, reason: 'store_unreachable' });
  for (let i = 0; i < 5; i++) t.equal(await get(), 200, 'the data plane routes on its table');
  for (let i = 1; i <= 20; i++) tcp.write(encodeFrame(logplexMsg(token, 'web.1', `hung ${i}`)));
  await eventually(
    async () => /syslog_held_frames\{service="logplex"\} [1-9]/.test(await lp.registry.metrics()),
    10_000,
    'TCP lines held',
  );

  redis.resume();
  await eventually(async () => (await lp.api('GET', `/v2/channels/${ch.id}`)).status === 200, 15_000, 'logplex back');
  await eventually(async () => (await r.api('GET', '/v1/apps')).status === 200, 15_000, 'router back');
  await eventually(() => r.node.table.state.ready, 15_000, 'router ready again');
  const lines = await eventually(async () => {
    const h = await readHistory(lp, { channel_id: ch.id, num: 100 }).catch(() => []);
    return h.some((l) => l.endsWith('hung 20')) ? h : undefined;
  }, 15_000);
  t.same(
    lines.filter((l) => / hung \d+$/.test(l)).map((l) => Number(/hung (\d+)$/.exec(l)![1])),
    Array.from({ length: 20 }, (_, i) => i + 1),
    'every TCP line sent while Redis hung, in order',
  );
  t.notMatch(await lp.registry.metrics(), /frames_rejected_total\{transport="tcp",reason="store"/, 'none dropped');
  t.equal((await r.api('PUT', '/v1/apps/hung/dynos/web.1', { host: '127.0.0.1', port: dyno.port })).status, 200);
  t.equal(await get(), 200);
});
