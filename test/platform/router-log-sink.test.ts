// Router lines to Logplex (design.md §How the parts meet): never blocking, bounded, dropped and counted when Logplex
// is away; a line of an app without a channel is counted, not sent. Also the dyno agent's line
// reader: a line is cut at 10 KiB (Logplex's frame limit) so output without '\n' stays bounded.
import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { Registry } from 'prom-client';
import { LogplexAccessLog } from '../../src/cli/platform/router-log-sink';
import { MAX_LINE_BYTES, readLines } from '../../src/cli/platform/line-reader';
import { LogplexClient } from '../../src/shared/logplex-client';

/** A port nothing listens on: bind, note it, close. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

const entry = (app: string, i: number) => ({
  app,
  line: `at=info method=GET path="/${i}" status=200`,
  status: 200,
  code: undefined,
});

t.test('Logplex away: lines are dropped and counted, the queue stays bounded', async (t) => {
  const client = new LogplexClient({
    url: `http://127.0.0.1:${await closedPort()}`,
    maxQueue: 10,
    flushMs: 5,
    timeoutMs: 500,
  });
  t.teardown(() => client.close());
  const registry = new Registry();
  const sink = new LogplexAccessLog(client, (app) => (app === 'hello' ? 't.router-token' : undefined), registry);
  for (let i = 0; i < 25; i++) sink.write(entry('hello', i));
  sink.write(entry('nochannel', 0));
  t.ok(client.stats.queued <= 10, 'queue bounded by maxQueue');
  await client.flush();
  const text = await registry.metrics();
  t.match(text, /switchyard_router_logplex_lines_total\{result="queued"\} 10/);
  t.match(text, /switchyard_router_logplex_lines_total\{result="displaced"\} 15/);
  t.match(text, /switchyard_router_logplex_lines_total\{result="no_channel"\} 1/);
  // Everything is lost in the end (nothing listens): 15 displaced + 10 in the failed batch.
  t.match(text, /switchyard_router_logplex_lines_lost 25/);
  t.equal(client.stats.sent, 0);
});

t.test('line reader: splits on LF, strips CR, cuts lines at 10 KiB, flushes the tail', async (t) => {
  const s = new PassThrough();
  const lines: string[] = [];
  readLines(s, (l) => lines.push(l));
  s.write('one\r\ntw');
  s.write('o\n\nthree');
  s.write(Buffer.alloc(MAX_LINE_BYTES + 5, 'x'));
  s.end('\nlast');
  await new Promise((r) => s.on('end', r));
  t.same(lines.slice(0, 2), ['one', 'two']);
  t.equal(lines[2]!.length, MAX_LINE_BYTES, 'cut at the bound');
  t.ok(lines[2]!.startsWith('three'));
  t.equal(lines[3], 'x'.repeat(10), 'the rest of the long line');
  t.equal(lines[4], 'last', 'a final line without LF is kept');
  t.equal(lines.length, 5);
});
