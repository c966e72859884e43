// Where Heroku's Logplex is exact, we are (design.md §Logplex API, §Ingest, §Drains): 401 with
// `WWW-Authenticate: Basic realm="Logplex"` (RFC 9110 §11.6.1), only the Basic user `token`, auth
// before the media type, 422 for a nameless token, PRI 172/188 on in-band lines, channel error
// lines kept from drains, `num` counting matching lines, and session URLs from configuration.
import t from 'tap';
import { request } from 'undici';
import { MemoryDrainStore } from '../../src/logplex/drains/store/memory';
import { deliveryErrorLine, overflowLine, rateLimitLine, resumeGapLine } from '../../src/logplex/lines';
import { MemoryLogStore } from '../../src/logplex/store/memory';
import { encodeFrame } from '../../src/shared/syslog/frame';
import { eventually, newLines, startRunner } from '../fixtures/drains';
import { logplexMsg, readHistory, sendLines, startNode } from '../fixtures/logplex';
import { syslogSink } from '../fixtures/sinks';

const basic = (user: string, pass: string): string => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');

t.test('POST /logs: 401 names the realm; only the user "token" is a token; auth comes before 415', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  const body = encodeFrame(logplexMsg(ch.tokens.app!, 'web.1', 'hello'));
  const cases: [string, Record<string, string>, number][] = [
    ['no credentials', { 'content-type': 'application/logplex-1' }, 401],
    ['unknown token', { 'content-type': 'application/logplex-1', authorization: basic('token', 't.nope') }, 401],
    [
      'a user other than token',
      { 'content-type': 'application/logplex-1', authorization: basic('app', ch.tokens.app!) },
      401,
    ],
    ['wrong type, no credentials', { 'content-type': 'text/plain' }, 401],
    [
      'wrong type, good credentials',
      { 'content-type': 'text/plain', authorization: basic('token', ch.tokens.app!) },
      415,
    ],
    ['good', { 'content-type': 'application/logplex-1', authorization: basic('token', ch.tokens.app!) }, 204],
  ];
  for (const [name, headers, status] of cases) {
    const res = await request(`${node.base}/logs`, { method: 'POST', headers, body });
    await res.body.dump();
    t.equal(res.statusCode, status, name);
    if (status === 401) t.equal(res.headers['www-authenticate'], 'Basic realm="Logplex"', `${name}: realm`);
  }
  t.match(await readHistory(node, { channel_id: ch.id }), [/app\[web\.1\]: hello$/], 'only the good post stored');
});

t.test('POST /v2/channels/:id/tokens without a name is 422', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  const r = await node.api('POST', `/v2/channels/${ch.id}/tokens`, {});
  t.equal(r.status, 422);
  t.match(r.body, { id: 'unprocessable_entity', message: /"name"/ });
  t.equal((await node.api('POST', `/v2/channels/${ch.id}/tokens`, { name: 'bad name' })).status, 400);
});

t.test(
  "in-band lines carry Logplex's PRI: overflow local5.warning (172), other errors local7.warning (188)",
  async (t) => {
    const now = '2026-11-26T10:00:01.000000+00:00';
    for (const code of ['L10', 'L11', 'L12'] as const) t.equal(overflowLine(code, 1, now, now).pri, 172, code);
    t.equal(deliveryErrorLine('L13', 'x', now).pri, 188);
    t.equal(deliveryErrorLine('L14', 'x', now).pri, 188);
    t.equal(rateLimitLine(1, now, 10, now).pri, 188);
    t.equal(resumeGapLine(1, 5, now).pri, 188);
  },
);

t.test(
  'channel error lines stay out of drains: the drain gets every other line, in order, and acks past them',
  async (t) => {
    const sink = await syslogSink();
    t.teardown(() => sink.close());
    const log = new MemoryLogStore(1000);
    const store = new MemoryDrainStore(log);
    const ch = await log.createChannel('hello', ['app']);
    const drain = await store.create(ch.id, `syslog://127.0.0.1:${sink.port}`);
    if (drain === 'conflict') throw new Error('conflict');
    const now = '2026-11-26T10:00:01.000000+00:00';
    await log.append(ch.id, newLines(2));
    await log.append(ch.id, [deliveryErrorLine('L13', 'drain 9: 127.0.0.1:1 refused', now)]);
    await log.append(ch.id, newLines(2, 3));
    const rig = startRunner(store, drain);
    t.teardown(() => rig.runner.stop());
    await sink.until((f) => f.length >= 4);
    t.same(
      sink.frames.map((f) => f.slice(f.lastIndexOf(' - - ') + 5)),
      ['line 1\n', 'line 2\n', 'line 3\n', 'line 4\n'],
    );
    const st = await eventually(
      () => store.status(ch.id, drain.id),
      (s) => s.backlog === 0,
    );
    t.equal(st.backlog, 0, 'the error line is acked with the batch after it');
    t.equal(st.lost, 0, 'a skipped line is not a gap (no L10)');
    t.same(await readTailOf(log, ch.id), [
      'line 1',
      'line 2',
      'Error L13 (local delivery error): drain 9: 127.0.0.1:1 refused',
      'line 3',
      'line 4',
    ]);
  },
);

async function readTailOf(log: MemoryLogStore, channel: number): Promise<string[]> {
  return (await log.history(channel, 10)).map((l) => l.msg);
}

t.test('num counts only the lines the dyno and source filters keep', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  await sendLines(node, ch.tokens.app!, [
    ['web.2', 'a'],
    ['web.2', 'b'],
    ['web.2', 'c'],
    ...Array.from({ length: 20 }, (_, i): [string, string] => ['web.1', `noise ${i}`]),
  ]);
  t.match(await readHistory(node, { channel_id: ch.id, num: 3, dyno: 'web.2' }), [/: a$/, /: b$/, /: c$/]);
  t.match(await readHistory(node, { channel_id: ch.id, num: 2, dyno: 'web.2' }), [/: b$/, /: c$/]);
  t.same(await readHistory(node, { channel_id: ch.id, num: 3, source: 'heroku' }), []);
});

t.test('session URLs come from LOGPLEX_PUBLIC_URL, else the listener; never from Host', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  const r = await node.api('POST', '/v2/sessions', { channel_id: ch.id }, { host: 'evil.example' });
  t.equal(r.status, 201);
  t.match(r.body.url, new RegExp(`^http://127\\.0\\.0\\.1:${node.httpPort}/sessions/[A-Za-z0-9_-]+$`));
  const pub = await startNode(t, { store: 'memory', env: { LOGPLEX_PUBLIC_URL: 'https://logs.example.com/' } });
  const ch2 = await pub.channel();
  const r2 = await pub.api('POST', '/v2/sessions', { channel_id: ch2.id }, { host: 'evil.example' });
  t.match(r2.body.url, /^https:\/\/logs\.example\.com\/sessions\/[A-Za-z0-9_-]+$/);
});
