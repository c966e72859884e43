// When Redis goes away (design.md §Processes and settings, decisions.md "fail fast"): /readyz says so, POST /logs answers
// 503 so senders retry, syslog lines are counted as store rejections, and nothing crashes.
import { connect } from 'node:net';
import t from 'tap';
import { request } from 'undici';
import { encodeFrame } from '../../src/shared/syslog/frame';
import type { RedisLogStore } from '../../src/logplex/store/redis';
import { eventually, logplexMsg, prefixFor, sendLines, startNode } from '../fixtures/logplex';

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
  const res = await request(`${node.base}/logs`, {
    method: 'POST',
    headers: {
      'content-type': 'application/logplex-1',
      authorization: 'Basic ' + Buffer.from(`token:${ch.tokens.app}`).toString('base64'),
    },
    body: encodeFrame(logplexMsg(ch.tokens.app!, 'web.1', 'while down')),
  });
  t.equal(res.statusCode, 503);
  t.match(await res.body.json(), { id: 'unavailable' });
  const s = connect(node.syslogPort, '127.0.0.1');
  s.on('error', () => undefined);
  s.end(encodeFrame(logplexMsg(ch.tokens.app!, 'web.1', 'tcp while down')));
  await eventually(async () =>
    (await node.registry.metrics()).match(/frames_rejected_total\{transport="tcp",reason="store"/) ? true : undefined,
  );
  t.match(await node.registry.metrics(), /store_errors_total\{op="append",service="logplex"\} [2-9]/);
  t.equal((await node.api('GET', '/healthz')).status, 200, 'the process is still up');
});
