// Per-channel fairness at ingest (design.md §Ingest): a token bucket per channel
// (LOGPLEX_CHANNEL_RATE lines/s, LOGPLEX_CHANNEL_BURST at once). A flooding channel loses what
// is over its rate, counted in switchyard_logplex_lines_rate_limited_total and reported in-band once per
// interval by an L16 line in its own tails and history; a quiet channel on the same node keeps
// every line.
import t from 'tap';
import { ChannelRates, REPORT_EVERY_MS } from '../../src/logplex/rate';
import { readHistory, sendLines, startNode } from '../fixtures/logplex';

t.test('the bucket: burst at once, then the rate; one report per interval per channel', async (t) => {
  const r = new ChannelRates(100, 50);
  t.same(r.admit(1, 40, 0), { allowed: 40 });
  const over = r.admit(1, 40, 0);
  t.equal(over.allowed, 10, 'the burst is 50');
  t.same(over.report, { dropped: 30, since: 0 }, 'the first drop is reported at once');
  t.same(r.admit(2, 50, 0), { allowed: 50 }, 'another channel has its own bucket');
  t.same(r.admit(1, 20, 100), { allowed: 10 }, '100 ms at 100 lines/s refills 10; the drop waits for the interval');
  const later = r.admit(1, 1, REPORT_EVERY_MS);
  t.same(later, { allowed: 1, report: { dropped: 10, since: 100 } }, 'what was dropped since, reported next interval');
  t.same(new ChannelRates(0, 1).admit(1, 1e6, 0), { allowed: 1e6 }, 'rate 0: no limit');
});

t.test('a flooding channel is cut to its rate with an L16 line; a quiet one keeps every line', async (t) => {
  const node = await startNode(t, {
    store: 'memory',
    env: { LOGPLEX_CHANNEL_RATE: '1', LOGPLEX_CHANNEL_BURST: '100', LOGPLEX_HISTORY_LINES: '5000' },
  });
  const noisy = await node.channel();
  const quiet = await node.channel();
  for (let b = 0; b < 20; b++) {
    await sendLines(
      node,
      noisy.tokens.app!,
      Array.from({ length: 100 }, (_, i): [string, string] => ['web.1', `flood ${b * 100 + i}`]),
    );
    if (b % 4 === 0) await sendLines(node, quiet.tokens.app!, [['web.1', `quiet ${b / 4}`]]);
  }
  const q = await readHistory(node, { channel_id: quiet.id, num: 100 });
  t.same(
    q.map((l) => l.slice(l.indexOf(': ') + 2)),
    ['quiet 0', 'quiet 1', 'quiet 2', 'quiet 3', 'quiet 4'],
    'the quiet channel lost nothing',
  );
  const n = await readHistory(node, { channel_id: noisy.id, num: 5000 });
  const flood = n.filter((l) => / flood \d+$/.test(l));
  t.ok(
    flood.length >= 100 && flood.length < 2000,
    `the noisy channel kept its burst and rate (${flood.length} of 2000)`,
  );
  t.same(
    flood.slice(0, 100),
    Array.from({ length: 100 }, (_, i) => flood[i]!.replace(/flood \d+$/, `flood ${i}`)),
  );
  const l16 = n.filter((l) => l.includes('Error L16'));
  t.equal(l16.length, 1, 'one L16 line within the interval');
  t.match(
    l16[0],
    /heroku\[logplex\]: Error L16 \(channel rate limit\): \d+ messages dropped since \S+ \(over 1 lines\/s\)\.$/,
  );
  const metrics = await (await fetch(`${node.base}/metrics`)).text();
  const dropped = Number(/^switchyard_logplex_lines_rate_limited_total(?:{[^}]*})? (\d+)$/m.exec(metrics)?.[1]);
  t.equal(dropped, 2000 - flood.length, 'the metric counts every dropped line');
});
