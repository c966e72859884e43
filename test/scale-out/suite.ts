// One suite for every multi-node topology (design.md §Scale-out): the router's and Logplex's
// store contracts, the cross-node behaviours, and a master failover in the middle of traffic, on
// a real Redis Cluster (cluster.test.ts) or Sentinel group (sentinel.test.ts) the file starts.
// The topology is started once per file and shared by every test in it; each test has its own
// key prefix, and the topology's processes and directories go in teardown.
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { request } from 'undici';
import { WebSocket } from 'ws';
import { RedisDrainStore } from '../../src/logplex/drains/store/redis';
import { RedisLogStore } from '../../src/logplex/store/redis';
import { RedisRouteStore } from '../../src/router/store/redis';
import { closeRedis, createRedis } from '../../src/shared/redis';
import { startDyno } from '../fixtures/dyno';
import { readHistory, sendLines, startNode } from '../fixtures/logplex';
import { eventually, startTestRouter } from '../fixtures/router';
import { drainStoreContract } from '../logplex/drains-store.contract';
import { storeContract as logStoreContract } from '../logplex/store.contract';
import { storeContract as routeStoreContract } from '../router/store.contract';

export interface Topology {
  url: string;
  /** Fails the master that holds `key` over to its replica; resolves once the replica serves. */
  failover(key: string): Promise<void>;
  destroy(): Promise<void>;
}

const freshPrefix = (): string => `sytest:${randomBytes(6).toString('hex')}:`;

