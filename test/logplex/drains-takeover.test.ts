// At-least-once across a crash (design.md §Drain delivery): the node delivering a drain is killed with
// SIGKILL while a batch is in flight; a second node takes the lease when it lapses,
// re-delivers what the first read but never acked, and every line arrives at least once.
import { once } from 'node:events';
import t from 'tap';
import { drainApi as api, startDrainChild as startChild } from '../fixtures/drain-children';
import { eventually, fields, splitFrames } from '../fixtures/drains';
import { prefixFor, sendLines } from '../fixtures/logplex';
import { httpSink } from '../fixtures/sinks';

t.test('kill -9 of the owner mid-delivery: the next node delivers every line at least once', async (t) => {
  const prefix = await prefixFor(t);
  if (prefix === undefined) return;
  const sink = await httpSink();
  t.teardown(() => sink.close());
  sink.script = [200, 'hang']; // the second batch is in flight when the owner dies
  const a = await startChild(t, prefix);
  const ch = await api(a.port, 'POST', '/v2/channels', { name: 'crash', tokens: ['app'] });
  const token: string = ch.tokens[0].token;
  const drain = await api(a.port, 'POST', `/v2/channels/${ch.channel_id}/drains`, { url: sink.url });
  const N = 1500;
  for (let i = 0; i < N; i += 250) {
    const batch = Array.from({ length: 250 }, (_, k): [string, string] => ['web.1', `line ${i + k + 1}`]);
    await sendLines({ base: `http://127.0.0.1:${a.port}` }, token, batch);
  }
  await sink.until((d) => d.length >= 2);
  t.equal(sink.deliveries[1]!.status, 'hang');
  a.proc.kill('SIGKILL');
  await once(a.proc, 'exit');
  sink.fallback = 200;
  const b = await startChild(t, prefix);
  const accepted = (): Set<string> =>
    new Set(
      sink.deliveries.filter((d) => d.status === 200).flatMap((d) => splitFrames(d.body).map((f) => fields(f).rest)),
    );
  await sink.until(() => accepted().size >= N);
  const got = accepted();
  const missing = Array.from({ length: N }, (_, i) => `line ${i + 1}`).filter((m) => !got.has(m));
  t.same(missing, [], 'every line arrived at least once');
  const redelivered = splitFrames(sink.deliveries[1]!.body).map((f) => fields(f).rest);
  const later = sink.deliveries.slice(2).find((d) => d.status === 200);
  // Pending entries come first: the hung batch, then whatever the dead owner had read ahead.
  t.same(
    splitFrames(later!.body)
      .map((f) => fields(f).rest)
      .slice(0, redelivered.length),
    redelivered,
    'the new owner re-sends the unacked batch first',
  );
  const st = await eventually(
    () => api(b.port, 'GET', `/v2/channels/${ch.channel_id}/drains/${drain.id}`),
    (r: any) => r.status?.backlog === 0 && r.status?.owner === b.node,
  );
  t.equal(st.status.owner, b.node, 'the lease moved to the second node');
  t.ok(st.status.delivered >= N);
  b.proc.kill('SIGTERM');
  const [code] = await once(b.proc, 'exit');
  t.equal(code, 0, 'SIGTERM: flush, release, exit 0');
});
