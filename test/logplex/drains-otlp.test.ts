// OTLP/HTTP drains (design.md §Drain delivery): what a receiver decodes with the OpenTelemetry
// project's own .proto files, field by field, in protobuf and JSON; custom headers and the
// signature on every POST; 503 with Retry-After retried with the same body; 400 refused for good.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { verifySignature } from '../../src/logplex/drains/sign';
import { eventually } from '../fixtures/drains';
import { sendFrames, startNode, type TestNode } from '../fixtures/logplex';
import { attrs, decodeOtlpRequest, records } from '../fixtures/otlp';
import { httpSink, type HttpSink } from '../fixtures/sinks';
import { createPki } from '../fixtures/tls';

const ROUTER_MSG =
  'at=info method=GET path="/a b" host=demo.localhost request_id=r1 fwd="127.0.0.1" dyno=web.1 connect=1ms service=4ms status=200 bytes=512 protocol=http';

/** Posts `<PRI>1 TIME host TOKEN PS - MSG` frames to /logs. */
const post = (node: TestNode, token: string, lines: [pri: number, time: string, ps: string, msg: string][]) =>
  sendFrames(
    node.base,
    token,
    lines.map(([pri, time, ps, msg]) => `<${pri}>1 ${time} host ${token} ${ps} - ${msg}`),
  );

async function otlpSink(t: Test): Promise<HttpSink> {
  const sink = await httpSink();
  t.teardown(() => sink.close());
  return sink;
}

for (const format of ['protobuf', 'json'] as const) {
  t.test(`every field a receiver decodes (${format})`, async (t) => {
    const sink = await otlpSink(t);
    const node = await startNode(t, { store: 'memory' });
    const ch = await node.channel(['app', 'heroku']);
    const url = `otlp+http://127.0.0.1:${sink.port}${format === 'json' ? '/?format=json' : ''}`;
    const made = await node.api('POST', `/v2/channels/${ch.id}/drains`, { url, headers: { 'x-api-key': 'k-123' } });
    t.equal(made.status, 201, JSON.stringify(made.body));
    t.match(made.body.secret, /^ds\./);
    const before = Date.now();
    await post(node, ch.tokens.app!, [
      [11, '2026-11-26T10:00:00.123456+00:00', 'web.1', 'boom: disk full'], // user.err
      [134, '2026-11-26T10:00:01.000001+00:00', 'worker.2', 'hello'], // local0.info
    ]);
    await post(node, ch.tokens.heroku!, [[158, '2026-11-26T10:00:02.5+00:00', 'router', ROUTER_MSG]]); // local3.info
    await sink.until(
      (d) =>
        d.reduce((n, x) => n + records(decodeOtlpRequest(x.body, x.headers['content-type'] as string)).length, 0) >= 3,
    );
    const d = sink.deliveries[0]!;
    t.equal(d.headers['content-type'], format === 'json' ? 'application/json' : 'application/x-protobuf');
    t.equal(d.headers['x-api-key'], 'k-123', 'the drain header is sent');
    t.ok(
      verifySignature(
        made.body.secret,
        {
          timestamp: d.headers['switchyard-timestamp'] as string,
          signature: d.headers['switchyard-signature'] as string,
        },
        d.body,
      ),
      'the POST is signed with the secret returned at creation',
    );
    const got = sink.deliveries.flatMap((x) => records(decodeOtlpRequest(x.body, x.headers['content-type'] as string)));
    t.equal(got.length, 3);
    for (const g of got) {
      t.same(
        g.resource,
        { 'logplex.channel.id': ch.id, 'service.name': 'test', 'logplex.channel.name': 'test' },
        'the resource names the app',
      );
      t.equal(g.scope, 'switchyard-logplex');
      const observedMs = Number(BigInt(g.record.observedTimeUnixNano) / 1_000_000n);
      t.ok(observedMs >= before - 1000 && observedMs <= Date.now() + 1000, 'observed time is when the drain framed it');
    }
    const [err, info, router] = got.map((g) => g.record);
    t.equal(err.timeUnixNano, '1795687200123456000', 'time keeps its microseconds');
    t.same([err.severityNumber, err.severityText], [17, 'err'], 'syslog err is OTLP ERROR');
    t.same(err.body, { stringValue: 'boom: disk full' });
    t.same(attrs(err.attributes), { 'logplex.source': 'app', 'logplex.process': 'web.1', 'syslog.facility': 1 });
    t.equal(info.timeUnixNano, '1795687201000001000');
    t.same([info.severityNumber, info.severityText], [9, 'info']);
    t.same(attrs(info.attributes), { 'logplex.source': 'app', 'logplex.process': 'worker.2', 'syslog.facility': 16 });
    t.equal(router.timeUnixNano, '1795687202500000000');
    t.same(router.body, { stringValue: ROUTER_MSG });
    t.same(
      attrs(router.attributes),
      {
        'logplex.source': 'heroku',
        'logplex.process': 'router',
        'syslog.facility': 19,
        'router.at': 'info',
        'router.method': 'GET',
        'router.path': '/a b',
        'router.host': 'demo.localhost',
        'router.request_id': 'r1',
        'router.fwd': '127.0.0.1',
        'router.dyno': 'web.1',
        'router.connect': '1ms',
        'router.service': '4ms',
        'router.status': 200,
        'router.bytes': 512,
        'router.protocol': 'http',
      },
      'a router line carries its logfmt fields, numbers as integers',
    );
  });
}

