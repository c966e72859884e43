// POST /v1/logs (design.md §Ingest): the OpenTelemetry JS SDK (@opentelemetry/sdk-logs) with its
// own OTLP/HTTP exporters, protobuf and JSON, logs into a channel with the channel token as its
// credential; the records show up in a live tail, in history and in the channel's drain.
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as JsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import t from 'tap';
import { request } from 'undici';
import { fields, splitFrames } from '../fixtures/drains';
import { collectText, readHistory, startNode } from '../fixtures/logplex';
import { httpSink } from '../fixtures/sinks';

const AT: [number, number] = [1795687200, 123456000]; // 2026-11-26T10:00:00.123456Z

t.test('the SDK with the protobuf exporter: tail, history and drain see every record', async (t) => {
  const sink = await httpSink();
  t.teardown(() => sink.close());
  const node = await startNode(t, { store: 'memory' });
  const ch = await node.channel(['app']);
  t.equal((await node.api('POST', `/v2/channels/${ch.id}/drains`, { url: sink.url })).status, 201);
  const s = await node.api('POST', '/v2/sessions', { channel_id: ch.id, tail: true, num: 0 });
  const tail = await request(s.body.url);
  const live = collectText(tail.body, 2);
  t.teardown(() => tail.body.destroy());

  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'web', 'service.instance.id': 'web.1' }),
    processors: [
      new SimpleLogRecordProcessor({
        exporter: new ProtoExporter({
          url: `${node.base}/v1/logs`,
          headers: { Authorization: `Bearer ${ch.tokens.app}` },
        }),
      }),
    ],
  });
  const logger = provider.getLogger('checkout');
  logger.emit({ timestamp: AT, severityNumber: SeverityNumber.WARN, body: 'cache miss', attributes: { user: 'u 1' } });
  logger.emit({ timestamp: AT, severityNumber: SeverityNumber.ERROR, body: 'payment failed' });
  await provider.forceFlush();
  await provider.shutdown();

  const expected = ['app[web.1]: cache miss user="u 1"', 'app[web.1]: payment failed'];
  t.same(
    (await live).map((l) => l.slice(33)),
    expected,
    'a live tail shows both',
  );
  const history = await readHistory(node, { channel_id: ch.id, num: 10 });
  t.same(
    history.map((l) => l.slice(33)),
    expected,
    'history keeps both',
  );
  t.ok(
    history.every((l) => l.startsWith('2026-11-26T10:00:00.123456+00:00 ')),
    'the record time, microseconds kept',
  );
  await sink.until((d) => d.flatMap((x) => splitFrames(x.body)).length >= 2);
  const frames = sink.deliveries.flatMap((x) => splitFrames(x.body)).map(fields);
  t.same(
    frames.map((f) => [f.pri, f.app, f.proc, f.rest]),
    [
      [23 * 8 + 4, 'app', 'web.1', 'cache miss user="u 1"'],
      [23 * 8 + 3, 'app', 'web.1', 'payment failed'],
    ],
    'the drain gets them, WARN as warning and ERROR as err',
  );
});

t.test('the SDK with the JSON exporter, gzip and a Basic credential', async (t) => {
  const node = await startNode(t, { store: 'memory' });
  const ch = await node.channel(['app']);
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'worker' }),
    processors: [
      new SimpleLogRecordProcessor({
        exporter: new JsonExporter({
          url: `${node.base}/v1/logs`,
          compression: CompressionAlgorithm.GZIP,
          headers: { Authorization: 'Basic ' + Buffer.from(`token:${ch.tokens.app}`).toString('base64') },
        }),
      }),
    ],
  });
  provider.getLogger('jobs').emit({
    timestamp: AT,
    severityNumber: SeverityNumber.INFO,
    body: { job: 'mail', tries: 2 },
    attributes: { 'logplex.process': 'worker.3', ok: true, 'odd key=x': 'v' },
  });
  await provider.forceFlush();
  await provider.shutdown();
  const history = await readHistory(node, { channel_id: ch.id, num: 10 });
  t.same(
    history.map((l) => l.slice(33)),
    ['app[worker.3]: {"job":"mail","tries":2} ok=true odd_key_x=v'],
    'a map body is JSON; logplex.process names the process',
  );
});

t.test('bad requests: 415, 401, 400; answers are ExportLogsServiceResponses', async (t) => {
  const node = await startNode(t, { store: 'memory' });
  const ch = await node.channel(['app']);
  const post = async (headers: Record<string, string>, body: string | Buffer) => {
    const res = await request(`${node.base}/v1/logs`, { method: 'POST', headers, body });
    const challenge = res.headers['www-authenticate'];
    return { status: res.statusCode, type: res.headers['content-type'], challenge, text: await res.body.text() };
  };
  const bearer = { authorization: `Bearer ${ch.tokens.app}` };
  const cases: [string, Record<string, string>, string | Buffer, number, RegExp][] = [
    ['text/plain is not OTLP', { ...bearer, 'content-type': 'text/plain' }, 'x', 415, /application\/x-protobuf/],
    ['no credential', { 'content-type': 'application/json' }, '{}', 401, /Bearer/],
    [
      'unknown token',
      { authorization: 'Bearer t.nope', 'content-type': 'application/json' },
      '{}',
      401,
      /unknown token/,
    ],
    [
      'bytes that are not a request',
      { ...bearer, 'content-type': 'application/x-protobuf' },
      Buffer.from([0x0a, 0xff, 0xff, 0xff]),
      400,
      /not an OTLP ExportLogsServiceRequest \(protobuf\)/,
    ],
    ['JSON of the wrong shape', { ...bearer, 'content-type': 'application/json' }, '{"resourceLogs":5}', 400, /json/],
    ['JSON that is not JSON', { ...bearer, 'content-type': 'application/json' }, '{', 400, /json/],
  ];
  for (const [name, headers, body, status, message] of cases) {
    const r = await post(headers, body);
    t.equal(r.status, status, name);
    t.match(r.text, message, name);
    // Unlike POST /logs, no Basic realm is offered: the API's own 401.
    t.equal(r.challenge, undefined, `${name}: no WWW-Authenticate`);
  }
  const counted = await node.registry.metrics();
  for (const [status, n] of [
    [415, 1],
    [401, 2],
    [400, 3],
  ])
    t.match(counted, `switchyard_logplex_ingest_requests_total{status="${status}",service="logplex"} ${n}`);
  const okJson = await post({ ...bearer, 'content-type': 'application/json' }, '{"resourceLogs":[]}');
  t.same([okJson.status, okJson.type, okJson.text], [200, 'application/json', '{}']);
  const okProto = await post({ ...bearer, 'content-type': 'application/x-protobuf' }, Buffer.alloc(0));
  t.same([okProto.status, okProto.type, okProto.text], [200, 'application/x-protobuf', '']);
});
