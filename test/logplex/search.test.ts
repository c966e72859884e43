// Server-side search (design.md §Tail sessions): substring, logfmt `key=value`, numeric
// comparisons on router lines' values (`status>=500`, `service>1000` on `service=1500ms`), a time
// range, with the dyno and source filters; over history and over live lines. No regex: a pattern
// is matched as the literal text it is.
import t from 'tap';
import { request } from 'undici';
import type { LogLine } from '../../src/logplex/lines';
import { logfmtPairs } from '../../src/logplex/tail/logfmt';
import { leadingNumber, matches, parseQuery, QUERY_LIMITS, QueryError } from '../../src/logplex/tail/search';
import {
  collectText,
  logplexMsg,
  prefixFor,
  readHistory,
  sendFrames,
  sendLines,
  startNode,
  type TestNode,
} from '../fixtures/logplex';

const line = (msg: string, extra: Partial<LogLine> = {}): LogLine => ({
  seq: 1,
  time: '2026-11-26T10:00:00.000000+00:00',
  pri: 158,
  source: 'heroku',
  ps: 'router',
  msg,
  ...extra,
});
const ROUTER =
  'at=info method=GET path="/a b" host=x.localhost dyno=web.1 connect=1ms service=1500ms status=503 bytes=10';

t.test('parseQuery: terms by shape; errors name the term', async (t) => {
  t.same(parseQuery('timeout "two words" method=GET dyno!=web.2 status>=500 service>1000 bytes<=10 x<3'), [
    { kind: 'text', text: 'timeout' },
    { kind: 'text', text: 'two words' },
    { kind: 'eq', key: 'method', value: 'GET' },
    { kind: 'ne', key: 'dyno', value: 'web.2' },
    { kind: 'ge', key: 'status', value: 500 },
    { kind: 'gt', key: 'service', value: 1000 },
    { kind: 'le', key: 'bytes', value: 10 },
    { kind: 'lt', key: 'x', value: 3 },
  ]);
  t.same(parseQuery('path="/a b"'), [{ kind: 'eq', key: 'path', value: '/a b' }]);
  t.same(parseQuery('=x (a+)+$'), [
    { kind: 'text', text: '=x' },
    { kind: 'text', text: '(a+)+$' },
  ]);
  for (const [q, why] of [
    ['status>=abc', /needs a number/],
    ['"open', /unclosed/],
    ['a '.repeat(QUERY_LIMITS.terms + 1), /more than 16 terms/],
    ['x'.repeat(QUERY_LIMITS.chars + 1), /longer than 512/],
  ] as const) {
    let err: unknown;
    try {
      parseQuery(q);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof QueryError, `${q.slice(0, 20)}: a QueryError`);
    t.match((err as Error).message, why);
  }
});

t.test('logfmt pairs: quoted values with escapes, bare words skipped, the first of a key wins', async (t) => {
  const p = logfmtPairs('at=info bare msg="say \\"hi\\" now" n=1 n=2 empty= end');
  t.same(
    [...p],
    [
      ['at', 'info'],
      ['msg', 'say "hi" now'],
      ['n', '1'],
      ['empty', ''],
    ],
  );
  t.same(
    [leadingNumber('1500ms'), leadingNumber('0.5s'), leadingNumber('-3'), leadingNumber('ms')],
    [1500, 0.5, -3, NaN],
  );
});

t.test('matches: comparisons on the leading number, substring, time range, dyno and source', async (t) => {
  const cases: [string, Record<string, unknown>, boolean][] = [
    ['status>=500', {}, true],
    ['status>=504', {}, false],
    ['service>1000', {}, true],
    ['service>1500', {}, false],
    ['connect<2 method=GET', {}, true],
    ['method=POST', {}, false],
    ['missing>1', {}, false],
    ['dyno!=web.2', {}, true],
    ['path="/a b"', {}, true],
    ['"service=1500ms status"', {}, true],
    ['(a+)+$', {}, false],
  ];
  for (const [q, extra, want] of cases) t.equal(matches({ terms: parseQuery(q), ...extra }, line(ROUTER)), want, q);
  const l = line('hello', { time: '2026-11-26T10:00:05.000000+00:00', source: 'app', ps: 'web.10' });
  t.equal(matches({ since: '2026-11-26T10:00:05.000000+00:00', until: '2026-11-26T10:00:06.000000+00:00' }, l), true);
  t.equal(matches({ since: '2026-11-26T10:00:05.000001+00:00' }, l), false);
  t.equal(matches({ until: '2026-11-26T10:00:04.999999+00:00' }, l), false);
  t.equal(matches({ ps: 'web' }, l), true);
  t.equal(matches({ ps: 'web.1' }, l), false);
  t.equal(matches({ source: 'heroku' }, l), false);
});

const post = (node: TestNode, token: string, frames: string[]): Promise<void> => sendFrames(node.base, token, frames);

const at = (s: number): string => `2026-11-26T10:00:${String(s).padStart(2, '0')}.000000+00:00`;

