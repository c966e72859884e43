// HTTPS/HTTP drains against a real receiver (design.md §Drains): retries reuse the frame id and the
// byte-identical body, nothing is lost and order is kept; a 4xx drops and counts the batch;
// a receiver that never answers trips the response timeout and memory stays bounded.
import t from 'tap';
import { MemoryDrainStore } from '../../src/logplex/drains/store/memory';
import { BATCH_LINES } from '../../src/logplex/drains/runner';
import { MemoryLogStore } from '../../src/logplex/store/memory';
import { eventually, fields, newLines, splitFrames, startRunner } from '../fixtures/drains';
import { httpSink } from '../fixtures/sinks';
import { createPki } from '../fixtures/tls';

async function setup() {
  const log = new MemoryLogStore(5_000);
  const store = new MemoryDrainStore(log);
  const ch = await log.createChannel('hello', ['app']);
  return { log, store, ch };
}

t.test('503 twice, then 200: same frame id, same bytes, every line once in order', async (t) => {
  const sink = await httpSink();
  t.teardown(() => sink.close());
  sink.script = [503, 503];
  const { log, store, ch } = await setup();
  const drain = await store.create(ch.id, sink.url);
  if (drain === 'conflict') throw new Error('conflict');
  await log.append(ch.id, newLines(1200));
  const rig = startRunner(store, drain);
  t.teardown(() => rig.runner.stop());
  await sink.until((d) => d.filter((x) => x.status === 200).length >= 3);
  const [a, b, c] = sink.deliveries;
  t.equal(a!.headers['logplex-frame-id'], b!.headers['logplex-frame-id'], 'retry keeps the frame id');
  t.equal(a!.headers['logplex-frame-id'], c!.headers['logplex-frame-id']);
  t.ok(a!.body.equals(b!.body) && a!.body.equals(c!.body), 'retry body is byte-identical');
  t.not(sink.deliveries[3]!.headers['logplex-frame-id'], a!.headers['logplex-frame-id'], 'a new batch gets a new id');
  t.equal(a!.headers['content-type'], 'application/logplex-1');
  t.equal(a!.headers['user-agent'], 'switchyard-logplex');
  t.equal(a!.headers['logplex-drain-token'], drain.token);
  t.equal(a!.headers['logplex-msg-count'], String(BATCH_LINES));
  const ok = sink.deliveries.filter((d) => d.status === 200);
  const msgs = ok.flatMap((d) => splitFrames(d.body).map((f) => fields(f).rest));
  t.same(
    msgs,
    newLines(1200).map((l) => l.msg),
    'all lines, in order, once',
  );
  const f = fields(splitFrames(a!.body)[0]!);
  t.same(
    [f.pri, f.host, f.app, f.proc],
    [134, 'host', 'app', 'web.1'],
    'logplex shape <PRI>1 TIME host SOURCE DYNO - MSG',
  );
  const st = await eventually(
    () => store.status(ch.id, drain.id),
    (s) => s.delivered === 1200,
  );
  t.equal(st.delivered, 1200);
  t.equal(st.retried, 2 * BATCH_LINES);
  t.equal(st.backlog, 0);
  t.equal(st.lastError?.code, 'HTTP_503');
  t.same(rig.delays, [9, 19], 'backoff delays come from the injected policy, reset after success');
});

t.test('a 4xx (not 429) drops the batch, counts it, and delivery goes on', async (t) => {
  const sink = await httpSink();
  t.teardown(() => sink.close());
  sink.script = [429, 400];
  const { log, store, ch } = await setup();
  const drain = await store.create(ch.id, sink.url);
  if (drain === 'conflict') throw new Error('conflict');
  await log.append(ch.id, newLines(10));
  const rig = startRunner(store, drain);
  t.teardown(() => rig.runner.stop());
  await sink.until((d) => d.length >= 2);
  await log.append(ch.id, newLines(5, 11));
  await sink.until((d) => d.some((x) => x.status === 200));
  t.equal(
    sink.deliveries[0]!.headers['logplex-frame-id'],
    sink.deliveries[1]!.headers['logplex-frame-id'],
    '429 is retried',
  );
  const st = await eventually(
    () => store.status(ch.id, drain.id),
    (s) => s.delivered === 5,
  );
  t.equal(st.dropped, 10);
  t.equal(st.delivered, 5);
  t.equal(st.lastError?.code, 'HTTP_400');
  t.match(
    rig.reported.map((l) => l.msg),
    [/^Error L13 \(local delivery error\): drain \d+: 127\.0\.0\.1:\d+ answered 400$/],
  );
  t.same(
    splitFrames(sink.deliveries[2]!.body).map((f) => fields(f).rest),
    newLines(5, 11).map((l) => l.msg),
  );
});

t.test('a receiver that never answers: the response timeout fires, memory stays bounded', async (t) => {
  const sink = await httpSink();
  t.teardown(() => sink.close());
  sink.fallback = 'hang';
  const { log, store, ch } = await setup();
  const drain = await store.create(ch.id, sink.url);
  if (drain === 'conflict') throw new Error('conflict');
  await log.append(ch.id, newLines(3000));
  const rig = startRunner(store, drain, { responseTimeoutMs: 100 });
  t.teardown(() => rig.runner.stop());
  for (let i = 0; i < 4; i++) {
    await sink.until((d) => d.length >= i + 1);
    t.ok(rig.runner.buffered <= 2 * BATCH_LINES, `at most two batches in memory (${rig.runner.buffered})`);
    await log.append(ch.id, newLines(500, 3001 + i * 500));
  }
  const st = await eventually(
    () => store.status(ch.id, drain.id),
    (s) => s.lastError !== null,
  );
  t.equal(new Set(sink.deliveries.map((d) => d.headers['logplex-frame-id'])).size, 1, 'the same batch is retried');
  t.equal(st.lastError?.code, 'UND_ERR_HEADERS_TIMEOUT');
  t.equal(st.delivered, 0);
  t.ok(st.backlog >= 3000, 'the backlog shows the waiting lines');
});

t.test('HTTPS certificates are verified against the given CA; a name mismatch is L14', async (t) => {
  const pki = createPki();
  t.teardown(() => pki.cleanup());
  const good = await httpSink({ tls: pki.server(['IP:127.0.0.1']) });
  const bad = await httpSink({ tls: pki.server(['DNS:elsewhere.example']) });
  t.teardown(() => good.close());
  t.teardown(() => bad.close());
  const { log, store, ch } = await setup();
  const d1 = await store.create(ch.id, good.url);
  const d2 = await store.create(ch.id, bad.url);
  if (d1 === 'conflict' || d2 === 'conflict') throw new Error('conflict');
  await log.append(ch.id, newLines(3));
  const r1 = startRunner(store, d1, { ca: pki.ca });
  const r2 = startRunner(store, d2, { ca: pki.ca });
  t.teardown(() => Promise.all([r1.runner.stop(), r2.runner.stop()]));
  await good.until((d) => d.length >= 1);
  t.equal(splitFrames(good.deliveries[0]!.body).length, 3);
  await eventually(
    () => r2.reported.length,
    (n) => n > 0,
  );
  t.match(r2.reported[0]!.msg, /^Error L14 \(certificate validation error\): drain \d+: ERR_TLS_CERT_ALTNAME_INVALID/);
  t.same([r2.reported[0]!.source, r2.reported[0]!.ps], ['heroku', 'logplex']);
  const st = await store.status(ch.id, d2.id);
  t.equal(st.lastError?.code, 'L14');
  t.equal(bad.deliveries.length, 0, 'nothing was sent to the unverified receiver');
});