export function scaleOutSuite(t: Test, name: string, start: () => Promise<Topology | undefined>): void {
  let topo: Topology | undefined;
  t.before(async () => {
    topo = await start();
    if (!topo && process.env.CI === 'true')
      t.fail(`${name}: redis-server or redis-cli missing (CI=true requires them)`);
  });
  t.teardown(() => topo?.destroy());
  /** The topology, or undefined (the test then ends: tools missing outside CI). */
  const on = (t: Test): Topology | undefined => {
    if (!topo) t.pass(`skipped: no ${name} (redis-server/redis-cli not installed)`);
    return topo;
  };

  routeStoreContract(t, async (t) => {
    const tp = on(t);
    if (!tp) return undefined;
    const store = new RedisRouteStore(tp.url, freshPrefix());
    t.teardown(() => store.close());
    return store;
  });

  logStoreContract(t, async (t, historyLines) => {
    const tp = on(t);
    if (!tp) return undefined;
    const redis = createRedis(tp.url);
    const store = new RedisLogStore(redis, { prefix: freshPrefix(), historyLines });
    t.teardown(async () => {
      await store.close();
      await closeRedis(redis);
    });
    return store;
  });

  drainStoreContract(t, async (t, historyLines) => {
    const tp = on(t);
    if (!tp) return undefined;
    const redis = createRedis(tp.url);
    const prefix = freshPrefix();
    const log = new RedisLogStore(redis, { prefix, historyLines });
    t.teardown(async () => {
      await log.close();
      await closeRedis(redis);
    });
    return { log, drains: new RedisDrainStore(redis, { prefix }) };
  });

  t.test(`${name}: two Logplex nodes share channels and history; list and delete work across slots`, async (t) => {
    const tp = on(t);
    if (!tp) return;
    const prefix = freshPrefix();
    const a = await startNode(t, { store: 'redis', redisUrl: tp.url, prefix });
    const b = await startNode(t, { store: 'redis', redisUrl: tp.url, prefix });
    await eventually(async () => (await a.api('GET', '/readyz')).status === 200, 10_000, 'node A ready');
    // Several channels: their keys land in several slots (several masters).
    const channels = [];
    for (let i = 0; i < 5; i++) channels.push(await a.channel(['app', 'heroku']));
    const listed = await b.api('GET', '/v2/channels');
    t.equal(listed.status, 200, 'the list answers on the other node');
    t.same((listed.body as { channel_id: number }[]).map((c) => c.channel_id).sort(), channels.map((c) => c.id).sort());
    for (const ch of channels) await sendLines(a, ch.tokens.app!, [['web.1', `hello ${ch.id}`]]);
    for (const ch of channels) {
      const lines = await readHistory(b, { channel_id: ch.id, num: 10 });
      t.match(lines[0], new RegExp(`hello ${ch.id}$`), `history of channel ${ch.id} read on B`);
    }
    const gone = channels[2]!;
    t.equal((await b.api('DELETE', `/v2/channels/${gone.id}`)).status, 200, 'delete across slots');
    t.equal((await a.api('GET', `/v2/channels/${gone.id}`)).status, 404);
  });

  t.test(`${name}: a line ingested on one node reaches a tail on the other`, async (t) => {
    const tp = on(t);
    if (!tp) return;
    const prefix = freshPrefix();
    const a = await startNode(t, { store: 'redis', redisUrl: tp.url, prefix });
    const b = await startNode(t, { store: 'redis', redisUrl: tp.url, prefix });
    const ch = await a.channel(['app']);
    const s = await b.api('POST', '/v2/sessions', { channel_id: ch.id, tail: true, num: 0 });
    t.equal(s.status, 201);
    const ws = new WebSocket(String(s.body.url).replace(/^http/, 'ws'));
    t.teardown(() => ws.terminate());
    const got = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
    await new Promise((r) => ws.once('open', r));
    // B subscribes when the session opens: send until the live line shows (bounded).
    let i = 0;
    const timer = setInterval(() => void sendLines(a, ch.tokens.app!, [['web.1', `live ${++i}`]]), 100);
    const first = await Promise.race([got, new Promise<string>((r) => setTimeout(() => r('none in 10 s'), 10_000))]);
    clearInterval(timer);
    t.match(first, /app\[web\.1\]: live \d+$/);
  });

  t.test(`${name}: the drain scheduler finds every drain, whatever its slot`, async (t) => {
    const tp = on(t);
    if (!tp) return;
    const prefix = freshPrefix();
    const a = await startNode(t, { store: 'redis', redisUrl: tp.url, prefix });
    const b = await startNode(t, { store: 'redis', redisUrl: tp.url, prefix });
    for (let i = 0; i < 6; i++) {
      const ch = await a.channel(['app']);
      // A receiver nobody listens on: the runners only need to exist.
      const r = await a.api('POST', `/v2/channels/${ch.id}/drains`, { url: `syslog://127.0.0.1:${9 + i}` });
      t.equal(r.status, 201, `drain ${i + 1} created`);
    }
    a.drains.scheduler.kick();
    b.drains.scheduler.kick();
    await eventually(
      () => a.drains.scheduler.owned.length + b.drains.scheduler.owned.length === 6,
      15_000,
      'all 6 drains owned',
    );
    t.equal(new Set([...a.drains.scheduler.owned, ...b.drains.scheduler.owned]).size, 6, 'each by one node');
  });

  t.test(`${name}: two routers see each other's changes`, async (t) => {
    const tp = on(t);
    if (!tp) return;
    const prefix = freshPrefix();
    const a = (await startTestRouter(t, { store: 'redis', redisUrl: tp.url, prefix }))!;
    const b = (await startTestRouter(t, { store: 'redis', redisUrl: tp.url, prefix }))!;
    await eventually(() => a.node.table.state.ready && b.node.table.state.ready, 10_000, 'both ready');
    for (const app of ['one', 'two', 'three']) {
      t.equal((await a.api('PUT', `/v1/apps/${app}`, {})).status, 201);
      await a.api('PUT', `/v1/apps/${app}/dynos/web.1`, { host: '127.0.0.1', port: 5001, ttl_s: 60 });
    }
    await eventually(
      () => ['one', 'two', 'three'].every((app) => b.node.table.table.app(app)?.routable.length === 1),
      5_000,
      'B routes every app made through A',
    );
    t.same((await b.api('GET', '/v1/apps')).body.apps, ['one', 'three', 'two']);
  });

  t.test(`${name}: a master failover in the middle of traffic`, async (t) => {
    const tp = on(t);
    if (!tp) return;
    const prefix = freshPrefix();
    const lp = await startNode(t, { store: 'redis', redisUrl: tp.url, prefix });
    const r = (await startTestRouter(t, { store: 'redis', redisUrl: tp.url, prefix }))!;
    await eventually(() => r.node.table.state.ready, 10_000, 'router ready');
    const dyno = await startDyno(t);
    t.equal((await r.api('PUT', '/v1/apps/fail-over', {})).status, 201);
    const reg = await r.api('PUT', '/v1/apps/fail-over/dynos/web.1', { host: '127.0.0.1', port: dyno.port, ttl_s: 60 });
    t.equal(reg.status, 201, 'dyno registered');
    await eventually(() => r.node.table.table.app('fail-over')?.routable.length === 1, 5_000, 'dyno routable');
    const ch = await lp.channel(['app']);

    let stop = false;
    const acked: string[] = [];
    const statuses = { proxied: new Map<number, number>(), api: new Map<number, number>() };
    const count = (m: Map<number, number>, s: number): void => void m.set(s, (m.get(s) ?? 0) + 1);
    // Traffic: requests through the router, heartbeats, and log lines, until the failover is done.
    const traffic = (async () => {
      for (let i = 0; !stop && i < 10_000; i++) {
        const res = await request(`http://127.0.0.1:${r.node.port}/`, { headers: { host: 'fail-over.localhost' } });
        await res.body.dump();
        count(statuses.proxied, res.statusCode);
        const hb = await r.api('PUT', '/v1/apps/fail-over/dynos/web.1', {
          host: '127.0.0.1',
          port: dyno.port,
          ttl_s: 60,
        });
        count(statuses.api, hb.status);
        const msg = `line ${i}`;
        try {
          await sendLines(lp, ch.tokens.app!, [['web.1', msg]]);
          acked.push(msg);
        } catch (err) {
          // Refused lines are the sender's to retry: only 503 is an acceptable refusal.
          t.match(String(err), /POST \/logs: 503/, 'a refused line is a 503, never a 500');
        }
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    await new Promise((res) => setTimeout(res, 300));
    await tp.failover(`${prefix}channel:{${ch.id}}:log`);
    const afterFailover = acked.length;
    // Traffic goes on a little on the new master, then stops.
    await eventually(() => acked.length >= afterFailover + 5, 15_000, 'lines acked after the failover');
    stop = true;
    await traffic;

    t.same([...statuses.proxied.keys()], [200], 'every proxied request answered 200 from the table');
    t.notOk(statuses.api.has(500), 'the control API never answered 500');
    t.ok((statuses.api.get(200) ?? 0) > 0, 'heartbeats answered 200');
    t.same(
      [...statuses.api.keys()].filter((s) => s !== 200 && s !== 503),
      [],
      'only 200 or 503',
    );
    const history = new Set(
      (await readHistory(lp, { channel_id: ch.id, num: 1500 })).map((l) => l.slice(l.lastIndexOf(': ') + 2)),
    );
    const lostAfter = acked.slice(afterFailover).filter((m) => !history.has(m));
    t.same(lostAfter, [], 'every line acked after the failover is in the history');
    const lostBefore = acked.slice(0, afterFailover).filter((m) => !history.has(m));
    t.comment(`acked ${acked.length}, missing from before the failover: ${lostBefore.length}`);
    t.ok(lostBefore.length <= 1, 'at most one line lost to asynchronous replication');
  });
}
