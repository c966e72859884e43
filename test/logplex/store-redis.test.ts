import t from 'tap';
import { createRedis } from '../../src/shared/redis';
import { RedisLogStore } from '../../src/logplex/store/redis';
import { REDIS_URL } from '../fixtures/redis';
import { prefixFor, redisLogStore } from '../fixtures/logplex';
import { storeContract } from './store.contract';

storeContract(t, async (t, historyLines) => (await redisLogStore(t, historyLines))?.log);

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
  const timer = setInterval(
    () => void a.append(c.id, [{ time: 't', pri: 134, source: 'app', ps: 'web.1', msg: 'hi' }]),
    50,
  );
  const lines = await got;
  clearInterval(timer);
  t.equal(lines[0]!.msg, 'hi');
  t.ok(lines[0]!.seq >= 1);
  t.same(seenA, [], 'own publishes are skipped');
});

t.test('deleteChannel leaves no key of the channel behind (design.md §Redis keys)', async (t) => {
  const s = await redisLogStore(t, 100);
  if (s === undefined) return;
  const { prefix, redis, log: store } = s;
  const keep = await store.createChannel('keep', ['app']);
  const c = await store.createChannel('gone', ['app', 'heroku']);
  await store.append(c.id, [{ time: 't', pri: 134, source: 'app', ps: 'web.1', msg: 'x' }]);
  // A key another module (drains) keeps under the channel's hash tag.
  await redis.set(`${prefix}drain:{${c.id}}:7:owner`, 'node-a');
  const keysOf = async (): Promise<string[]> => {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      out.push(...keys.map((k) => k.slice(prefix.length)));
    } while (cursor !== '0');
    return out.sort();
  };
  t.ok((await keysOf()).includes(`channel:{${c.id}}:log`));
  await store.deleteChannel(c.id);
  const left = await keysOf();
  t.same(
    left.filter((k) => k.includes(`{${c.id}}`)),
    [],
    'no channel:{C}* or drain:{C}* key',
  );
  t.same(
    left.filter((k) => k.startsWith('token:')),
    [`token:${keep.tokens[0]!.token}`],
    'only the other channel’s token',
  );
});
