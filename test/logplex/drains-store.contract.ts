// One DrainStore contract, run against memory (drains-store-memory.test.ts) and Redis
// (drains-store-redis.test.ts): records, duplicates, fenced leases with epochs, the read
// position with re-delivery of unacked lines, gaps after trimming, and status that sums.
import type { Test } from 'tap';
import type { DrainCursor, DrainRecord, DrainStatus, DrainStore } from '../../src/logplex/drains/store/index';
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

const HOUR = 3_600_000;
const AT = '2026-11-26T10:00:00.000000+00:00';

/** `node` takes the drain's free lease; its cursor under that epoch. */
async function holder(
  s: { drains: DrainStore },
  d: DrainRecord,
  node: string,
): Promise<DrainCursor & { epoch: number }> {
  const epoch = await s.drains.acquire(d.channel, d.id, node, HOUR);
  if (!epoch) throw new Error(`${node} could not take drain ${d.id}`);
  return Object.assign(s.drains.cursor(d, epoch), { epoch });
}

/** The lease goes to `next`: the holder releases it (a dead one's lapses, as a test below shows). */
async function handOver(
  s: { drains: DrainStore },
  d: DrainRecord,
  from: { epoch: number },
  node: string,
  next: string,
): Promise<DrainCursor & { epoch: number }> {
  await s.drains.release(d.channel, d.id, node, from.epoch);
  return holder(s, d, next);
}

/** delivered + filtered + dropped + lost + backlog: every line appended since the drain was created. */
const sum = (st: DrainStatus): number => st.delivered + st.filtered + st.dropped + st.lost + st.backlog;

