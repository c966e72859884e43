import t from 'tap';
import { RedisDrainStore } from '../../src/logplex/drains/store/redis';
import { addEntryBeforeH, redisLogStore, redisLogStores } from '../fixtures/logplex';
import { newLines } from '../fixtures/drains';
import { drainStoreContract } from './drains-store.contract';

drainStoreContract(t, async (t, historyLines) => {
  const s = await redisLogStore(t, historyLines);
  return s && { log: s.log, drains: new RedisDrainStore(s.redis, { prefix: s.prefix }) };
});

// A runner whose drain (or channel) was deleted reopens its cursor once before the scheduler
// stops it: that reopen fails, and brings back neither the drain's keys nor the log, which nothing
// would delete.
t.test('reopening the cursor of a deleted drain fails and recreates nothing', async (t) => {
  const s = await redisLogStore(t, 100);
  if (s === undefined) return;
  const { prefix, redis, log } = s;
  const drains = new RedisDrainStore(redis, { prefix });
  const c = await log.createChannel('c', ['app']);
  const logKey = `${prefix}channel:{${c.id}}:log`;
  const one = await drains.create(c.id, 'syslog://127.0.0.1:6514');
  const two = await drains.create(c.id, 'syslog://127.0.0.1:6515');
  if (one === 'conflict' || two === 'conflict') throw new Error('unexpected conflict');
  const a = drains.cursor(one, await drains.acquire(c.id, one.id, 'A', 60_000));
  const b = drains.cursor(two, await drains.acquire(c.id, two.id, 'A', 60_000));
  await a.open();
  await b.open();

  t.ok(await drains.remove(c.id, one.id));
  await t.rejects(a.open(), 'the reopen fails: the scheduler stops the runner');
  t.equal(
    await redis.exists(`${prefix}drain:{${c.id}}:${one.id}:status`),
    0,
    'the removed drain has no position again',
  );

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

// A drain created before positions were kept (no `seq` in its status hash) read as the one shared
// consumer `owner` of a consumer group: its first holder starts at the oldest line that consumer
// left pending, and from its first ack on the position is kept in the status hash.
t.test('a drain from before positions were kept starts at its oldest pending line', async (t) => {
  const s = await redisLogStore(t, 100);
  if (s === undefined) return;
  const { prefix, redis, log } = s;
  const drains = new RedisDrainStore(redis, { prefix });
  const c = await log.createChannel('c', ['app']);
  const d = await drains.create(c.id, 'https://logs.example/in');
  if (d === 'conflict') throw new Error('unexpected conflict');
  const logKey = `${prefix}channel:{${c.id}}:log`;
  await redis.xgroup('CREATE', logKey, `drain:${d.id}`, '0-0', 'MKSTREAM');
  await log.append(c.id, newLines(5));
  await redis.hdel(`${prefix}drain:{${c.id}}:${d.id}:status`, 'seq');
  await redis.xreadgroup('GROUP', `drain:${d.id}`, 'owner', 'COUNT', 2, 'STREAMS', logKey, '>');
  await redis.xreadgroup('GROUP', `drain:${d.id}`, 'owner', 'COUNT', 2, 'STREAMS', logKey, '>');
  await redis.xack(logKey, `drain:${d.id}`, '1-0', '2-0');
  const e = await drains.acquire(c.id, d.id, 'A', 60_000);
  const cur = drains.cursor(d, e);
  t.equal(await cur.open(), 2, 'the oldest pending line of the old consumer, less one');
  const got = await cur.read(10);
  t.same(
    got.map((l) => l.seq),
    [3, 4, 5],
    'what the old consumer left pending comes first, then the rest',
  );
  await cur.ack(
    got.map((l) => l.seq),
    { as: 'delivered', at: 'x' },
  );
  const st = await drains.status(c.id, d.id);
  t.same([st.position, st.delivered, st.lost, st.backlog], [5, 3, 0, 0]);
  t.same(await cur.read(10), [], 'nothing more');
  await drains.remove(c.id, d.id);
  t.same(await redis.xinfo('GROUPS', logKey), [], 'removing the drain removes its old group');
});

// store/entry.ts: a drain reads entries of either shape (`h` + `m`, or explicit fields), and
// entries written before `h` (with `n`), as the lines that were appended.
t.test('a drain reads both entry shapes and entries written before `h`', async (t) => {
  const s = await redisLogStores(t);
  if (!s) return;
  const { redis, log } = s.stores[0]!;
  const drains = new RedisDrainStore(redis, { prefix: s.prefix });
  const c = await log.createChannel('c', ['app']);
  const d = await drains.create(c.id, 'syslog://127.0.0.1:6514');
  if (d === 'conflict') throw new Error('unexpected conflict');
  const cursor = drains.cursor(d, await drains.acquire(c.id, d.id, 'A', 60_000));
  await cursor.open();
  await addEntryBeforeH(redis, s.prefix, c.id, 'old');
  await log.append(c.id, [
    { time: 'T2', pri: 190, source: 'app', ps: 'otlp svc', msg: 'h shape' },
    {
      time: 'T3',
      pri: 134,
      source: 'app',
      ps: 'web.2',
      msg: 'explicit',
      msgid: 'ID1',
      sd: [{ id: 'a@1', params: [] }],
    },
  ]);
  const got = await cursor.read(10);
  t.same(
    got.map((l) => [l.seq, l.time, l.pri, l.source, l.ps, l.msg.toString(), l.msgid, l.sd]),
    [
      [1, 'T1', 134, 'app', 'web.1', 'old', undefined, undefined],
      [2, 'T2', 190, 'app', 'otlp svc', 'h shape', undefined, undefined],
      [3, 'T3', 134, 'app', 'web.2', 'explicit', 'ID1', [{ id: 'a@1', params: [] }]],
    ],
  );
});
