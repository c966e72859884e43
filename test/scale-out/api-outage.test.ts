// While Redis is away, both services' APIs answer 503 with Retry-After naming what is away, never
// 500 and never ioredis' words; when Redis returns they answer again (design.md §Control API,
// §Logplex API). A private redis-server is stopped and started again under them.
import t from 'tap';
import { startNode } from '../fixtures/logplex';
import { ownRedisFor } from '../fixtures/redis-server';
import { eventually, startTestRouter } from '../fixtures/router';

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
