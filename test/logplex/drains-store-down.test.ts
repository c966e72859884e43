// Redis goes away under a running drain (design.md §Drain delivery: nothing is lost): the runner backs off
// instead of crashing or spinning, and when Redis returns it resumes from the stored read
// position, so every line arrives at least once.
import t from 'tap';
import { RedisDrainStore } from '../../src/logplex/drains/store/redis';
import { RedisLogStore } from '../../src/logplex/store/redis';
import { createRedis, waitReady } from '../../src/shared/redis';
import { eventually, fields, newLines, splitFrames, startRunner } from '../fixtures/drains';
import { prefixFor } from '../fixtures/logplex';
import { REDIS_URL } from '../fixtures/redis';
import { httpSink } from '../fixtures/sinks';

t.test('the drain store disconnects and reconnects: delivery resumes, nothing lost', async (t) => {
  const prefix = await prefixFor(t);
  if (prefix === undefined) return;
  const sink = await httpSink();
  t.teardown(() => sink.close());
  const ingest = createRedis(REDIS_URL);
  const drainSide = createRedis(REDIS_URL);
  const log = new RedisLogStore(ingest, { prefix, historyLines: 10_000 });
  const store = new RedisDrainStore(drainSide, { prefix });
  t.teardown(async () => {
    await log.close();
    ingest.disconnect();
    drainSide.disconnect();
  });
  const ch = await log.createChannel('c', ['app']);
  const drain = await store.create(ch.id, sink.url);
  if (drain === 'conflict') throw new Error('conflict');
  const rig = startRunner(store, drain);
  t.teardown(() => rig.runner.stop());
  await log.append(ch.id, newLines(100));
  await sink.until((d) => d.length >= 1);
  drainSide.disconnect();
  await log.append(ch.id, newLines(100, 101));
  await eventually(
    () => rig.delays.length,
    (n) => n >= 2,
  );
  t.ok(rig.delays.length >= 2, 'store errors back off');
  await drainSide.connect();
  await waitReady(drainSide);
  await log.append(ch.id, newLines(100, 201));
  const got = (): Set<string> =>
    new Set(sink.deliveries.flatMap((d) => splitFrames(d.body).map((f) => fields(f).rest)));
  await sink.until(() => got().size >= 300);
  t.same(
    newLines(300)
      .map((l) => l.msg)
      .filter((m) => !got().has(m)),
    [],
    'every line arrived at least once',
  );
});
