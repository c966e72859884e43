// Tail sessions (design.md §Tail sessions): history oldest first, `num`, live lines when `tail`, dyno-prefix
// and source filters, text/plain and WebSocket on the same URL, one-time capability URLs.
import t from 'tap';
import { request } from 'undici';
import { WebSocket } from 'ws';
import { collectText, readHistory, sendLines, startNode } from '../fixtures/logplex';

t.test('history: the last num lines, oldest first', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  await sendLines(node, ch.tokens.app!, [
    ['web.1', 'a'],
    ['web.1', 'b'],
    ['web.1', 'c'],
    ['web.1', 'd'],
  ]);
  t.same(
    (await readHistory(node, { channel_id: ch.id, num: 3 })).map((l) => l.slice(-1)),
    ['b', 'c', 'd'],
  );
  // Logplex's clients send channel_id and num as strings.
  t.same(
    (await readHistory(node, { channel_id: String(ch.id), num: '2' })).map((l) => l.slice(-1)),
    ['c', 'd'],
  );
  t.same(await readHistory(node, { channel_id: ch.id, num: 0 }), []);
});

t.test('filters: dyno prefix (ps alias) and source', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  await sendLines(node, ch.tokens.app!, [
    ['web.1', 'w1'],
    ['web.10', 'w10'],
    ['worker.1', 'k1'],
    ['web.2', 'w2'],
  ]);
  await sendLines(node, ch.tokens.heroku!, [
    ['router', 'r1'],
    ['web.1', 'hw1'],
  ]);
  const msgs = async (body: Record<string, unknown>) =>
    (await readHistory(node, { channel_id: ch.id, ...body })).map((l) => l.split(': ')[1]);
  t.same(await msgs({ dyno: 'web' }), ['w1', 'w10', 'w2', 'hw1'], '`web` matches every web dyno');
  t.same(await msgs({ ps: 'web.1' }), ['w1', 'hw1'], '`web.1` does not match web.10');
  t.same(await msgs({ source: 'heroku' }), ['r1', 'hw1']);
  t.same(await msgs({ source: 'app', dyno: 'worker' }), ['k1']);
});

t.test('tail over text/plain: history, then live lines', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  await sendLines(node, ch.tokens.app!, [['web.1', 'before']]);
  const s = await node.api('POST', '/v2/sessions', { channel_id: ch.id, tail: true, num: 10 });
  t.equal(s.status, 201);
  t.match(s.body, { id: /^[A-Za-z0-9_-]{32}$/, url: `${node.base}/sessions/${s.body.id}` });
  const res = await request(s.body.url);
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain/);
  const got = collectText(res.body, 3);
  await sendLines(node, ch.tokens.app!, [
    ['web.1', 'live one'],
    ['web.2', 'live two'],
  ]);
  const lines = await got;
  t.same(
    lines.map((l) => l.slice(33)),
    ['app[web.1]: before', 'app[web.1]: live one', 'app[web.2]: live two'],
  );
  res.body.destroy();
});

t.test('tail over WebSocket on the same URL: one line per message, filtered', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  await sendLines(node, ch.tokens.app!, [
    ['web.1', 'old'],
    ['worker.1', 'old worker'],
  ]);
  const s = await node.api('POST', '/v2/sessions', { channel_id: ch.id, tail: true, dyno: 'web' });
  const ws = new WebSocket(s.body.url.replace(/^http/, 'ws'));
  t.teardown(() => ws.terminate());
  const msgs: string[] = [];
  const three = new Promise<void>((resolve) => ws.on('message', (d) => msgs.push(String(d)) === 3 && resolve()));
  await new Promise((r) => ws.once('open', r));
  await sendLines(node, ch.tokens.app!, [
    ['worker.1', 'skip me'],
    ['web.2', 'new one'],
    ['web.1', 'new two'],
  ]);
  await three;
  t.same(
    msgs.map((m) => m.slice(33)),
    ['app[web.1]: old', 'app[web.2]: new one', 'app[web.1]: new two'],
  );
});

t.test('a history-only WebSocket session closes after the history', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  await sendLines(node, ch.tokens.app!, [['web.1', 'only']]);
  const s = await node.api('POST', '/v2/sessions', { channel_id: ch.id });
  const ws = new WebSocket(s.body.url.replace(/^http/, 'ws'));
  const msgs: string[] = [];
  ws.on('message', (d) => msgs.push(String(d)));
  const code = await new Promise<number>((r) => ws.on('close', (c) => r(c)));
  t.equal(code, 1000);
  t.match(msgs, [/app\[web\.1\]: only$/]);
});

t.test('session URLs: open once, expire unopened, unknown is 404', async (t) => {
  // Two nodes: the open-once checks use the default TTL, because on a loaded machine more than a
  // short TTL can pass between creating a session and opening it; only the expiry check needs a short one.
  const node = await startNode(t);
  const ch = await node.channel();
  const short = await startNode(t, { store: 'memory', sessionTtlMs: 50 });
  const shortCh = await short.channel();
  const s = await node.api('POST', '/v2/sessions', { channel_id: ch.id });
  const first = await request(s.body.url);
  t.equal(first.statusCode, 200);
  await first.body.dump();
  const again = await request(s.body.url);
  t.equal(again.statusCode, 404, 'a session URL opens once');
  t.match(await again.body.json(), { id: 'not_found' });
  const late = await short.api('POST', '/v2/sessions', { channel_id: shortCh.id });
  await new Promise((r) => setTimeout(r, 120));
  const expired = await request(late.body.url);
  t.equal(expired.statusCode, 404, 'expired before it was opened');
  await expired.body.dump();
  const ws = new WebSocket(`ws://127.0.0.1:${node.httpPort}/sessions/nope`);
  const status = await new Promise<number>((r) => ws.on('unexpected-response', (_req, res) => r(res.statusCode ?? 0)));
  t.equal(status, 404, 'unknown WebSocket session');
  ws.on('error', () => undefined);
  ws.terminate();
  // GET needs no auth (the URL is the capability), but creating one does.
  const noAuth = await node.api('POST', '/v2/sessions', { channel_id: ch.id }, { authorization: '' });
  t.equal(noAuth.status, 401);
});

t.test('WebSocket frames: short, 16-bit and 64-bit lengths and UTF-8 arrive as sent', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  const s = await node.api('POST', '/v2/sessions', { channel_id: ch.id, tail: true, num: 0 });
  const ws = new WebSocket(s.body.url.replace(/^http/, 'ws'));
  t.teardown(() => ws.terminate());
  const msgs: string[] = [];
  const three = new Promise<void>((resolve) =>
    ws.on('message', (d, isBinary) => !isBinary && msgs.push(String(d)) === 3 && resolve()),
  );
  await new Promise((r) => ws.once('open', r));
  const mid = 'm'.repeat(300);
  await sendLines(node, ch.tokens.app!, [
    ['web.1', 'héllo ✓'],
    ['web.1', mid],
    ['web.1', 'z'.repeat(9000)],
  ]);
  await three;
  t.same(
    msgs.map((m) => m.slice(33)),
    ['app[web.1]: héllo ✓', `app[web.1]: ${mid}`, `app[web.1]: ${'z'.repeat(9000)}`],
  );
});
