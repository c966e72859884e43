// LogplexClient against a real node:http server on port 0 that records what arrives.
import http from 'node:http';
import net from 'node:net';
import t from 'tap';
import { LogplexBatchError, LogplexClient } from '../../src/shared/logplex-client';
import { splitBody } from '../../src/shared/syslog/frame';
import { parseSyslog, SyslogMessage, SyslogParseError } from '../../src/shared/syslog/rfc5424';

interface Post {
  headers: http.IncomingHttpHeaders;
  url: string;
  messages: SyslogMessage[];
}

interface Sink {
  url: string;
  posts: Post[];
  /** Highest number of POSTs in flight at once for one token. */
  maxConcurrent: Map<string, number>;
}

/** A Logplex stand-in: records each POST, answers `status`, holds each answer `holdMs` so concurrency would show. */
async function startSink(
  t: { teardown(fn: () => unknown): void },
  opts: { status?: number; holdMs?: number } = {},
): Promise<Sink> {
  const sink: Sink = { url: '', posts: [], maxConcurrent: new Map() };
  const current = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    current.set(auth, (current.get(auth) ?? 0) + 1);
    sink.maxConcurrent.set(auth, Math.max(sink.maxConcurrent.get(auth) ?? 0, current.get(auth)!));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { frames, error } = splitBody(Buffer.concat(chunks));
      const messages = frames
        .map((f) => parseSyslog(f.frame))
        .filter((m): m is SyslogMessage => !(m instanceof SyslogParseError));
      if (error || messages.length !== frames.length) res.statusCode = 400;
      sink.posts.push({ headers: req.headers, url: req.url ?? '', messages });
      setTimeout(() => {
        current.set(auth, current.get(auth)! - 1);
        res.statusCode = opts.status ?? 204;
        res.end();
      }, opts.holdMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  sink.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return sink;
}

const basic = (token: string): string => 'Basic ' + Buffer.from(`token:${token}`).toString('base64');

t.test('one POST per token per flush, logplex-1 frames with APP-NAME = token', async (t) => {
  const sink = await startSink(t);
  const client = new LogplexClient({ url: sink.url, flushMs: 60_000 });
  t.teardown(() => client.close());
  const time = Date.UTC(2026, 10, 26, 10, 0, 0, 123);
  t.equal(
    client.send({ token: 't.router', procId: 'router', msg: 'at=info method=GET path="/" status=200', time }),
    true,
  );
  t.equal(
    client.send({ token: 't.app', procId: 'web.1', msg: '[INFO] starting', pri: 134, host: 'dyno-host', time }),
    true,
  );
  t.equal(client.send({ token: 't.router', procId: 'router', msg: 'second', time }), true);
  t.same(client.stats, { sent: 0, dropped: 0, queued: 3, failedBatches: 0 });
  await client.flush();

  t.equal(sink.posts.length, 2);
  const router = sink.posts.find((p) => p.headers.authorization === basic('t.router'))!;
  const app = sink.posts.find((p) => p.headers.authorization === basic('t.app'))!;
  t.equal(router.url, '/logs');
  t.equal(router.headers['content-type'], 'application/logplex-1');
  t.equal(router.headers['logplex-msg-count'], '2');
  t.same(
    router.messages.map((m) => [m.appName, m.procId, m.hostname, m.pri, m.timestamp, m.msg.toString()]),
    [
      ['t.router', 'router', 'host', 190, '2026-11-26T10:00:00.123000+00:00', 'at=info method=GET path="/" status=200'],
      ['t.router', 'router', 'host', 190, '2026-11-26T10:00:00.123000+00:00', 'second'],
    ],
  );
  t.equal(app.headers['logplex-msg-count'], '1');
  t.same(
    app.messages.map((m) => [m.appName, m.procId, m.hostname, m.pri, m.msg.toString()]),
    [['t.app', 'web.1', 'dyno-host', 134, '[INFO] starting']],
    'a message starting with "[" survives: STRUCTURED-DATA is written as -',
  );
  t.same(client.stats, { sent: 3, dropped: 0, queued: 0, failedBatches: 0 });
});

t.test('the flush timer sends without an explicit flush', async (t) => {
  const sink = await startSink(t);
  const client = new LogplexClient({ url: sink.url + '/base/', flushMs: 5 });
  t.teardown(() => client.close());
  client.send({ token: 't.a', procId: 'web.1', msg: 'timer' });
  for (let i = 0; i < 500 && client.stats.sent === 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(client.stats.sent, 1);
  t.equal(sink.posts[0]!.url, '/base/logs', 'a path in LOGPLEX_URL is kept');
});

t.test('batches of maxBatch, one POST in flight per token', async (t) => {
  const sink = await startSink(t, { holdMs: 20 });
  const client = new LogplexClient({ url: sink.url, flushMs: 60_000, maxBatch: 100 });
  t.teardown(() => client.close());
  for (let i = 0; i < 250; i++) client.send({ token: 't.one', procId: 'web.1', msg: `line ${i}` });
  for (let i = 0; i < 30; i++) client.send({ token: 't.two', procId: 'web.2', msg: `other ${i}` });
  await client.flush();
  const one = sink.posts.filter((p) => p.headers.authorization === basic('t.one'));
  t.same(
    one.map((p) => p.messages.length),
    [100, 100, 50],
  );
  t.same(
    one.flatMap((p) => p.messages.map((m) => m.msg.toString())),
    Array.from({ length: 250 }, (_, i) => `line ${i}`),
    'order kept',
  );
  t.equal(sink.maxConcurrent.get(basic('t.one')), 1, 'never two POSTs at once for one token');
  t.equal(client.stats.sent, 280);
});

t.test('Logplex away: lines are dropped and counted, not queued', async (t) => {
  // A port that was just bound and closed: connections are refused.
  const gone = net.createServer();
  await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
  const port = (gone.address() as net.AddressInfo).port;
  await new Promise<void>((r) => gone.close(() => r()));

  const errors: LogplexBatchError[] = [];
  const client = new LogplexClient({
    url: `http://127.0.0.1:${port}`,
    flushMs: 60_000,
    onBatchError: (e) => errors.push(e),
  });
  t.teardown(() => client.close());
  for (let i = 0; i < 7; i++) client.send({ token: 't.a', procId: 'router', msg: `x${i}` });
  await client.flush();
  t.same(client.stats, { sent: 0, dropped: 7, queued: 0, failedBatches: 1 });
  t.match(errors, [{ code: 'ECONNREFUSED', token: 't.a', lines: 7 }]);
  t.equal(errors.length, 1);
  t.same(
    errors[0]!.batch.map((l) => l.msg),
    ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6'],
    'the failed batch is handed back',
  );
});

t.test('a non-2xx answer drops the batch and names the status', async (t) => {
  const sink = await startSink(t, { status: 503 });
  const errors: LogplexBatchError[] = [];
  const client = new LogplexClient({ url: sink.url, flushMs: 60_000, onBatchError: (e) => errors.push(e) });
  t.teardown(() => client.close());
  client.send({ token: 't.a', procId: 'router', msg: 'x' });
  await client.flush();
  t.equal(sink.posts.length, 1);
  t.same(client.stats, { sent: 0, dropped: 1, queued: 0, failedBatches: 1 });
  t.match(errors, [{ code: 'HTTP_503', token: 't.a', lines: 1 }]);
  t.equal(errors.length, 1);
});

t.test('a Logplex that never answers costs one timeout per batch, then the lines are dropped', async (t) => {
  const hung = http.createServer(() => undefined); // reads the request, never answers
  await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    hung.closeAllConnections();
    return new Promise<void>((r) => hung.close(() => r()));
  });
  const errors: LogplexBatchError[] = [];
  const url = `http://127.0.0.1:${(hung.address() as net.AddressInfo).port}`;
  const client = new LogplexClient({ url, flushMs: 60_000, timeoutMs: 200, onBatchError: (e) => errors.push(e) });
  t.teardown(() => client.close());
  client.send({ token: 't.a', procId: 'router', msg: 'into the void' });
  await client.flush();
  t.match(errors, [{ code: 'UND_ERR_HEADERS_TIMEOUT', token: 't.a', lines: 1 }]);
  t.equal(errors.length, 1);
  t.same(client.stats, { sent: 0, dropped: 1, queued: 0, failedBatches: 1 });
});

