import t from 'tap';
import { RedisLogStore } from '../../src/logplex/store/redis';
import { addEntryBeforeH, redisLogStore, redisLogStores } from '../fixtures/logplex';
import { eventually } from '../fixtures/eventually';
import type { LogLine, NewLine } from '../../src/logplex/lines';
import { storeContract } from './store.contract';

storeContract(t, async (t, historyLines) => (await redisLogStore(t, historyLines))?.log);

t.test('another node sees appended lines through watchRemote; the appending node does not', async (t) => {
  const s = await redisLogStores(t, 2);
  if (!s) return;
  const [a, b] = s.stores.map((x) => x.log) as [RedisLogStore, RedisLogStore];
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

// store/entry.ts: most lines are stored as `h` + `m`; lines with MSGID or SD (or a space where
// `h` cannot hold one) as explicit fields; entries written before `h` carry `n t p s d m`.
const MIXED: NewLine[] = [
  { time: '2026-11-26T10:00:00.000001+00:00', pri: 134, source: 'app', ps: 'web.1', msg: 'plain "quoted" \\ é' },
  { time: '2026-11-26T10:00:00.000002+00:00', pri: 190, source: 'app', ps: 'otlp svc 1', msg: 'ps with spaces' },
  {
    time: '2026-11-26T10:00:00.000003+00:00',
    pri: 134,
    source: 'app',
    ps: 'web.2',
    msg: 'with extras',
    msgid: 'ID47',
    sd: [{ id: 'ex@1', params: [['k', 'v "q"']] }],
  },
  { time: '2026-11-26T10:00:00.000004+00:00', pri: 134, source: 'odd source', ps: 'web.1', msg: 'explicit' },
  { time: '2026-11-26T10:00:00.000005+00:00', pri: 0, source: 'app', ps: 'web.1', msg: '' },
];

t.test('both entry shapes read back as appended, from history and on another node', async (t) => {
  const s = await redisLogStores(t, 2);
  if (!s) return;
  const { prefix } = s;
  const r1 = s.stores[0]!.redis;
  const [a, b] = s.stores.map((x) => x.log) as [RedisLogStore, RedisLogStore];
  const c = await a.createChannel('c', ['app']);
  const remote: LogLine[] = [];
  b.watchRemote(c.id, (lines) => remote.push(...lines));
  await b.watching(c.id);
  const stored = await a.append(c.id, MIXED);
  const expected = MIXED.map((l, i) => ({ ...l, seq: i + 1 }));
  t.same(stored, expected, 'append returns the numbered lines');
  t.same(await a.history(c.id, 10), expected, 'history');
  await eventually(
    async () => remote.length,
    (n) => n >= MIXED.length,
    5000,
  );
  t.same(remote, expected, 'another node’s watcher');
  const raw = (await r1.xrange(`${prefix}channel:{${c.id}}:log`, '-', '+')) as [string, string[]][];
  t.same(raw[0], ['1-0', ['h', '2026-11-26T10:00:00.000001+00:00 134 app web.1', 'm', 'plain "quoted" \\ é']]);
  t.same(
    raw.map(([, f]) => f.filter((_, i) => i % 2 === 0).join(' ')),
    ['h m', 'h m', 't p s d m i x', 't p s d m i x', 'h m'],
    'field names per entry',
  );
});

t.test('entries written before `h` (fields n t p s d m) still read back', async (t) => {
  const s = await redisLogStores(t);
  if (!s) return;
  const { redis, log: store } = s.stores[0]!;
  const c = await store.createChannel('c', ['app']);
  await addEntryBeforeH(redis, s.prefix, c.id, 'old');
  await store.append(c.id, [{ time: 'T2', pri: 190, source: 'app', ps: 'web.2', msg: 'new' }]);
  t.same(
    (await store.readAfter(c.id, 0, 10)).lines.map((l) => [l.seq, l.time, l.pri, l.source, l.ps, l.msg]),
    [
      [1, 'T1', 134, 'app', 'web.1', 'old'],
      [2, 'T2', 190, 'app', 'web.2', 'new'],
    ],
  );
});
