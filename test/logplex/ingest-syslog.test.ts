// Syslog ingest (design.md §Ingest): TCP with RFC 6587 octet counting or LF framing, UDP one message per
// datagram, a stock `logger` as sender, SD-PARAM tokens, and unknown tokens that never crash.
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import t from 'tap';
import { encodeFrame } from '../../src/shared/syslog/frame';
import { eventually, logplexMsg, readHistory, startNode, type TestNode } from '../fixtures/logplex';

function sendTcp(port: number, ...chunks: (string | Buffer)[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      for (const c of chunks) s.write(c);
      s.end();
    });
    s.on('error', reject);
    s.on('close', () => resolve());
  });
}

const history = (node: TestNode, id: number) => readHistory(node, { channel_id: id });

t.test('TCP octet-counted and LF-delimited frames in one stream', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  const tok = ch.tokens.app!;
  const stream = Buffer.concat([
    encodeFrame(logplexMsg(tok, 'web.1', 'counted one')),
    encodeFrame(logplexMsg(tok, 'web.2', 'counted two')),
    // RFC 6587 §3.4.2: a frame that does not start with a digit ends at LF.
    Buffer.from(logplexMsg(tok, 'worker.1', 'by line') + '\n'),
  ]);
  // Split mid-frame: the splitter must carry state across reads.
  await sendTcp(node.syslogPort, stream.subarray(0, 30), stream.subarray(30, 101), stream.subarray(101));
  const lines = await eventually(async () => {
    const h = await history(node, ch.id);
    return h.length === 3 ? h : undefined;
  });
  t.same(
    lines.map((l) => l.slice(33)),
    ['app[web.1]: counted one', 'app[web.2]: counted two', 'app[worker.1]: by line'],
  );
});

t.test('UDP: one datagram is one message', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  const udp = createSocket('udp4');
  t.teardown(() => udp.close());
  const msg = Buffer.from(logplexMsg(ch.tokens.app!, 'web.3', 'over udp') + '\n');
  // UDP may drop; resend until it lands (bounded by eventually's timeout).
  const lines = await eventually(async () => {
    udp.send(msg, node.syslogPort, '127.0.0.1');
    const h = await history(node, ch.id);
    return h.length ? h : undefined;
  });
  t.match(lines[0], /^2026-11-26T10:00:00\.123456\+00:00 app\[web\.3\]: over udp$/);
});

t.test('an SD-PARAM token keeps APP-NAME as the source', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  await sendTcp(
    node.syslogPort,
    encodeFrame(`<134>1 2026-11-26T10:00:00Z host myjob 42 - [x@32473 token="${ch.tokens.app}"] via sd`),
  );
  const lines = await eventually(async () => {
    const h = await history(node, ch.id);
    return h.length ? h : undefined;
  });
  // The sender's Z time is shown in Logplex's shape.
  t.same(lines, ['2026-11-26T10:00:00.000000+00:00 myjob[42]: via sd']);
});

t.test('unknown tokens and garbage are counted, never crash, and the connection keeps working', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  await sendTcp(
    node.syslogPort,
    encodeFrame(logplexMsg('t.unknown', 'web.1', 'nobody')),
    'garbage line\n',
    '99999999999 too long a length\n',
    encodeFrame(logplexMsg(ch.tokens.app!, 'web.1', 'after the mess')),
  );
  const lines = await eventually(async () => {
    const h = await history(node, ch.id);
    return h.length ? h : undefined;
  });
  t.match(lines, [/app\[web\.1\]: after the mess$/]);
  const metrics = await node.registry.metrics();
  t.match(metrics, /frames_rejected_total\{transport="tcp",reason="unknown_token",service="logplex"\} 1/);
  t.match(metrics, /frames_rejected_total\{transport="tcp",reason="parse",service="logplex"\} [1-9]/);
});

t.test('a frame over 10 KiB is stored truncated with a marker', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  await sendTcp(node.syslogPort, encodeFrame(logplexMsg(ch.tokens.app!, 'web.1', 'x'.repeat(20_000))));
  const lines = await eventually(async () => {
    const h = await history(node, ch.id);
    return h.length ? h : undefined;
  });
  t.match(lines[0], /app\[web\.1\]: x+ \[truncated: line exceeded 10240 bytes\]$/);
  t.ok(lines[0]!.length < 10_400);
});

t.test(
  'a stock sender: logger --rfc5424 --octet-count -T',
  { skip: !existsSync('/usr/bin/logger') && 'no logger binary' },
  async (t) => {
    const node = await startNode(t);
    const ch = await node.channel();
    await new Promise<void>((resolve, reject) =>
      execFile(
        'logger',
        [
          '--rfc5424',
          '--octet-count',
          '-T',
          '-t',
          ch.tokens.app!,
          '-P',
          String(node.syslogPort),
          '-n',
          '127.0.0.1',
          'hello from logger',
        ],
        (err: Error | null) => (err ? reject(err) : resolve()),
      ),
    );
    const lines = await eventually(async () => {
      const h = await history(node, ch.id);
      return h.length ? h : undefined;
    });
    t.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 app\[-\]: hello from logger$/);
  },
);

t.test('one TCP read with interleaved tokens of two channels lands in each, in order', async (t) => {
  const node = await startNode(t);
  const a = await node.channel();
  const b = await node.channel();
  const frames: Buffer[] = [];
  for (let i = 1; i <= 6; i++) {
    frames.push(encodeFrame(logplexMsg(a.tokens.app!, 'web.1', `a${i}`)));
    frames.push(encodeFrame(logplexMsg(i % 2 ? b.tokens.heroku! : b.tokens.app!, 'web.2', `b${i}`)));
    if (i === 3) frames.push(encodeFrame(logplexMsg('t.nobody', 'web.3', 'lost')));
  }
  await sendTcp(node.syslogPort, Buffer.concat(frames));
  const ha = await eventually(async () => {
    const h = await history(node, a.id);
    return h.length === 6 ? h : undefined;
  });
  const hb = await eventually(async () => {
    const h = await history(node, b.id);
    return h.length === 6 ? h : undefined;
  });
  t.same(
    ha.map((l) => l.split(': ')[1]),
    ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'],
  );
  t.same(
    hb.map((l) => l.slice(33)),
    [
      'heroku[web.2]: b1',
      'app[web.2]: b2',
      'heroku[web.2]: b3',
      'app[web.2]: b4',
      'heroku[web.2]: b5',
      'app[web.2]: b6',
    ],
  );
});