t.test('odd input is repaired into valid frames, never thrown', async (t) => {
  const sink = await startSink(t);
  const client = new LogplexClient({ url: sink.url, flushMs: 60_000 });
  t.teardown(() => client.close());
  t.equal(client.send({ token: 't.a', procId: 'wéb 1', host: '', pri: 999, msg: 'two\nlines ✓' }), true);
  await client.flush();
  t.equal(client.stats.sent, 1, 'the sink parsed it');
  const m = sink.posts[0]!.messages[0]!;
  t.same([m.procId, m.hostname, m.pri, m.msg.toString()], ['w_b_1', '', 190, 'two\nlines ✓']);
});

t.test('the queue is bounded: the oldest lines are dropped and counted', async (t) => {
  const sink = await startSink(t);
  const client = new LogplexClient({ url: sink.url, flushMs: 60_000, maxQueue: 10 });
  t.teardown(() => client.close());
  const kept = Array.from({ length: 25 }, (_, i) => client.send({ token: 't.a', procId: 'web.1', msg: `m${i}` }));
  t.same(kept, [...Array(10).fill(true), ...Array(15).fill(false)], 'send answers false once lines are lost');
  t.same(client.stats, { sent: 0, dropped: 15, queued: 10, failedBatches: 0 });
  await client.flush();
  t.same(
    sink.posts.flatMap((p) => p.messages.map((m) => m.msg.toString())),
    Array.from({ length: 10 }, (_, i) => `m${i + 15}`),
    'the newest 10 were sent',
  );
});

t.test('close flushes what is queued; send after close is refused and counted', async (t) => {
  const sink = await startSink(t);
  const client = new LogplexClient({ url: sink.url, flushMs: 60_000 });
  client.send({ token: 't.a', procId: 'web.1', msg: 'last words' });
  await client.close();
  t.equal(sink.posts.length, 1);
  t.equal(client.send({ token: 't.a', procId: 'web.1', msg: 'too late' }), false);
  t.same(client.stats, { sent: 1, dropped: 1, queued: 0, failedBatches: 0 });
});

t.test('bad options are refused at construction', async (t) => {
  t.throws(() => new LogplexClient({ url: 'http://127.0.0.1:1', maxQueue: 0 }), RangeError);
  t.throws(() => new LogplexClient({ url: 'not a url' }));
});
