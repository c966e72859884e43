// Deleting an app through the router's control API (design.md §Control API, §How the parts meet):
// its Logplex channel, tokens, log and drains go, and every node's runner of those drains stops.
// Two Logplex nodes on one Redis prefix; the router's hooks speak to one of them.
import t from 'tap';
import Redis from 'ioredis';
import { channelDeleteHook, channelHook } from '../../src/cli/platform/wiring';
import { eventually } from '../fixtures/drains';
import { API_TOKEN, postFrames, prefixFor, sendLines, startNode } from '../fixtures/logplex';
import { REDIS_URL } from '../fixtures/redis';
import { startTestRouter } from '../fixtures/router';
import { httpSink } from '../fixtures/sinks';

t.test('DELETE /v1/apps/:app removes the channel and its drains on every node', async (t) => {
  const prefix = await prefixFor(t);
  if (prefix === undefined) return;
  const a = await startNode(t, { store: 'redis', prefix });
  const b = await startNode(t, { store: 'redis', prefix });
  const ep = { url: a.base, token: API_TOKEN };
  const router = await startTestRouter(t, { onAppCreated: channelHook(ep), onAppDeleted: channelDeleteHook(ep) });
  if (!router) return;
  const sink = await httpSink();
  t.teardown(() => sink.close());

  const app = await router.api('PUT', '/v1/apps/doomed', {});
  t.equal(app.status, 201);
  const channel = Number(app.body.channel);
  t.ok(channel > 0, 'the app got a channel');
  const ch = await b.api('GET', `/v2/channels/${channel}`);
  const token = ch.body.tokens.find((x: { name: string }) => x.name === 'app').token as string;
  const drain = await b.api('POST', `/v2/channels/${channel}/drains`, { url: sink.url });
  t.equal(drain.status, 201);
  await sendLines(a, token, [['web.1', 'before']]);
  await sink.until((d) => d.length >= 1);
  const key = `${channel}:${drain.body.id}`;
  const owners = () => [a, b].filter((n) => n.drains.scheduler.owned.includes(key));
  t.equal(owners().length, 1, 'one node delivers the drain');

  const del = await router.api('DELETE', '/v1/apps/doomed');
  t.equal(del.status, 204);
  t.equal((await router.api('GET', '/v1/apps/doomed')).status, 404);
  for (const n of [a, b])
    t.equal((await n.api('GET', `/v2/channels/${channel}`)).status, 404, 'no node knows the channel');
  const left = await eventually(owners, (o) => o.length === 0, 15_000);
  t.equal(left.length, 0, 'the runner stopped');
  t.equal((await postFrames(b.base, token, ['<134>1 - -'])).status, 401, "the app's token is gone");

  // Nothing of the channel is left in Redis once every scheduler has made a pass.
  const redis = new Redis(REDIS_URL);
  t.teardown(() => redis.disconnect());
  const keys = await eventually(
    async () => {
      await Promise.all([a.drains.scheduler.tick(), b.drains.scheduler.tick()]);
      const found = await redis.keys(`${prefix}*{${channel}}*`);
      const index = await redis.smembers(`${prefix}drains`);
      return [...found, ...index.filter((m) => m === key)];
    },
    (k) => k.length === 0,
    200,
  );
  t.same(keys, [], 'no channel, log, drain or index key remains');
});

t.test('Logplex unreachable: the DELETE is 503 and the app stays, to be deleted again', async (t) => {
  const closed = await httpSink();
  await closed.close();
  const ep = { url: `http://127.0.0.1:${closed.port}`, token: API_TOKEN };
  const router = await startTestRouter(t, {
    onAppCreated: async () => ({ channel: '77', router_token: 't.router' }),
    onAppDeleted: channelDeleteHook(ep),
  });
  if (!router) return;
  t.equal((await router.api('PUT', '/v1/apps/kept', {})).status, 201);
  const del = await router.api('DELETE', '/v1/apps/kept');
  t.same([del.status, del.body.id], [503, 'unavailable']);
  t.match(del.body.message, /could not delete the Logplex channel of kept/);
  t.equal((await router.api('GET', '/v1/apps/kept')).status, 200, 'the app is kept');
});
