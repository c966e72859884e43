// A Redis that comes back empty (restarted without persistence), under two Logplex nodes
// (design.md §Scale-out): the nodes say so (metric, log line, /readyz) instead of answering every
// dyno's lines 401, hold those lines back as a store failure (HTTP 503, syslog counted for L12),
// and `switchyard logplex --reseed` on one of them writes channels, tokens and drains back; both
// are whole again. A private redis-server is restarted empty under them.
import { connect } from 'node:net';
import t from 'tap';
import { request } from 'undici';
import { createLogger } from '../../src/shared/log';
import { encodeFrame } from '../../src/shared/syslog/frame';
import { runCli } from '../cli/run';
import {
  API_TOKEN,
  eventually,
  logplexMsg,
  prefixFor,
  readHistory,
  startNode,
  type TestNode,
} from '../fixtures/logplex';
import { ownRedisFor } from '../fixtures/redis-server';

const post = async (node: TestNode, token: string, msg: string): Promise<number> => {
  const res = await request(`${node.base}/logs`, {
    method: 'POST',
    headers: {
      'content-type': 'application/logplex-1',
      authorization: 'Basic ' + Buffer.from(`token:${token}`).toString('base64'),
    },
    body: encodeFrame(logplexMsg(token, 'web.1', msg)),
  });
  await res.body.dump();
  return res.statusCode;
};

const metric = async (node: TestNode, name: string): Promise<number> =>
  Number(
    new RegExp(`switchyard_logplex_${name}\\{service="logplex"\\} (\\d+)`).exec(await node.registry.metrics())?.[1],
  );

t.test('a Redis that comes back empty: reported, lines held back, --reseed writes it back', async (t) => {
  const redis = await ownRedisFor(t);
  if (!redis) return;
  const logs: string[] = [];
  const log = createLogger({ write: (line) => logs.push(line) });
  const prefix = 'sytest:lp-reset:';
  const a = await startNode(t, { store: 'redis', redisUrl: redis.url, prefix, log });
  const b = await startNode(t, { store: 'redis', redisUrl: redis.url, prefix });
  for (const n of [a, b]) await eventually(async () => (await n.api('GET', '/readyz')).status === 200, 10_000, 'ready');
  const ch = await a.channel(['app', 'heroku']);
  const token = ch.tokens.app!;
  const drain = await a.api('POST', `/v2/channels/${ch.id}/drains`, { url: 'syslog://127.0.0.1:9' });
  t.equal(drain.status, 201);
  t.equal(await post(a, token, 'before'), 204);
  // B never served this channel: it learns it from its background walk.
  await eventually(async () => (await metric(b, 'known_drains')) === 1, 10_000, 'B knows the channel and its drain');
  t.equal(await metric(a, 'known_channels'), 1);

  await redis.stop();
  await redis.wipe();
  await redis.start();
  for (const n of [a, b]) {
    const ready = await eventually(
      async () => (await n.api('GET', '/readyz')).body,
      (body: any) => body?.reason === 'store_reset',
      15_000,
    );
    t.match(ready, { status: 'not_ready', reason: 'store_reset', found: null, missing: 2 }, 'readyz names the reset');
    t.equal(await metric(n, 'store_resets_total'), 1, 'counted once');
  }
  t.match(
    logs.join('\n'),
    /at=error msg="log store lost its data \(generation changed\); keeping what this node knows/,
  );
  t.equal(await post(a, token, 'while empty'), 503, 'a known token is a store failure, not 401');
  t.equal(await post(a, 't.00000000-0000-0000-0000-000000000000', 'stranger'), 401, 'an unknown one is still 401');
  const tcp = connect(a.syslogPort, '127.0.0.1');
  tcp.on('error', () => undefined);
  t.teardown(() => tcp.destroy());
  tcp.write(encodeFrame(logplexMsg(token, 'web.2', 'tcp while empty')));
  await eventually(
    async () => /frames_rejected_total\{transport="tcp",reason="store"/.test(await a.registry.metrics()),
    5000,
    'the syslog line counted as a store failure',
  );

  const cli = await runCli(['logplex', '--reseed'], {
    LOGPLEX_URL: b.base,
    REDIS_URL: redis.url,
    SWITCHYARD_API_TOKEN: API_TOKEN,
  });
  t.equal(cli.code, 0, cli.stderr);
  t.match(JSON.parse(cli.stdout.slice(cli.stdout.indexOf('{'))), { channels: 1, tokens: 2, drains: 1, conflicts: [] });
  for (const n of [a, b]) {
    await eventually(async () => (await n.api('GET', '/readyz')).status === 200, 10_000, 'whole again');
  }
  t.match((await a.api('POST', '/v2/reseed')).body, { id: 'conflict' }, 'nothing left to reseed');
  const back = await a.api('GET', `/v2/channels/${ch.id}`);
  t.same(
    Object.fromEntries(back.body.tokens.map((x: { name: string; token: string }) => [x.name, x.token])),
    ch.tokens,
    'the channel is back with the same tokens',
  );
  t.match(back.body.drains, [{ id: drain.body.id, url: 'syslog://127.0.0.1:9' }], 'the drain is back');
  t.equal(await post(a, token, 'after'), 204, 'the same token works again');
  const lines = await eventually(
    async () => readHistory(a, { channel_id: ch.id, num: 10 }),
    (h: string[]) => h.some((l) => l.includes('Error L12')) && h.some((l) => l.endsWith('after')),
    10_000,
  );
  t.match(
    lines.find((l) => l.includes('Error L12')),
    /Error L12 \(local buffer overflow\): 1 messages dropped since/,
    'the syslog line dropped meanwhile is told in-band',
  );
  const next = await a.api('POST', '/v2/channels', { name: 'later', tokens: ['app'] });
  t.ok(next.body.channel_id > drain.body.id, 'ids go on past every id the store had');
});

// What a node remembers follows the store (design.md §Scale-out): a channel made on another node is
// learned by the background walk, and forgotten once it was deleted there, so a reseed never
// brings back what an operator removed.
t.test('a node learns channels made elsewhere and forgets those deleted elsewhere', async (t) => {
  const prefix = await prefixFor(t);
  if (prefix === undefined) return;
  const a = await startNode(t, { store: 'redis', prefix });
  const b = await startNode(t, { store: 'redis', prefix });
  const ch = await a.channel(['app']);
  await eventually(async () => (await metric(b, 'known_channels')) === 1, 10_000, 'B learned the channel');
  t.equal((await a.api('DELETE', `/v2/channels/${ch.id}`)).status, 200);
  t.equal(await metric(a, 'known_channels'), 0, 'the node that deleted it forgets it at once');
  await eventually(async () => (await metric(b, 'known_channels')) === 0, 10_000, 'B forgot it after its walk');
  t.equal((await b.api('POST', '/v2/reseed')).status, 409, 'nothing to reseed on a whole store');
});