for (const store of ['memory', 'redis'] as const) {
  t.test(`${store}: history search by substring, key=value, comparison and time range, with filters`, async (t) => {
    const prefix = store === 'redis' ? await prefixFor(t) : undefined;
    if (store === 'redis' && prefix === undefined) return;
    const node = await startNode(t, { store, ...(prefix ? { prefix } : {}) });
    const ch = await node.channel();
    await post(node, ch.tokens.heroku!, [
      logplexMsg(ch.tokens.heroku!, 'router', 'at=info method=GET path="/" dyno=web.1 service=12ms status=200', at(1)),
      logplexMsg(
        ch.tokens.heroku!,
        'router',
        'at=error code=H12 method=POST path="/slow" dyno=web.2 service=30001ms status=503',
        at(2),
      ),
      logplexMsg(
        ch.tokens.heroku!,
        'router',
        'at=info method=GET path="/big" dyno=web.1 service=1500ms status=200',
        at(3),
      ),
    ]);
    await post(node, ch.tokens.app!, [
      logplexMsg(ch.tokens.app!, 'web.1', 'connection reset by peer', at(4)),
      logplexMsg(ch.tokens.app!, 'web.2', 'connection reset by peer', at(5)),
      logplexMsg(ch.tokens.app!, 'web.2', 'all good', at(6)),
    ]);
    const search = async (body: Record<string, unknown>) =>
      (await readHistory(node, { channel_id: ch.id, ...body })).map((l) => l.slice(l.indexOf(': ') + 2));
    t.same(await search({ q: 'reset' }), ['connection reset by peer', 'connection reset by peer']);
    t.same(await search({ q: 'reset', dyno: 'web.2' }), ['connection reset by peer']);
    t.match(await search({ q: 'status>=500' }), [/code=H12/]);
    t.match(await search({ q: 'service>1000' }), [/path="\/slow"/, /path="\/big"/]);
    t.match(await search({ q: 'service>1000 method=GET' }), [/path="\/big"/]);
    t.match(await search({ q: 'service>1000', num: 1 }), [/path="\/big"/], 'num: the newest matches');
    t.same(await search({ since: at(4), until: at(5) }), ['connection reset by peer', 'connection reset by peer']);
    t.same(await search({ q: 'reset', since: at(5) }), ['connection reset by peer']);
    t.same(await search({ q: 'reset', source: 'heroku' }), []);
    const bad = await node.api('POST', '/v2/sessions', { channel_id: ch.id, q: 'status>=x' });
    t.match(bad, { status: 400, body: { id: 'invalid_params', message: /"q": .*needs a number/ } });
    const badTime = await node.api('POST', '/v2/sessions', { channel_id: ch.id, since: 'yesterday' });
    t.match(badTime, { status: 400, body: { message: /"since"/ } });
  });
}

t.test('a live search shows only the live lines that match', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  const s = await node.api('POST', '/v2/sessions', { channel_id: ch.id, num: 0, tail: true, q: 'status>=500' });
  const res = await request(s.body.url);
  t.teardown(() => res.body.destroy());
  const got = collectText(res.body, 2);
  for (let i = 0; i < 4; i++)
    await sendLines(node, ch.tokens.heroku!, [
      ['router', `at=info status=200 n=${i}`],
      ['router', `at=error status=50${i} n=${i}`],
    ]);
  const lines = await got;
  t.match(lines, [/status=500 n=0$/, /status=501 n=1$/]);
});

t.test('since as an age (10m) covers recent lines and not older ones', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  await post(node, ch.tokens.app!, [
    logplexMsg(ch.tokens.app!, 'web.1', 'old', '2020-01-01T00:00:00.000000+00:00'),
    logplexMsg(ch.tokens.app!, 'web.1', 'now', new Date().toISOString()),
  ]);
  t.match(await readHistory(node, { channel_id: ch.id, since: '10m' }), [/: now$/]);
});

for (const store of ['memory', 'redis'] as const) {
  t.test(`${store}: a search reads back across pages to the start of the retained log`, async (t) => {
    const prefix = store === 'redis' ? await prefixFor(t) : undefined;
    if (store === 'redis' && prefix === undefined) return;
    const node = await startNode(t, {
      store,
      ...(prefix ? { prefix } : {}),
      env: { LOGPLEX_HISTORY_LINES: '20000' },
    });
    const ch = await node.channel();
    const wanted = new Set([3, 4_999, 5_000, 5_001, 11_999]);
    for (let i = 1; i <= 12_000; i += 3_000)
      await node.store.append(
        ch.id,
        Array.from({ length: 3_000 }, (_, k) => ({
          time: at(1),
          pri: 134,
          source: 'app',
          ps: 'web.1',
          msg: wanted.has(i + k) ? `needle ${i + k}` : `hay ${i + k}`,
        })),
      );
    const found = async (num: number) =>
      (await readHistory(node, { channel_id: ch.id, q: 'needle', num })).map((l) =>
        Number(/needle (\d+)$/.exec(l)?.[1]),
      );
    t.same(await found(100), [3, 4_999, 5_000, 5_001, 11_999], 'every match, oldest first');
    t.same(await found(2), [5_001, 11_999], 'num: the newest matches');
    t.same(await found(4), [4_999, 5_000, 5_001, 11_999]);
  });
}
