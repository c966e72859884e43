// L10 (design.md §Drain delivery): lines that leave the channel log before a drain delivered them become one
// in-band `Error L10 (output buffer overflow): N messages dropped since TIME.` line with the
// exact N from the seq gap, counted in the status; on memory and on Redis.
import t, { type Test } from 'tap';
import { MemoryDrainStore } from '../../src/logplex/drains/store/memory';
import { RedisDrainStore } from '../../src/logplex/drains/store/redis';
import type { DrainStore } from '../../src/logplex/drains/store/index';
import type { LogStore } from '../../src/logplex/store/index';
import { MemoryLogStore } from '../../src/logplex/store/memory';
import { eventually, fields, newLines, splitFrames, startRunner } from '../fixtures/drains';
import { redisLogStore } from '../fixtures/logplex';
import { httpSink } from '../fixtures/sinks';

async function overflow(t: Test, log: LogStore, store: DrainStore): Promise<void> {
  const sink = await httpSink();
  t.teardown(() => sink.close());
  const ch = await log.createChannel('c', ['app']);
  const drain = await store.create(ch.id, sink.url);
  if (drain === 'conflict') throw new Error('conflict');
  // Two lines delivered first, so the L10 names the time of the last line the drain got.
  await log.append(ch.id, newLines(2));
  const rig = startRunner(store, drain);
  t.teardown(() => rig.runner.stop());
  await eventually(
    () => store.status(ch.id, drain.id),
    (s) => s.delivered === 2,
  );
  await rig.runner.stop();
  for (let i = 0; i < 6; i++) await log.append(ch.id, newLines(100, 3 + i * 100));
  const { firstSeq } = await log.readAfter(ch.id, 0, 1);
  const expected = firstSeq - 3; // seqs 3 … firstSeq-1 were trimmed before delivery
  t.ok(expected > 0, `the log dropped ${expected} undelivered lines`);
  const again = startRunner(store, drain);
  t.teardown(() => again.runner.stop());
  await eventually(
    () => store.status(ch.id, drain.id),
    (s) => s.delivered >= 602 - expected,
  );
  const frames = sink.deliveries.slice(1).flatMap((d) => splitFrames(d.body));
  const l10 = fields(frames[0]!);
  t.same([l10.app, l10.proc, l10.pri], ['heroku', 'logplex', 172]);
  t.equal(
    l10.rest,
    `Error L10 (output buffer overflow): ${expected} messages dropped since 2026-11-26T10:00:00.000002+00:00.`,
  );
  t.equal(fields(frames[1]!).rest, `line ${firstSeq}`, 'then the oldest line kept');
  t.equal(fields(frames[frames.length - 1]!).rest, 'line 602');
  t.equal(frames.length, 1 + 602 - firstSeq + 1, 'every kept line once, plus the L10 line');
  const st = await store.status(ch.id, drain.id);
  // The L10 line is not a log line: `delivered` counts the lines of the log the receiver got.
  t.same(
    [st.delivered, st.lost, st.backlog, st.delivered + st.lost + st.backlog],
    [602 - expected, expected, 0, 602],
    'the status sums to every line appended',
  );
}

t.test('memory store: L10 with the exact count', async (t) => {
  const log = new MemoryLogStore(50);
  await overflow(t, log, new MemoryDrainStore(log));
});

t.test('Redis store (MAXLEN ~): L10 with the exact count', async (t) => {
  const s = await redisLogStore(t, 50);
  if (s === undefined) return;
  await overflow(t, s.log, new RedisDrainStore(s.redis, { prefix: s.prefix }));
});
