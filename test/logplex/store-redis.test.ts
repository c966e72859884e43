import t from 'tap';
import { createRedis } from '../../src/shared/redis';
import { RedisLogStore } from '../../src/logplex/store/redis';
import { REDIS_URL } from '../fixtures/redis';
import { prefixFor } from '../fixtures/logplex';
import { storeContract } from './store.contract';

storeContract(t, async (t, historyLines) => {
  const prefix = await prefixFor(t);
  if (prefix === undefined) return undefined;
  const redis = createRedis(REDIS_URL);
  const store = new RedisLogStore(redis, { prefix, historyLines });
  t.teardown(async () => {
    await store.close();
    redis.disconnect();
  });
  return store;
});

t.test('another node sees appended lines through watchRemote; the appending node does not', async (t) => {
  const prefix = await prefixFor(t);
  if (prefix === undefined) return;
  const r1 = createRedis(REDIS_URL);
  const r2 = createRedis(REDIS_URL);
  const a = new RedisLogStore(r1, { prefix, historyLines: 100 });
  const b = new RedisLogStore(r2, { prefix, historyLines: 100 });
  t.teardown(async () => {
    await a.close();
    await b.close();
    r1.disconnect();
    r2.disconnect();
  });
  const c = await a.createChannel('c', []);
  const seenA: string[] = [];
  a.watchRemote(c.id, (lines) => seenA.push(...lines.map((l) => l.msg)));
  const got = new Promise<{ seq: number; msg: string }[]>((resolve) => {
    b.watchRemote(c.id, (lines) => resolve(lines.map((l) => ({ seq: l.seq, msg: l.msg }))));
  });
  // Subscribing is asynchronous: retry the append until the subscription is live.
  const timer = setInterval(() => void a.append(c.id, [{ time: 't', pri: 134, source: 'app', ps: 'web.1', msg: 'hi' }]), 50);
  const lines = await got;
  clearInterval(timer);
  t.equal(lines[0]!.msg, 'hi');
  t.ok(lines[0]!.seq >= 1);
  t.same(seenA, [], 'own publishes are skipped');
});