async function deliverAll(cur: DrainCursor): Promise<number[]> {
  const seqs: number[] = [];
  for (let got = await cur.read(50), i = 0; got.length && i < 1000; got = await cur.read(50), i++) {
    seqs.push(...got.map((l) => l.seq));
    await cur.ack(
      got.map((l) => l.seq),
      { as: 'delivered', at: AT },
    );
  }
  return seqs;
}

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

  t.test(
    'the read position: new lines only, unacked lines come again after a takeover, acked ones never',
    async (t) => {
      const s = await make(t, 100);
      if (!s) return;
      const c = await s.log.createChannel('c', ['app']);
      await s.log.append(c.id, newLines(3));
      const d = must(await s.drains.create(c.id, 'syslog://127.0.0.1:6514'));
      await s.log.append(c.id, newLines(5, 4));
      const first = await holder(s, d, 'A');
      t.equal(await first.open(), 3, 'a new drain starts after the lines already there');
      const got = await first.read(3);
      t.same(got.map(text), ['line 4', 'line 5', 'line 6']);
      t.same(
        got.map((l) => l.seq),
        [4, 5, 6],
      );
      // The owner dies before acking: the next owner's cursor re-delivers the same lines first.
      const second = await handOver(s, d, first, 'A', 'B');
      t.equal(await second.open(), 3);
      const again = await second.read(2);
      t.same(
        again.map((l) => l.seq),
        [4, 5],
      );
      await second.ack(
        again.map((l) => l.seq),
        { as: 'delivered', at: AT },
      );
      const rest: number[] = [];
      for (let got = await second.read(10); got.length; got = await second.read(10)) {
        rest.push(...got.map((l) => l.seq));
        await second.ack(
          got.map((l) => l.seq),
          { as: 'delivered', at: AT },
        );
      }
      t.same(rest, [6, 7, 8], 'then the rest, once');
      const third = await handOver(s, d, second, 'B', 'C');
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
    const cur = await holder(s, d, 'A');
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

  t.test('an ack records its status with it', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const c = await s.log.createChannel('c', ['app']);
    const d = must(await s.drains.create(c.id, 'https://logs.example/in'));
    const lines = newLines(5, 1, 'wörker.1').map((l) => ({ ...l, msg: `${l.msg} é ☃ 🚀` }));
    await s.log.append(c.id, lines);
    const cur = await holder(s, d, 'A');
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
      { as: 'delivered', at: 'x', lastTime: got[2]!.time },
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
    t.ok((await s.drains.acquire(c.id, d.id, 'A', 60_000)) > 0);
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
    const dead = await holder(s, d, 'A');
    await dead.open();
    t.equal((await dead.read(10)).length, 5, 'the first owner read five lines and died');
    const next = await handOver(s, d, dead, 'A', 'B');
    t.equal(await next.open(), 0);
    const seqs = async (n: number): Promise<number[]> => (await next.read(n)).map((l) => l.seq);
    t.same(await seqs(2), [1, 2]);
    t.same(await seqs(2), [3, 4], 'the read-ahead continues after the unacked batch');
    await s.log.append(c.id, newLines(2, 6));
    const rest: number[] = [];
    for (let got = await seqs(10); got.length; got = await seqs(10)) rest.push(...got);
    t.same(rest, [5, 6, 7], 'the rest of what the dead owner read, then new lines, each once');
    await next.ack([1, 2, 3, 4, 5, 6, 7], { as: 'delivered', at: AT });
    t.same(await seqs(10), []);
  });

  t.test('a lease is held by one node under an epoch, renewed by it, and taken over when it lapses', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const c = await s.log.createChannel('c', ['app']);
    const d = must(await s.drains.create(c.id, 'syslog://127.0.0.1:6514'));
    const a = await s.drains.acquire(c.id, d.id, 'A', HOUR);
    t.ok(a > 0, 'A takes it under an epoch');
    t.equal(await s.drains.acquire(c.id, d.id, 'B', HOUR), 0, 'B cannot take a live lease');
    t.equal(
      await s.drains.acquire(c.id, d.id, 'A', HOUR),
      0,
      'a new take of a held lease is refused, even by its node',
    );
    t.equal(await s.drains.acquire(c.id, d.id, 'A', HOUR, a), a, 'A renews its epoch');
    t.equal(await s.drains.acquire(c.id, d.id, 'B', HOUR, a), 0, "B cannot renew A's epoch");
    t.same([(await s.drains.status(c.id, d.id)).owner, (await s.drains.status(c.id, d.id)).epoch], ['A', a]);
    await s.drains.release(c.id, d.id, 'B', a);
    t.equal(await s.drains.acquire(c.id, d.id, 'B', HOUR), 0, "B cannot release A's lease");
    await s.drains.release(c.id, d.id, 'A', a);
    const b = await s.drains.acquire(c.id, d.id, 'B', 30);
    t.ok(b > a, 'released: B takes it under a newer epoch');
    const again = await eventually(
      () => s.drains.acquire(c.id, d.id, 'A', HOUR),
      (e) => e > 0,
    );
    t.ok(again > b, 'lapsed: A takes it back under a newer epoch still');
    t.equal(await s.drains.acquire(c.id, d.id, 'B', HOUR, b), 0, 'the replaced holder cannot renew');
  });

  t.test('a lapsed lease nobody took since is taken back under the same epoch', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const c = await s.log.createChannel('c', ['app']);
    const d = must(await s.drains.create(c.id, 'syslog://127.0.0.1:6514'));
    const e = await s.drains.acquire(c.id, d.id, 'A', 30);
    await s.log.append(c.id, newLines(2));
    const cur = s.drains.cursor(d, e);
    await cur.open();
    t.equal((await cur.read(10)).length, 2);
    const st = await eventually(
      () => s.drains.status(c.id, d.id),
      (x) => x.owner === null,
    );
    t.equal(st.owner, null, 'the lease lapsed');
    await t.rejects(
      cur.ack([1, 2], { as: 'delivered', at: AT }),
      { code: 'SY_DRAIN_FENCED' },
      'a lapsed lease acks nothing',
    );
    t.equal(await s.drains.acquire(c.id, d.id, 'A', HOUR, e), e, 'A takes it back');
    t.same(await cur.ack([1, 2], { as: 'delivered', at: AT }), { delivered: 2, filtered: 0, dropped: 0, lost: 0 });
  });

  t.test('a stale epoch reads, acks and writes nothing; the new holder gets every line', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const c = await s.log.createChannel('c', ['app']);
    const d = must(await s.drains.create(c.id, 'https://logs.example/in'));
    await s.log.append(c.id, newLines(6));
    const a = await holder(s, d, 'A');
    t.equal(await a.open(), 0);
    t.same(
      (await a.read(3)).map((l) => l.seq),
      [1, 2, 3],
    );
    // A stalls (SIGSTOP) past its lease; B takes the drain; A wakes up and goes on.
    const b = await handOver(s, d, a, 'A', 'B');
    t.ok(b.epoch > a.epoch);
    const fenced = { code: 'SY_DRAIN_FENCED' };
    await t.rejects(a.read(3), fenced, 'the stale holder reads nothing (it would take lines from B)');
    await t.rejects(a.ack([1, 2, 3], { as: 'delivered', at: AT }), fenced, 'nor acks');
    await t.rejects(a.retried(3, { at: AT, message: 'answered 503', code: 'HTTP_503' }), fenced, 'nor writes status');
    let st = await s.drains.status(c.id, d.id);
    t.same([st.delivered, st.retried, st.lost, st.backlog, st.position], [0, 0, 0, 6, 0], 'nothing counted');
    t.equal(await b.open(), 0, 'B starts where A left: nothing was settled');
    await s.log.append(c.id, newLines(2, 7));
    t.same(await deliverAll(b), [1, 2, 3, 4, 5, 6, 7, 8], 'what A read comes again first, then the rest, once');
    st = await s.drains.status(c.id, d.id);
    t.same([st.delivered, st.lost, st.backlog, st.position, st.owner], [8, 0, 0, 8, 'B']);
  });

  t.test('status sums after delivery: every line delivered, backlog 0', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const c = await s.log.createChannel('c', ['app']);
    await s.log.append(c.id, newLines(4));
    const d = must(await s.drains.create(c.id, 'https://logs.example/in'));
    await s.log.append(c.id, newLines(30, 5));
    const cur = await holder(s, d, 'A');
    t.equal(await cur.open(), 4, 'a new drain starts after the lines already there');
    let st = await s.drains.status(c.id, d.id);
    t.same([st.delivered, st.backlog, st.position, sum(st)], [0, 30, 4, 30]);
    const first = await cur.read(10);
    t.same(
      await cur.ack(
        first.slice(0, 4).map((l) => l.seq),
        { as: 'dropped', at: AT, error: { at: AT, message: 'answered 413', code: 'HTTP_413' } },
      ),
      {
        delivered: 0,
        filtered: 0,
        dropped: 4,
        lost: 0,
      },
    );
    await cur.ack(
      first.slice(4).map((l) => l.seq),
      { as: 'delivered', at: AT },
    );
    t.equal((await deliverAll(cur)).length, 20);
    st = await s.drains.status(c.id, d.id);
    t.same([st.delivered, st.dropped, st.lost, st.backlog, st.position, sum(st)], [26, 4, 0, 0, 34, 30]);
    t.same(st.lastError, { at: AT, message: 'answered 413', code: 'HTTP_413' });
  });

  t.test('status after a trim: lost is exactly what fell out, counted once across a takeover', async (t) => {
    const s = await make(t, 10);
    if (!s) return;
    const c = await s.log.createChannel('c', ['app']);
    const d = must(await s.drains.create(c.id, 'https://logs.example/in'));
    const a = await holder(s, d, 'A');
    await a.open();
    await s.log.append(c.id, newLines(5));
    t.same(await deliverAll(a), [1, 2, 3, 4, 5]);
    for (let i = 0; i < 5; i++) await s.log.append(c.id, newLines(100, 6 + i * 100));
    const { firstSeq } = await s.log.readAfter(c.id, 0, 1);
    const gone = firstSeq - 6;
    t.ok(gone > 0, 'lines fell out of the log before delivery');
    let st = await s.drains.status(c.id, d.id);
    t.same(
      [st.delivered, st.lost, st.backlog, sum(st)],
      [5, gone, 505 - firstSeq + 1, 505],
      'lost as soon as they fell out',
    );
    // A reads the first batch after the gap and dies before its ack: nothing is counted twice.
    const read = await a.read(20);
    t.equal(read[0]!.seq, firstSeq);
    const b = await handOver(s, d, a, 'A', 'B');
    t.equal(await b.open(), 5, 'the position is where A last settled');
    const again = await b.read(20);
    t.same(
      again.map((l) => l.seq),
      read.map((l) => l.seq),
      'B claims the batch A read',
    );
    t.same(
      await b.ack(
        again.map((l) => l.seq),
        { as: 'delivered', at: AT },
      ),
      { delivered: again.length, filtered: 0, dropped: 0, lost: gone },
    );
    await deliverAll(b);
    st = await s.drains.status(c.id, d.id);
    t.same([st.delivered, st.lost, st.backlog, st.position, sum(st)], [5 + 505 - firstSeq + 1, gone, 0, 505, 505]);
  });
}