t.test('429 with Retry-After and 503 are retried with the same body; 400 is dropped with L13', async (t) => {
  const sink = await otlpSink(t);
  sink.script = [429, 503];
  sink.replyHeaders = { 'retry-after': '1' };
  const node = await startNode(t, { store: 'memory' });
  const ch = await node.channel(['app']);
  const made = await node.api('POST', `/v2/channels/${ch.id}/drains`, {
    url: `otlp+http://127.0.0.1:${sink.port}/custom/path`,
  });
  await post(node, ch.tokens.app!, [[134, '2026-11-26T10:00:00.000001+00:00', 'web.1', 'once']]);
  await sink.until((d) => d.length >= 3);
  t.same(
    sink.deliveries.map((d) => d.status),
    [429, 503, 200],
  );
  t.ok(
    sink.deliveries.every((d) => d.body.equals(sink.deliveries[0]!.body)),
    'every retry sends the same bytes',
  );
  const status = await eventually(
    () => node.api('GET', `/v2/channels/${ch.id}/drains/${made.body.id}`),
    (r) => r.body.status?.delivered === 1,
  );
  t.match(status.body.status, { delivered: 1, retried: 2, dropped: 0, backlog: 0 });
  t.equal(status.body.status.last_error.code, 'HTTP_503');

  sink.fallback = 400;
  await post(node, ch.tokens.app!, [[134, '2026-11-26T10:00:05.000001+00:00', 'web.1', 'refused']]);
  const dropped = await eventually(
    () => node.api('GET', `/v2/channels/${ch.id}/drains/${made.body.id}`),
    (r) => r.body.status?.dropped === 1,
  );
  t.equal(dropped.body.status.last_error.code, 'HTTP_400');
  const history = await eventually(
    async () => (await node.store.history(ch.id, 10)).map((l) => l.msg),
    (msgs) => msgs.some((m) => m.startsWith('Error L13')),
  );
  t.match(
    history.find((m) => m.startsWith('Error L13')),
    /drain \d+: 127\.0\.0\.1:\d+ answered 400/,
  );
});

t.test('drain URLs of the OTLP schemes are checked by their transport', async (t) => {
  const node = await startNode(t, { store: 'memory' });
  const ch = await node.channel(['app']);
  const path = `/v2/channels/${ch.id}/drains`;
  const cases: [string, RegExp][] = [
    ['otlp+http://c.example:4318/?format=xml', /format must be protobuf or json/],
    ['otlp+http://c.example:4318/?key=1', /unknown query parameter "key"/],
    ['otlps+http://c.example/#x', /fragment/],
  ];
  for (const [url, message] of cases) {
    const r = await node.api('POST', path, { url });
    t.same([r.status, r.body.id], [422, 'unprocessable_entity'], url);
    t.match(r.body.message, message);
  }
  const syslogHeaders = await node.api('POST', path, { url: 'syslog://c.example:514', headers: { a: 'b' } });
  t.equal(syslogHeaders.status, 422, 'headers are for HTTP drains only');
  t.equal((await node.api('POST', path, { url: 'otlps+http://c.example' })).status, 201);
});

t.test('otlps+http:// verifies the collector against LOGPLEX_DRAIN_CA_FILE; a wrong name is L14', async (t) => {
  const pki = createPki();
  t.teardown(() => pki.cleanup());
  const dir = mkdtempSync(join(tmpdir(), 'sy-ca-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ca.pem'), pki.ca);
  const good = await httpSink({ tls: pki.server(['IP:127.0.0.1']) });
  const bad = await httpSink({ tls: pki.server(['DNS:elsewhere.example']) });
  t.teardown(() => Promise.all([good.close(), bad.close()]));
  const node = await startNode(t, { store: 'memory', env: { LOGPLEX_DRAIN_CA_FILE: join(dir, 'ca.pem') } });
  const ch = await node.channel(['app']);
  for (const sink of [good, bad])
    await node.api('POST', `/v2/channels/${ch.id}/drains`, { url: `otlps+http://127.0.0.1:${sink.port}` });
  await post(node, ch.tokens.app!, [[134, '2026-11-26T10:00:00.000001+00:00', 'web.1', 'over tls']]);
  await good.until((d) => d.length >= 1);
  const got = records(decodeOtlpRequest(good.deliveries[0]!.body, 'application/x-protobuf'));
  t.same(
    got.map((g) => g.record.body.stringValue),
    ['over tls'],
  );
  const history = await eventually(
    async () => (await node.store.history(ch.id, 10)).map((l) => l.msg),
    (msgs) => msgs.some((m) => m.startsWith('Error L14')),
  );
  t.match(
    history.find((m) => m.startsWith('Error L14')),
    /ERR_TLS_CERT_ALTNAME_INVALID/,
  );
  t.equal(bad.deliveries.length, 0, 'nothing reached the collector whose certificate does not match');
});
