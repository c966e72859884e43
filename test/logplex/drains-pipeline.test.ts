// The runner reads and frames the next batch and lets the last ack travel while a batch is in
// flight (design.md §Drain delivery). None of that may change what the receiver sees or what is acked:
// a failed batch comes again (same frame id, same bytes) before the next one, every line is
// delivered in order once accepted, an ack happens only after its batch was accepted, and the
// last ack lands before stop() returns. On Redis, where reads and acks are round trips.
import t from 'tap';
import { BATCH_LINES } from '../../src/logplex/drains/runner';
import { RedisDrainStore } from '../../src/logplex/drains/store/redis';
import { fields, newLines, splitFrames, startRunner } from '../fixtures/drains';
import { redisLogStore } from '../fixtures/logplex';
import { httpSink } from '../fixtures/sinks';

t.test('Redis: failed batches come again before the next, in order, acked only after acceptance', async (t) => {
  const s = await redisLogStore(t, 20_000);
  if (s === undefined) return;
  const sink = await httpSink();
  t.teardown(() => sink.close());
  const { prefix, redis, log } = s;
  const store = new RedisDrainStore(redis, { prefix });
  const ch = await log.createChannel('c', ['app']);
  const drain = await store.create(ch.id, sink.url);
  if (drain === 'conflict') throw new Error('conflict');
  const N = 5 * BATCH_LINES + 123;
  await log.append(ch.id, newLines(N));
  // Batch 1 ok, batch 2 fails twice, batch 3 ok, batch 4 fails once, the rest ok.
  sink.script = [200, 503, 500, 200, 200, 503];
  // While batch 2 is being refused, nothing after it may be acked: the backlog stays above it.
  let backlogWhileRefused = -1;
  const rig = startRunner(store, drain);
  t.teardown(() => rig.runner.stop());
  await sink.until((d) => d.length >= 2);
  backlogWhileRefused = (await store.status(ch.id, drain.id)).backlog;
  await sink.until(
    (d) => d.filter((x) => x.status === 200).reduce((n, x) => n + Number(x.headers['logplex-msg-count']), 0) >= N,
  );
  await rig.runner.stop();

  t.ok(
    backlogWhileRefused >= N - BATCH_LINES,
    `batch 2 and later unacked while batch 2 is refused (backlog ${backlogWhileRefused})`,
  );
  const d = sink.deliveries;
  for (let i = 0; i < d.length - 1; i++) {
    if (d[i]!.status === 200) continue;
    t.equal(
      d[i + 1]!.headers['logplex-frame-id'],
      d[i]!.headers['logplex-frame-id'],
      `delivery ${i + 1} failed: the next one is the same batch`,
    );
    t.ok(d[i + 1]!.body.equals(d[i]!.body), 'byte-identical');
  }
  const accepted = d.filter((x) => x.status === 200).flatMap((x) => splitFrames(x.body).map((f) => fields(f).rest));
  t.same(
    accepted,
    newLines(N).map((l) => l.msg),
    'accepted batches hold every line once, in order',
  );
  const st = await store.status(ch.id, drain.id);
  t.same(
    [st.delivered, st.backlog, st.retried],
    [N, 0, 3 * BATCH_LINES],
    'stop() returned after the last ack and status landed',
  );
  await new Promise((r) => setTimeout(r, 30)); // nothing more is sent after stop
  t.equal(sink.deliveries.length, d.length);
});
