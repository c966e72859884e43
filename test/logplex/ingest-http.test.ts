// POST /logs (design.md §Ingest): logplex-1 bodies with Basic token auth; partial bodies keep
// their good frames; counts, types, sizes and gzip are checked.
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { request } from 'undici';
import { encodeFrame } from '../../src/shared/syslog/frame';
import { logplexMsg, readHistory, startNode } from '../fixtures/logplex';

const basic = (token: string): string => 'Basic ' + Buffer.from(`token:${token}`).toString('base64');

function post(base: string, token: string, body: Buffer, headers: Record<string, string> = {}) {
  return request(`${base}/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/logplex-1', authorization: basic(token), ...headers },
    body,
  });
}

const frames = (token: string, msgs: string[]): Buffer =>
  Buffer.concat(msgs.map((m, i) => encodeFrame(logplexMsg(token, `web.${i + 1}`, m))));

t.test('a good body is stored as source = token name, ps = PROCID; 204', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  const res = await post(node.base, ch.tokens.app!, frames(ch.tokens.app!, ['one', 'two']), {
    'logplex-msg-count': '2',
  });
  t.equal(res.statusCode, 204);
  await res.body.dump();
  t.same(await readHistory(node, { channel_id: ch.id }), [
    '2026-11-26T10:00:00.123456+00:00 app[web.1]: one',
    '2026-11-26T10:00:00.123456+00:00 app[web.2]: two',
  ]);
  const res2 = await post(node.base, ch.tokens.heroku!, frames(ch.tokens.heroku!, ['from the platform']), {
    'content-type': 'application/x-logplex-1',
  });
  t.equal(res2.statusCode, 204);
  await res2.body.dump();
  t.match((await readHistory(node, { channel_id: ch.id, num: 1 }))[0], / heroku\[web\.1\]: from the platform$/);
});

t.test('gzip bodies are inflated', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  const res = await post(node.base, ch.tokens.app!, gzipSync(frames(ch.tokens.app!, ['zipped'])), {
    'content-encoding': 'gzip',
    'logplex-msg-count': '1',
  });
  t.equal(res.statusCode, 204);
  await res.body.dump();
  t.match(await readHistory(node, { channel_id: ch.id }), [/app\[web\.1\]: zipped$/]);
});

t.test('a gzip bomb is refused with 413 without inflating past the limit', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x61));
  t.ok(bomb.length < 1024 * 1024, 'the compressed body is under the wire limit');
  const res = await post(node.base, ch.tokens.app!, bomb, { 'content-encoding': 'gzip' });
  t.equal(res.statusCode, 413);
  t.match(await res.body.json(), { id: 'payload_too_large' });
});

t.test('a partly bad body keeps its good frames and answers 400 with counts', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  const body = Buffer.concat([
    encodeFrame(logplexMsg(ch.tokens.app!, 'web.1', 'good one')),
    encodeFrame('this is not syslog'),
    encodeFrame(logplexMsg(ch.tokens.app!, 'web.2', 'good two')),
  ]);
  const res = await post(node.base, ch.tokens.app!, body, { 'logplex-msg-count': '3' });
  t.equal(res.statusCode, 400);
  const json = (await res.body.json()) as Record<string, unknown>;
  t.match(json, { accepted: 2, rejected: 1, first_error: /^frame 2: SY_SYSLOG_PRI/ });
  t.match(await readHistory(node, { channel_id: ch.id }), [/: good one$/, /: good two$/]);
});

t.test('a framing error keeps the frames before it', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  const body = Buffer.concat([
    encodeFrame(logplexMsg(ch.tokens.app!, 'web.1', 'kept')),
    Buffer.from('garbage without length'),
  ]);
  const res = await post(node.base, ch.tokens.app!, body);
  t.equal(res.statusCode, 400);
  t.match(await res.body.json(), { accepted: 1, rejected: 1, first_error: /SY_FRAME_LENGTH/ });
  t.match(await readHistory(node, { channel_id: ch.id }), [/: kept$/]);
});

t.test('refusals: msg-count mismatch 400, wrong type 415, bad token 401, big body 413', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  const good = frames(ch.tokens.app!, ['x', 'y']);
  const cases: [string, Promise<Awaited<ReturnType<typeof post>>>, number, string][] = [
    ['count disagrees', post(node.base, ch.tokens.app!, good, { 'logplex-msg-count': '3' }), 400, 'invalid_params'],
    [
      'count not a number',
      post(node.base, ch.tokens.app!, good, { 'logplex-msg-count': 'two' }),
      400,
      'invalid_params',
    ],
    [
      'text/plain',
      post(node.base, ch.tokens.app!, good, { 'content-type': 'text/plain' }),
      415,
      'unsupported_media_type',
    ],
    ['unknown token', post(node.base, 't.00000000-0000-0000-0000-000000000000', good), 401, 'unauthorized'],
    ['no auth', post(node.base, ch.tokens.app!, good, { authorization: '' }), 401, 'unauthorized'],
    ['over 1 MiB', post(node.base, ch.tokens.app!, Buffer.alloc(1024 * 1024 + 1, 0x31)), 413, 'payload_too_large'],
    ['deflate', post(node.base, ch.tokens.app!, good, { 'content-encoding': 'br' }), 415, 'unsupported_media_type'],
  ];
  for (const [name, p, status, id] of cases) {
    const res = await p;
    t.equal(res.statusCode, status, name);
    t.match(await res.body.json(), { id }, name);
  }
  t.same(await readHistory(node, { channel_id: ch.id }), [], 'nothing was stored');
  const counted = await node.registry.metrics();
  for (const [status, n] of [
    [400, 2],
    [415, 2],
    [401, 2],
    [413, 1],
  ])
    t.match(counted, `switchyard_logplex_ingest_requests_total{status="${status}",service="logplex"} ${n}`);
});

t.test('ingest metrics count lines and rejections', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  const res = await post(node.base, ch.tokens.app!, Buffer.concat([frames(ch.tokens.app!, ['a']), encodeFrame('bad')]));
  await res.body.dump();
  const text = await node.registry.metrics();
  t.match(text, /switchyard_logplex_lines_ingested_total\{transport="http",service="logplex"\} 1/);
  t.match(text, /switchyard_logplex_frames_rejected_total\{transport="http",reason="parse",service="logplex"\} 1/);
});
