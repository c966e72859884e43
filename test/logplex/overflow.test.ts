// L11 (design.md §Tail sessions, docs/errors.md): a stalled reader loses the oldest lines of its bounded buffer
// and is told so in-band, while ingest and a reader that keeps up are not slowed.
import { connect } from 'node:net';
import t from 'tap';
import { WebSocket } from 'ws';
import { encodeFrame } from '../../src/shared/syslog/frame';
import { logplexMsg, startNode } from '../fixtures/logplex';

const LINES = 3000;
// 8 KiB lines, so a few thousand of them overfill the loopback socket buffers of the stalled reader.
const PAD = 'p'.repeat(8 * 1024);

t.test('a stalled WebSocket reader gets L11 with the exact loss; a fast reader gets everything', async (t) => {
  const node = await startNode(t, { store: 'memory', env: { LOGPLEX_SESSION_BUFFER: '200' } });
  const ch = await node.channel();
  let wake = (): void => undefined;
  const open = async (): Promise<{ ws: WebSocket; msgs: string[]; done: Promise<void> }> => {
    const s = await node.api('POST', '/v2/sessions', { channel_id: ch.id, tail: true, num: 0 });
    const ws = new WebSocket(s.body.url.replace(/^http/, 'ws'));
    t.teardown(() => ws.terminate());
    const msgs: string[] = [];
    const done = new Promise<void>((resolve) =>
      ws.on('message', (d) => {
        const m = String(d);
        msgs.push(m.length > 200 ? m.slice(0, 120) : m);
        wake();
        if (m.endsWith(': the end')) resolve();
      }),
    );
    await new Promise((r) => ws.once('open', r));
    return { ws, msgs, done };
  };
  const stalled = await open();
  const fast = await open();
  // The client stops reading: the server's socket to it fills up.
  (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();

  const sender = connect(node.syslogPort, '127.0.0.1');
  sender.on('error', () => undefined);
  t.teardown(() => sender.destroy());
  await new Promise((r) => sender.once('connect', r));
  const tok = ch.tokens.app!;
  // Paced in rounds of 100 that the fast reader finishes before the next one: it never lags by
  // more than its buffer, so any loss it saw would be a bug; the stalled one falls behind by all.
  for (let i = 1; i <= LINES; i += 100) {
    const frames: Buffer[] = [];
    for (let j = i; j < i + 100 && j <= LINES; j++) frames.push(encodeFrame(logplexMsg(tok, 'web.1', `n=${j} ${PAD}`)));
    sender.write(Buffer.concat(frames));
    const want = Math.min(i + 99, LINES);
    // Woken by each message, and at least every 50 ms so the deadline is checked: a lost line fails
    // here with a clear message instead of at tap's timeout.
    const deadline = Date.now() + 15_000;
    while (fast.msgs.length < want) {
      if (Date.now() > deadline) throw new Error(`fast reader stuck at ${fast.msgs.length} of ${want} lines`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
  }
  sender.write(encodeFrame(logplexMsg(tok, 'web.1', 'the end')));

  await fast.done;
  t.equal(fast.msgs.length, LINES + 1, 'the fast reader got every line while the other one stalled');
  t.notOk(fast.msgs.some((m) => m.includes('Error L11')));

  (stalled.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  await stalled.done;
  const l11 = stalled.msgs.filter((m) => m.includes('Error L11'));
  t.ok(l11.length >= 1, 'the stalled reader was told about its loss');
  t.match(
    l11[0],
    /^\S+ heroku\[logplex\]: Error L11 \(tail buffer overflow\): \d+ messages dropped since \d{4}-\d\d-\d\dT[0-9:.]+\+00:00\.$/,
  );
  const dropped = l11.reduce((n, m) => n + Number(/: (\d+) messages dropped/.exec(m)![1]), 0);
  const delivered = stalled.msgs.length - l11.length;
  t.equal(delivered + dropped, LINES + 1, 'every line is either delivered or counted in an L11 line');
  t.ok(dropped > 0);
  // Order is kept: sequence numbers only go up.
  const ns = stalled.msgs
    .map((m) => /n=(\d+)/.exec(m)?.[1])
    .filter(Boolean)
    .map(Number);
  t.ok(
    ns.every((n, i) => i === 0 || n > ns[i - 1]!),
    'lines arrive in order',
  );
  t.match(
    await node.registry.metrics(),
    new RegExp(`switchyard_logplex_tail_lines_dropped_total\\{service="logplex"\\} ${dropped}`),
  );
});
