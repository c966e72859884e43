// When Redis goes away (design.md §Processes and settings, decisions.md "fail fast"): /readyz says so, POST /logs answers
// 503 so senders retry, syslog lines are counted as store rejections, and nothing crashes.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import t from 'tap';
import { encodeFrame } from '../../src/shared/syslog/frame';
import type { RedisLogStore } from '../../src/logplex/store/redis';
import { eventually, logplexMsg, postFrames, prefixFor, readHistory, sendLines, startNode } from '../fixtures/logplex';
import { ownRedisFor } from '../fixtures/redis-server';

t.test('a node whose Redis connection is gone answers 503 and stays up', async (t) => {
  const prefix = await prefixFor(t);
  if (prefix === undefined) return;
  const node = await startNode(t, { store: 'redis', prefix });
  const ch = await node.channel();
  await sendLines(node, ch.tokens.app!, [['web.1', 'while up']]);
  (node.store as RedisLogStore).client.disconnect();
  const ready = await eventually(async () => {
    const r = await node.api('GET', '/readyz');
    return r.status === 503 ? r : undefined;
  });
  t.match(ready.body, { status: 'not_ready', store: 'redis', store_up: false });
  const res = await postFrames(node.base, ch.tokens.app!, [logplexMsg(ch.tokens.app!, 'web.1', 'while down')]);
  t.equal(res.status, 503);
  t.match(JSON.parse(res.text), { id: 'unavailable' });
  const s = connect(node.syslogPort, '127.0.0.1');
  s.on('error', () => undefined);
  s.end(encodeFrame(logplexMsg(ch.tokens.app!, 'web.1', 'tcp while down')));
  // TCP pushes back: the line is held, not rejected (the test below sees it stored on return).
  await eventually(async () =>
    (await node.registry.metrics()).match(/syslog_held_frames\{service="logplex"\} 1/) ? true : undefined,
  );
  t.match(await node.registry.metrics(), /store_errors_total\{op="append",service="logplex"\} [1-9]/);
  t.equal((await node.api('GET', '/healthz')).status, 200, 'the process is still up');
});

// While Redis is away (design.md §Ingest): a TCP connection stops reading, so the sender holds its
// own lines, and what was read is stored once Redis returns; UDP cannot push back, so its lines
// are dropped, counted, and the channel gets one L12 line saying how many.
t.test('an outage: TCP lines held and stored on return; UDP drops told in-band as L12', async (t) => {
  const redis = await ownRedisFor(t);
  if (!redis) return;
  const node = await startNode(t, { store: 'redis', redisUrl: redis.url, prefix: 'sytest:ingest-outage:' });
  await eventually(async () => ((await node.api('GET', '/readyz')).status === 200 ? true : undefined), 10_000);
  const ch = await node.channel(['app']);
  const token = ch.tokens.app!;
  await sendLines(node, token, [['web.1', 'before']]);
  const tcp = connect(node.syslogPort, '127.0.0.1');
  tcp.on('error', () => undefined);
  t.teardown(() => tcp.destroy());
  await new Promise((r) => tcp.once('connect', r));

  await redis.stop();
  await eventually(async () => ((await node.api('GET', '/readyz')).status === 503 ? true : undefined), 10_000);
  for (let i = 1; i <= 50; i++) tcp.write(encodeFrame(logplexMsg(token, 'web.1', `during ${i}`)));
  const udp = createSocket('udp4');
  t.teardown(() => udp.close());
  for (let i = 1; i <= 3; i++) {
    await new Promise<void>((r) =>
      udp.send(Buffer.from(logplexMsg(token, 'web.2', `udp ${i}`)), node.syslogPort, '127.0.0.1', () => r()),
    );
  }
  await eventually(async () =>
    /frames_rejected_total\{transport="udp",reason="store",service="logplex"\} 3/.test(await node.registry.metrics())
      ? true
      : undefined,
  );
  t.notMatch(
    await node.registry.metrics(),
    /frames_rejected_total\{transport="tcp",reason="store"/,
    'no TCP line dropped',
  );

  await redis.start();
  const lines = await eventually(async () => {
    const h = await readHistory(node, { channel_id: ch.id, num: 100 }).catch(() => []);
    return h.some((l) => l.endsWith('during 50')) && h.some((l) => l.includes('Error L12')) ? h : undefined;
  }, 15_000);
  const during = lines.filter((l) => / during \d+$/.test(l)).map((l) => Number(/during (\d+)$/.exec(l)![1]));
  t.same(
    during,
    Array.from({ length: 50 }, (_, i) => i + 1),
    'every TCP line, in order',
  );
  t.match(
    lines.find((l) => l.includes('Error L12')),
    /heroku\[logplex\]: Error L12 \(local buffer overflow\): 3 messages dropped since \S+\.$/,
  );
  t.equal(lines.filter((l) => l.includes('Error L12')).length, 1, 'one L12 line');
});
