// Multi-node (design.md §Logplex, §Scale-out): two nodes on one Redis prefix share channels, tokens and history,
// and a line ingested on node A reaches a tail session on node B.
import t from 'tap';
import { WebSocket } from 'ws';
import { prefixFor, readHistory, sendLines, startNode } from '../fixtures/logplex';

t.test('a line ingested on A reaches a tail on B; history is shared', async (t) => {
  const prefix = await prefixFor(t);
  if (prefix === undefined) return;
  const a = await startNode(t, { store: 'redis', prefix });
  const b = await startNode(t, { store: 'redis', prefix });
  const ch = await a.channel();
  await sendLines(a, ch.tokens.app!, [['web.1', 'history from a']]);
  const s = await b.api('POST', '/v2/sessions', { channel_id: ch.id, tail: true });
  t.equal(s.status, 201, 'B knows the channel A created');
  const ws = new WebSocket(s.body.url.replace(/^http/, 'ws'));
  t.teardown(() => ws.terminate());
  const msgs: string[] = [];
  let wake: () => void = () => undefined;
  ws.on('message', (d) => {
    msgs.push(String(d));
    wake();
  });
  await new Promise((r) => ws.once('open', r));
  const until = async (n: number) => {
    const deadline = Date.now() + 15_000;
    while (msgs.length < n) {
      if (Date.now() > deadline) throw new Error(`${msgs.length} of ${n} messages after 15 s`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
  };
  await until(1);
  // B subscribes to the channel's pub/sub when the session opens: send until the live line shows.
  let i = 0;
  const timer = setInterval(() => void sendLines(a, ch.tokens.app!, [['web.2', `live ${++i}`]]), 100);
  await until(2);
  clearInterval(timer);
  t.match(msgs[0], /app\[web\.1\]: history from a$/);
  t.match(msgs[1], /app\[web\.2\]: live \d+$/);
  const seen = new Set(msgs);
  t.equal(seen.size, msgs.length, 'no line is delivered twice');
  const fromB = await readHistory(b, { channel_id: ch.id, num: 1 });
  t.match(fromB[0], /: (history from a|live \d+)$/, 'history read on B comes from the shared stream');
});

t.test('a channel deleted on B stops ingest on A once A notices', async (t) => {
  const prefix = await prefixFor(t);
  if (prefix === undefined) return;
  const a = await startNode(t, { store: 'redis', prefix });
  const b = await startNode(t, { store: 'redis', prefix });
  const ch = await a.channel();
  await sendLines(a, ch.tokens.app!, [['web.1', 'cached token']]);
  t.equal((await b.api('DELETE', `/v2/channels/${ch.id}`)).status, 200);
  // A still has the token cached: the store refuses the append, A forgets the token.
  await t.rejects(sendLines(a, ch.tokens.app!, [['web.1', 'too late']]), /POST \/logs: 400/);
  await t.rejects(sendLines(a, ch.tokens.app!, [['web.1', 'again']]), /POST \/logs: 401/);
});
