// One LogStore contract, run against memory (store-memory.test.ts) and Redis (store-redis.test.ts).
import type { Test } from 'tap';
import type { NewLine } from '../../src/logplex/lines';
import type { LogStore } from '../../src/logplex/store/index';

export type MakeStore = (t: Test, historyLines: number) => Promise<LogStore | undefined>;

const line = (msg: string, ps = 'web.1'): NewLine => ({
  time: '2026-11-26T10:00:00.000000+00:00',
  pri: 134,
  source: 'app',
  ps,
  msg,
});

export function storeContract(t: Test, make: MakeStore): void {
  t.test('channels get increasing integer ids and their tokens', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const a = await s.createChannel('one', ['app', 'heroku']);
    const b = await s.createChannel('two', []);
    t.ok(Number.isInteger(a.id) && b.id > a.id);
    t.same(
      a.tokens.map((x) => x.name),
      ['app', 'heroku'],
    );
    for (const tok of a.tokens) t.match(tok.token, /^t\.[0-9a-f-]{36}$/);
    const got = await s.getChannel(a.id);
    t.equal(got?.name, 'one');
    t.same(got?.tokens.map((x) => x.token).sort(), a.tokens.map((x) => x.token).sort());
    t.equal(await s.getChannel(999_999), undefined);
    t.same(await s.resolveToken(a.tokens[0]!.token), { channel: a.id, name: 'app' });
    t.equal(await s.resolveToken('t.nope'), undefined);
  });

  t.test('listChannels: id and name, oldest first, bounded; deleted ones leave', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const a = await s.createChannel('one', []);
    const b = await s.createChannel('two', []);
    const c = await s.createChannel('three', []);
    t.same(await s.listChannels(10), [
      { id: a.id, name: 'one' },
      { id: b.id, name: 'two' },
      { id: c.id, name: 'three' },
    ]);
    t.same(await s.listChannels(2), [
      { id: a.id, name: 'one' },
      { id: b.id, name: 'two' },
    ]);
    await s.deleteChannel(b.id);
    t.same(
      (await s.listChannels(10)).map((x) => x.name),
      ['one', 'three'],
    );
  });

  t.test('addToken: new names get new tokens, an existing name keeps its token', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const c = await s.createChannel('c', ['app']);
    const tok = await s.addToken(c.id, 'router');
    t.match(tok, { name: 'router', token: /^t\./ });
    t.same(await s.resolveToken(tok!.token), { channel: c.id, name: 'router' });
    t.same(await s.addToken(c.id, 'app'), c.tokens[0]);
    t.equal(await s.addToken(999_999, 'x'), undefined);
    t.equal((await s.getChannel(c.id))?.tokens.length, 2);
  });

  t.test('append numbers lines per channel; history is oldest first', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const c = await s.createChannel('c', []);
    const d = await s.createChannel('d', []);
    const first = await s.append(c.id, [line('a'), line('b')]);
    t.same(
      first?.map((l) => [l.seq, l.msg]),
      [
        [1, 'a'],
        [2, 'b'],
      ],
    );
    t.same(
      (await s.append(c.id, [line('c')]))?.map((l) => l.seq),
      [3],
    );
    t.same(
      (await s.append(d.id, [line('x')]))?.map((l) => l.seq),
      [1],
    );
    t.same(
      (await s.history(c.id, 10)).map((l) => l.msg),
      ['a', 'b', 'c'],
    );
    t.same(
      (await s.history(c.id, 2)).map((l) => l.msg),
      ['b', 'c'],
    );
    t.same(await s.history(c.id, 0), []);
    const h = await s.history(c.id, 1);
    t.same(h[0], { seq: 3, time: '2026-11-26T10:00:00.000000+00:00', pri: 134, source: 'app', ps: 'web.1', msg: 'c' });
    t.equal(await s.append(999_999, [line('lost')]), undefined);
  });

  t.test('the log is capped; readAfter reports the oldest seq still kept', async (t) => {
    const s = await make(t, 10);
    if (!s) return;
    const c = await s.createChannel('c', []);
    t.same(await s.readAfter(c.id, 0, 10), { lines: [], firstSeq: 0 });
    for (let i = 0; i < 50; i++)
      await s.append(
        c.id,
        Array.from({ length: 10 }, (_, j) => line(`m${i * 10 + j + 1}`)),
      );
    const hist = await s.history(c.id, 1000);
    // Redis trims with MAXLEN ~ (whole macro nodes), so it may keep more than the cap, never fewer.
    t.ok(hist.length >= 10 && hist.length < 500, `kept ${hist.length}`);
    t.equal(hist.at(-1)?.msg, 'm500');
    const r = await s.readAfter(c.id, 0, 5);
    t.equal(r.firstSeq, hist[0]!.seq);
    t.ok(r.firstSeq > 1, 'old lines were trimmed');
    t.same(
      r.lines.map((l) => l.seq),
      [r.firstSeq, r.firstSeq + 1, r.firstSeq + 2, r.firstSeq + 3, r.firstSeq + 4],
    );
    const tail = await s.readAfter(c.id, 497, 10);
    t.same(
      tail.lines.map((l) => l.msg),
      ['m498', 'm499', 'm500'],
    );
    t.same((await s.readAfter(c.id, 500, 10)).lines, []);
  });

  t.test('deleteChannel removes the log and the tokens', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const c = await s.createChannel('c', ['app']);
    await s.append(c.id, [line('a')]);
    t.equal(await s.deleteChannel(c.id), true);
    t.equal(await s.getChannel(c.id), undefined);
    t.equal(await s.resolveToken(c.tokens[0]!.token), undefined);
    t.same(await s.history(c.id, 10), []);
    t.equal(await s.append(c.id, [line('late')]), undefined, 'appends to a deleted channel are refused');
    t.equal(await s.deleteChannel(c.id), false);
  });

  t.test('sessions open once and expire', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const rec = { channel: 1, num: 5, tail: true, ps: 'web', source: 'app' };
    await s.putSession('s1', rec, 60_000);
    t.same(await s.takeSession('s1'), rec);
    t.equal(await s.takeSession('s1'), undefined, 'a session URL opens once');
    await s.putSession('s2', rec, 30);
    await new Promise((r) => setTimeout(r, 80));
    t.equal(await s.takeSession('s2'), undefined, 'expired before it was opened');
    t.equal(await s.takeSession('never'), undefined);
  });

  t.test('ids come from one counter shared by channels and drains', async (t) => {
    const s = await make(t, 100);
    if (!s) return;
    const a = await s.nextId();
    const c = await s.createChannel('c', []);
    t.equal(c.id, a + 1);
    t.equal(await s.nextId(), a + 2);
  });
}
