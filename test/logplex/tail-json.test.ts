// Structure kept (design.md §Tail sessions, §Drains): a JSON tail (HTTP NDJSON and WebSocket)
// gives each line's fields — time, source, ps, msgid, structured data, message, and for router
// lines the parsed logfmt keys — and the sender's STRUCTURED-DATA and MSGID survive from ingest
// through history, tails and syslog drains (a `token` SD-PARAM, a secret, is never kept).
import { connect } from 'node:net';
import t from 'tap';
import { request } from 'undici';
import { WebSocket } from 'ws';
import { encodeFrame } from '../../src/shared/syslog/frame';
import { parseSyslog, SyslogParseError } from '../../src/shared/syslog/rfc5424';
import { eventually, prefixFor, sendLines, startNode, type TestNode } from '../fixtures/logplex';
import { syslogSink } from '../fixtures/sinks';

const TIME = '2026-11-26T10:00:00.123456+00:00';

async function sendTcp(node: TestNode, frames: string[]): Promise<void> {
  const sock = connect(node.syslogPort, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  sock.end(Buffer.concat(frames.map((f) => encodeFrame(f))));
  await new Promise((r) => sock.once('close', r));
}

for (const store of ['memory', 'redis'] as const) {
  t.test(`${store}: SD and MSGID kept through history (JSON), WebSocket JSON and a syslog drain`, async (t) => {
    const prefix = store === 'redis' ? await prefixFor(t) : undefined;
    if (store === 'redis' && prefix === undefined) return;
    const node = await startNode(t, { store, ...(prefix ? { prefix } : {}) });
    const ch = await node.channel();
    const sink = await syslogSink();
    t.teardown(() => sink.close());
    t.equal(
      (await node.api('POST', `/v2/channels/${ch.id}/drains`, { url: `syslog://127.0.0.1:${sink.port}` })).status,
      201,
    );
    const s = await node.api('POST', '/v2/sessions', { channel_id: ch.id, num: 0, tail: true, format: 'json' });
    const ws = new WebSocket(s.body.url.replace(/^http/, 'ws'));
    t.teardown(() => ws.terminate());
    const live: Record<string, any>[] = [];
    ws.on('message', (d) => live.push(JSON.parse(String(d))));
    await new Promise((r) => ws.once('open', r));
    const token = ch.tokens.app!;
    await sendTcp(node, [
      `<134>1 ${TIME} host worker web.3 req42 [meta@32473 region="eu" note="a \\"q\\""][origin@1 token="${token}" ip="10.0.0.1"] hello structured`,
    ]);
    const want = {
      time: TIME,
      source: 'worker',
      ps: 'web.3',
      msgid: 'req42',
      sd: { 'meta@32473': { region: 'eu', note: 'a "q"' }, 'origin@1': { ip: '10.0.0.1' } },
      msg: 'hello structured',
    };
    const [got] = await eventually(() => (live.length ? live : undefined));
    t.match(got, { id: /^\d+$/, ...want }, 'WebSocket JSON');
    t.notMatch(JSON.stringify(got), token, 'the token is never kept');
    const res = await request((await node.api('POST', '/v2/sessions', { channel_id: ch.id, format: 'json' })).body.url);
    t.match(res.headers['content-type'], /^application\/x-ndjson/);
    const history = (await res.body.text())
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    t.match(history, [want], 'history as NDJSON');
    await sink.until((f) => f.length >= 1);
    const m = parseSyslog(Buffer.from(sink.frames[0]!));
    if (m instanceof SyslogParseError) throw m;
    t.same(
      [m.msgId, m.sd, m.msg.toString()],
      [
        'req42',
        [
          {
            id: 'meta@32473',
            params: [
              ['region', 'eu'],
              ['note', 'a "q"'],
            ],
          },
          { id: 'origin@1', params: [['ip', '10.0.0.1']] },
        ],
        'hello structured\n',
      ],
      'the syslog drain carries the same structure',
    );
  });
}

t.test('router lines in JSON mode carry their logfmt keys as fields', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  await sendLines(node, ch.tokens.heroku!, [['router', 'at=info method=GET path="/a b" service=12ms status=200']]);
  await sendLines(node, ch.tokens.app!, [['web.1', 'a=b plain app line']]);
  const res = await request((await node.api('POST', '/v2/sessions', { channel_id: ch.id, format: 'json' })).body.url);
  const [router, app] = (await res.body.text())
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  t.same(router.fields, { at: 'info', method: 'GET', path: '/a b', service: '12ms', status: '200' });
  t.match(router, { source: 'heroku', ps: 'router', pri: 134 });
  t.notOk('fields' in app, 'only router lines are parsed');
});
