// One DrainStore contract, run against memory (drains-store-memory.test.ts) and Redis
// (drains-store-redis.test.ts): records, duplicates, leases, the read position with
// re-delivery of unacked lines, gaps after trimming, and status counters.
import type { Test } from 'tap';
import type { DrainRecord, DrainStore } from '../../src/logplex/drains/store/index';
import type { NewLine } from '../../src/logplex/lines';
import type { LogStore } from '../../src/logplex/store/index';
import { eventually, newLines } from '../fixtures/drains';

/** MSG as text: the Redis store hands a drain the reply's bytes, the memory store its strings. */
const text = (l: { msg: string | Buffer }): string => String(l.msg);

export type MakeStores = (t: Test, historyLines: number) => Promise<{ log: LogStore; drains: DrainStore } | undefined>;

const must = (d: DrainRecord | 'conflict'): DrainRecord => {
  if (d === 'conflict') throw new Error('unexpected conflict');
  return d;
};

export function drainStoreContract(t: Test, make: MakeStores): void {
  t.test('drains get integer ids from the shared counter and d. tokens; duplicates conflict per channel', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const c1 = await s.log.createChannel('one', ['app']);
    const c2 = await s.log.createChannel('two', ['app']);
    const a = must(await s.drains.create(c1.id, 'syslog://127.0.0.1:6514'));
    const b = must(await s.drains.create(c1.id, 'https://logs.example/in'));
    t.ok(Number.isInteger(a.id) && a.id > c2.id && b.id > a.id, 'ids come from channels:next-id');
    t.match(a.token, /^d\.[0-9a-f-]{36}$/);
    t.equal(await s.drains.create(c1.id, 'syslog://127.0.0.1:6514'), 'conflict');
    const e = must(await s.drains.create(c2.id, 'syslog://127.0.0.1:6514'));
    t.same(
      (await s.drains.list(c1.id)).map((d) => d.url),
      ['syslog://127.0.0.1:6514', 'https://logs.example/in'],
    );
    t.same(await s.drains.get(c1.id, a.id), a);
    t.ok(await s.drains.remove(c1.id, a.id));
    t.notOk(await s.drains.remove(c1.id, a.id));
    t.equal(await s.drains.get(c1.id, a.id), undefined);
    const seen: number[] = [];
    let cursor = '0';
    do {
      const r = await s.drains.scan(cursor, 1);
      seen.push(...r.drains.map((d) => d.id));
      cursor = r.next;
    } while (cursor !== '0');
    t.same(
      seen.sort((x, y) => x - y),
      [b.id, e.id],
      'scan walks every drain of every channel',
    );
  });

  t.test('a lease is held by one node, renewed by it, and taken over when it lapses', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const c = await s.log.createChannel('c', ['app']);
    const d = must(await s.drains.create(c.id, 'syslog://127.0.0.1:6514'));
    t.ok(await s.drains.acquire(c.id, d.id, 'A', 60_000));
    t.notOk(await s.drains.acquire(c.id, d.id, 'B', 60_000), 'B cannot take a live lease');
    t.ok(await s.drains.acquire(c.id, d.id, 'A', 60_000), 'A renews');
    t.equal((await s.drains.status(c.id, d.id)).owner, 'A');
    await s.drains.release(c.id, d.id, 'B');
    t.notOk(await s.drains.acquire(c.id, d.id, 'B', 60_000), "B cannot release A's lease");
    await s.drains.release(c.id, d.id, 'A');
    t.ok(await s.drains.acquire(c.id, d.id, 'B', 30), 'released: B takes it');
    t.ok(
      await eventually(
        () => s.drains.acquire(c.id, d.id, 'A', 60_000),
        (ok) => ok,
      ),
      'lapsed: A takes it back',
    );
  });

  t.test(
    'the read position: new lines only, unacked lines come again after a takeover, acked ones never',
    async (t) => {
      const s = await make(t, 100);
      if (!s) return;
      const c = await s.log.createChannel('c', ['app']);
      await s.log.append(c.id, newLines(3));
      const d = must(await s.drains.create(c.id, 'syslog://127.0.0.1:6514'));
      await s.log.append(c.id, newLines(5, 4));
      const first = s.drains.cursor(d);
      t.equal(await first.open(), 3, 'a new drain starts after the lines already there');
      const got = await first.read(3);
      t.same(got.map(text), ['line 4', 'line 5', 'line 6']);
      t.same(
        got.map((l) => l.seq),
        [4, 5, 6],
      );
      // The owner dies before acking: the next owner's cursor re-delivers the same lines first.
      const second = s.drains.cursor(d);
      t.equal(await second.open(), 3);
      const again = await second.read(2);
      t.same(
        again.map((l) => l.seq),
        [4, 5],
      );
      await second.ack(again.map((l) => l.seq));
      const rest: number[] = [];
      for (let got = await second.read(10); got.length; got = await second.read(10)) {
        rest.push(...got.map((l) => l.seq));
        await second.ack(got.map((l) => l.seq));
      }
      t.same(rest, [6, 7, 8], 'then the rest, once');
      const third = s.drains.cursor(d);
      t.equal(await third.open(), 8, 'everything acked');
      t.same(await third.read(10), []);
      await s.log.append(c.id, newLines(1, 9));
      t.same((await third.read(10)).map(text), ['line 9']);
    },
  );

  t.test('lines trimmed from the channel log before delivery show as a seq gap', async (t) => {
    const s = await make(t, 10);
    if (!s) return;
    const c = await s.log.createChannel('c', ['app']);
    const d = must(await s.drains.create(c.id, 'syslog://127.0.0.1:6514'));
    for (let i = 0; i < 5; i++) await s.log.append(c.id, newLines(100, 1 + i * 100));
    const cur = s.drains.cursor(d);
    const before = await cur.open();
    const lines = await cur.read(1000);
    const { firstSeq } = await s.log.readAfter(c.id, 0, 1);
    t.equal(before, 0);
    t.ok(firstSeq > 1, 'the log was trimmed');
    t.equal(lines[0]!.seq, firstSeq, 'reading resumes at the oldest line kept');
    t.equal(lines[lines.length - 1]!.seq, 500);
    t.same(
      lines.map((l, i) => l.seq - i),
      lines.map(() => firstSeq),
      'no gap after the first kept line',
    );
  });

  t.test('status counters add up and the backlog counts undelivered lines', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const c = await s.log.createChannel('c', ['app']);
    const d = must(await s.drains.create(c.id, 'https://logs.example/in'));
    await s.log.append(c.id, newLines(7));
    let st = await s.drains.status(c.id, d.id);
    t.same([st.delivered, st.backlog, st.lastError, st.owner], [0, 7, null, null]);
    const cur = s.drains.cursor(d);
    await cur.open();
    const got = await cur.read(4);
    await cur.ack(got.map((l) => l.seq));
    const err = { at: '2026-11-26T10:00:00.000000+00:00', message: 'answered 503', code: 'HTTP_503' };
    await s.drains.record(c.id, d.id, { delivered: 4, retried: 2, lastSuccessAt: 'x', lastTime: 'y' });
    await s.drains.record(c.id, d.id, { dropped: 1, lost: 3, lastError: err });
    st = await s.drains.status(c.id, d.id);
    t.same(
      { ...st, owner: undefined },
      {
        delivered: 4,
        retried: 2,
        dropped: 1,
        lost: 3,
        lastSuccessAt: 'x',
        lastTime: 'y',
        lastError: err,
        backlog: 3,
        owner: undefined,
      },
    );
  });

  t.test('an ack records its status delta with it', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const c = await s.log.createChannel('c', ['app']);
    const d = must(await s.drains.create(c.id, 'https://logs.example/in'));
    const lines = newLines(5, 1, 'wörker.1').map((l) => ({ ...l, msg: `${l.msg} é ☃ 🚀` }));
    await s.log.append(c.id, lines);
    const cur = s.drains.cursor(d);
    await cur.open();
    const got = await cur.read(3);
    const fields = (l: NewLine, seq: number): unknown[] => [seq, l.time, l.pri, l.source, l.ps, text(l)];
    t.same(
      got.map((l) => fields({ ...l, msg: text(l) }, l.seq)),
      lines.slice(0, 3).map((l, i) => fields(l, i + 1)),
      'every field as appended',
    );
    await cur.ack(
      got.map((l) => l.seq),
      { delivered: 3, lastSuccessAt: 'x', lastTime: got[2]!.time },
    );
    const st = await s.drains.status(c.id, d.id);
    t.same([st.delivered, st.lastSuccessAt, st.lastTime, st.backlog], [3, 'x', got[2]!.time, 2]);
  });

  t.test('deleting a channel takes its drains along', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const c = await s.log.createChannel('gone', ['app']);
    const keep = await s.log.createChannel('kept', ['app']);
    const d = must(await s.drains.create(c.id, 'syslog://127.0.0.1:6514'));
    const k = must(await s.drains.create(keep.id, 'syslog://127.0.0.1:6514'));
    t.ok(await s.drains.acquire(c.id, d.id, 'A', 60_000));
    t.ok(await s.log.deleteChannel(c.id));
    t.equal(await s.drains.get(c.id, d.id), undefined, 'a scheduler renewing it sees it gone');
    const { drains } = await s.drains.scan('0', 100);
    t.same(
      drains.map((x) => x.id),
      [k.id],
    );
    t.same(
      (await s.drains.scan('0', 100)).drains.map((x) => x.id),
      [k.id],
      'and the index forgot it',
    );
  });

  t.test('reading ahead while re-delivering never repeats the batch in flight', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const c = await s.log.createChannel('c', ['app']);
    const d = must(await s.drains.create(c.id, 'syslog://127.0.0.1:6514'));
    await s.log.append(c.id, newLines(5));
    const dead = s.drains.cursor(d);
    await dead.open();
    t.equal((await dead.read(10)).length, 5, 'the first owner read five lines and died');
    const next = s.drains.cursor(d);
    t.equal(await next.open(), 0);
    const seqs = async (n: number): Promise<number[]> => (await next.read(n)).map((l) => l.seq);
    t.same(await seqs(2), [1, 2]);
    t.same(await seqs(2), [3, 4], 'the read-ahead continues after the unacked batch');
    await s.log.append(c.id, newLines(2, 6));
    const rest: number[] = [];
    for (let got = await seqs(10); got.length; got = await seqs(10)) rest.push(...got);
    t.same(rest, [5, 6, 7], 'the rest of what the dead owner read, then new lines, each once');
    await next.ack([1, 2, 3, 4, 5, 6, 7]);
    t.same(await seqs(10), []);
  });
}
