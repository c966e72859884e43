// A stalled drain owner (design.md §Drain delivery): the node delivering a drain is stopped with
// SIGSTOP while a batch is in flight and the next one is read ahead; another node takes the
// drain when the lease lapses and delivers everything; then the stalled node gets its answer
// and SIGCONT. It must send nothing more (its lease is gone by its own clock), read nothing
// (its epoch is fenced in Redis, so it cannot take lines from the new owner's stream), and
// count nothing: no line lost, no false L10, and the status sums to the lines appended.
import { once } from 'node:events';
import t from 'tap';
import { drainApi as api, startDrainChild } from '../fixtures/drain-children';
import { eventually, fields, splitFrames } from '../fixtures/drains';
import { logplexMsg, postFrames, prefixFor } from '../fixtures/logplex';
import { httpSink } from '../fixtures/sinks';

async function post(port: number, token: string, from: number, n: number): Promise<number> {
  const messages = Array.from({ length: n }, (_, k) => logplexMsg(token, 'web.1', `line ${from + k}`));
  return (await postFrames(`http://127.0.0.1:${port}`, token, messages)).status;
}

t.test(
  'SIGSTOP of the owner until another node takes the drain, then SIGCONT: nothing lost, nothing more sent',
  async (t) => {
    const prefix = await prefixFor(t);
    if (prefix === undefined) return;
    const sink = await httpSink();
    t.teardown(() => sink.close());
    sink.script = [200, 'hang']; // the second batch is in flight when the owner stops
    const a = await startDrainChild(t, prefix);
    const ch = await api(a.port, 'POST', '/v2/channels', { name: 'stall', tokens: ['app'] });
    const token: string = ch.tokens[0].token;
    const drain = await api(a.port, 'POST', `/v2/channels/${ch.channel_id}/drains`, { url: sink.url });
    const N = 1500;
    // One append, so every batch is full (500 lines): the second in flight, the third read ahead.
    t.equal(await post(a.port, token, 1, N), 204);
    await sink.until((d) => d.length >= 2);
    t.equal(sink.deliveries[1]!.status, 'hang');
    const held = splitFrames(sink.deliveries[1]!.body).map((f) => fields(f).rest);

    const b = await startDrainChild(t, prefix);
    a.proc.kill('SIGSTOP');
    sink.fallback = 200;
    const path = `/v2/channels/${ch.channel_id}/drains/${drain.id}`;
    const taken = await eventually(
      () => api(b.port, 'GET', path),
      (r: any) => r.status?.owner === b.node,
      3000,
    );
    t.equal(taken.status.owner, b.node, 'the other node took the drain');
    const copies = (): Map<string, number> => {
      const m = new Map<string, number>();
      for (const d of sink.deliveries) {
        if (d.status !== 200) continue;
        for (const f of splitFrames(d.body)) m.set(fields(f).rest, (m.get(fields(f).rest) ?? 0) + 1);
      }
      return m;
    };
    await sink.until(() => copies().size >= N);

    // The stalled owner's batch gets its 200 while it is stopped: it finds that answer on waking,
    // with the batch after it read ahead and ready to send.
    sink.answerHung(200);
    const stopped = a.logged((l) => l.includes('msg="drain runner stopped"'));
    a.proc.kill('SIGCONT');
    await stopped;
    const M = 250;
    t.equal(await post(b.port, token, N + 1, M), 204);
    await sink.until(() => copies().size >= N + M);

    const got = copies();
    const missing = Array.from({ length: N + M }, (_, i) => `line ${i + 1}`).filter((m) => !got.has(m));
    t.same(missing, [], 'every line arrived');
    const twice = [...got].filter(([, n]) => n > 1).map(([m]) => m);
    t.same(twice, held, 'duplicates: only the batch the stalled owner had in flight');
    t.same(
      [...got.keys()].filter((m) => m.includes('L10')),
      [],
      'no L10: nothing fell out of the log',
    );
    const st = await eventually(
      () => api(b.port, 'GET', path),
      (r: any) => r.status?.backlog === 0,
    );
    t.same(
      [st.status.delivered, st.status.lost, st.status.backlog, st.status.owner],
      [N + M, 0, 0, b.node],
      'the status sums: each line delivered once, none lost',
    );
    b.proc.kill('SIGTERM');
    await once(b.proc, 'exit');
  },
);
