import t from 'tap';
import { RedisDrainStore } from '../../src/logplex/drains/store/redis';
import { RedisLogStore } from '../../src/logplex/store/redis';
import { createRedis } from '../../src/shared/redis';
import { prefixFor } from '../fixtures/logplex';
import { REDIS_URL } from '../fixtures/redis';
import { drainStoreContract } from './drains-store.contract';

drainStoreContract(t, async (t, historyLines) => {
  const prefix = await prefixFor(t);
  if (prefix === undefined) return undefined;
  const redis = createRedis(REDIS_URL);
  const log = new RedisLogStore(redis, { prefix, historyLines });
  t.teardown(async () => {
    await log.close();
    redis.disconnect();
  });
  return { log, drains: new RedisDrainStore(redis, { prefix }) };
});

// A runner whose drain (or channel) was deleted reopens its cursor once before the scheduler
// stops it: that reopen must not bring back the group or the log, which nothing would delete.
t.test('reopening the cursor of a deleted drain recreates neither its group nor the channel log', async (t) => {
  const prefix = await prefixFor(t);
  if (prefix === undefined) return;
  const redis = createRedis(REDIS_URL);
  const log = new RedisLogStore(redis, { prefix, historyLines: 100 });
  t.teardown(async () => {
    await log.close();
    redis.disconnect();
  });
  const drains = new RedisDrainStore(redis, { prefix });
  const c = await log.createChannel('c', ['app']);
  const logKey = `${prefix}channel:{${c.id}}:log`;
  const groups = async (): Promise<string[]> =>
    ((await redis.xinfo('GROUPS', logKey).catch(() => [])) as unknown[][]).map((g) => String(g[1]));
  const one = await drains.create(c.id, 'syslog://127.0.0.1:6514');
  const two = await drains.create(c.id, 'syslog://127.0.0.1:6515');
  if (one === 'conflict' || two === 'conflict') throw new Error('unexpected conflict');
  const a = drains.cursor(one, await drains.acquire(c.id, one.id, 'A', 60_000));
  const b = drains.cursor(two, await drains.acquire(c.id, two.id, 'A', 60_000));
  await a.open();
  await b.open();

  t.ok(await drains.remove(c.id, one.id));
  await t.rejects(a.open(), 'the reopen fails: the scheduler stops the runner');
  t.same(await groups(), [`drain:${two.id}`], 'the removed drain has no group again');

  t.ok(await log.deleteChannel(c.id));
  await t.rejects(b.open());
  t.equal(await redis.exists(logKey), 0, 'the deleted channel has no log again');

  const d = await log.createChannel('d', ['app']);
  const live = await drains.create(d.id, 'syslog://127.0.0.1:6514');
  if (live === 'conflict') throw new Error('unexpected conflict');
  await redis.del(`${prefix}channel:{${d.id}}:log`);
  const e = await drains.acquire(d.id, live.id, 'A', 60_000);
  t.equal(await drains.cursor(live, e).open(), 0, 'a live drain whose log vanished starts again at its end');
});
