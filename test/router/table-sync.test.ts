// The route table follows the store (design.md §Route table): changes through one node reach
// another, leases expire, an old reload never overwrites a newer one, and while Redis is away
// the node keeps its table with leases frozen, says so, and catches up when Redis returns.
import t from 'tap';
import { silentLogger } from '../../src/shared/log';
import { createRegistry } from '../../src/shared/metrics';
import { createRouterMetrics } from '../../src/router/metrics';
import type { RouteStore } from '../../src/router/store/index';
import { MemoryRouteStore } from '../../src/router/store/memory';
import { TableSync } from '../../src/router/table/sync';
import type { AppRecord } from '../../src/router/table/route-table';
import { redisPrefix } from '../fixtures/redis';
import { ownRedisFor } from '../fixtures/redis-server';
import { eventually, startTestRouter } from '../fixtures/router';

const dyno = (port: number, ttl_s = 30, state = 'up') => ({ host: '127.0.0.1', port, ttl_s, state });

t.test('two nodes on one Redis prefix see each other’s changes', async (t) => {
  const prefix = await redisPrefix(t);
  if (!prefix) return;
  const a = await startTestRouter(t, { store: 'redis', prefix });
  const b = await startTestRouter(t, { store: 'redis', prefix });
  if (!a || !b) return;
  await a.api('PUT', '/v1/apps/shared', {});
  await a.api('PUT', '/v1/apps/shared/dynos/web.1', dyno(5001));
  const routableOn = async (n: typeof a, dynos: string[]): Promise<boolean> =>
    JSON.stringify(
      ((await n.api('GET', '/v1/routes/shared.localhost')).body.routable ?? []).map((d: { dyno: string }) => d.dyno),
    ) === JSON.stringify(dynos);
  await eventually(() => routableOn(b, ['web.1']), 2000, 'node B sees the app and dyno made through A');
  await b.api('PUT', '/v1/apps/shared/dynos/web.2', dyno(5002));
  await eventually(() => routableOn(a, ['web.1', 'web.2']), 2000, 'node A sees the dyno registered through B');
  await b.api('PUT', '/v1/apps/shared/domains/shared.example.com');
  await eventually(
    async () => (await a.api('GET', '/v1/routes/shared.example.com')).status === 200,
    2000,
    'domain reaches A',
  );
  await a.api('DELETE', '/v1/apps/shared');
  await eventually(
    async () => (await b.api('GET', '/v1/routes/shared.localhost')).status === 404,
    2000,
    'delete reaches B',
  );
  t.equal(b.node.table.table.app('shared'), undefined);
  t.ok(b.node.table.state.ready);
});

t.test('a dyno whose lease runs out leaves the routable set', async (t) => {
  const r = await startTestRouter(t, { store: 'redis' });
  if (!r) return;
  await r.api('PUT', '/v1/apps/leasy', {});
  await r.api('PUT', '/v1/apps/leasy/dynos/web.1', dyno(5001, 1));
  await r.api('PUT', '/v1/apps/leasy/dynos/web.2', dyno(5002, 60));
  await eventually(() => r.node.table.table.app('leasy')?.routable.length === 2, 2000, 'both routable');
  await eventually(() => r.node.table.table.app('leasy')?.routable.length === 1, 3000, 'web.1 expired');
  t.same(
    r.node.table.table.app('leasy')!.routable.map((d) => d.name),
    ['web.2'],
  );
  t.equal(r.node.table.table.app('leasy')!.app.dynos.length, 2, 'an expired dyno is still listed, just not routable');
});

t.test('a resync that read the store before newer events never undoes them', async (t) => {
  const memory = new MemoryRouteStore();
  t.teardown(() => memory.close());
  // The next full load reads the store at once but returns only when released.
  let hold: Promise<void> | undefined;
  let release: () => void = () => undefined;
  let readDone = false;
  const store: RouteStore = Object.assign(Object.create(memory) as RouteStore, {
    loadAll: async (): Promise<AppRecord[]> => {
      const all = await memory.loadAll();
      readDone = true;
      if (hold) await hold;
      return all;
    },
    loadApp: memory.loadApp.bind(memory),
    subscribe: memory.subscribe.bind(memory),
    onHealth: memory.onHealth.bind(memory),
    generation: memory.generation.bind(memory),
    claimGeneration: memory.claimGeneration.bind(memory),
  });
  const sync = new TableSync({
    store,
    resyncMs: 60_000,
    log: silentLogger,
    metrics: createRouterMetrics(createRegistry('router', { defaults: false })),
  });
  t.teardown(() => sync.close());
  await sync.start();
  await memory.putApp('racy', { balancer: 'random' });
  await memory.putApp('gone', {});
  await eventually(
    () => sync.table.app('racy')?.app.balancer === 'random' && sync.table.app('gone') !== undefined,
    2000,
    'first state',
  );

  hold = new Promise<void>((r) => (release = r));
  readDone = false;
  const resync = sync.resync();
  await eventually(() => readDone, 2000, 'resync read the store');
  await memory.putApp('racy', { balancer: 'round-robin' });
  await memory.deleteApp('gone');
  await memory.putApp('fresh', {});
  await eventually(
    () =>
      sync.table.app('racy')?.app.balancer === 'round-robin' && !sync.table.app('gone') && !!sync.table.app('fresh'),
    2000,
    'events applied',
  );
  release();
  await resync;
  t.equal(sync.table.app('racy')?.app.balancer, 'round-robin', 'the older full load did not overwrite a newer reload');
  t.equal(sync.table.app('gone'), undefined, 'nor resurrect an app deleted after it read');
  t.ok(sync.table.app('fresh'), 'nor drop an app created after it read');
  await sync.resync();
  t.same([...sync.table.apps()].map((e) => e.app.name).sort(), ['fresh', 'racy'], 'the next resync agrees');
});

t.test('Redis stopped and restarted: table kept, leases frozen, degraded, then caught up', async (t) => {
  const redis = await ownRedisFor(t);
  if (!redis) return;
  const r = await startTestRouter(t, { store: 'redis', redisUrl: redis.url, prefix: 'sytest:restart:' });
  if (!r) return;
  await r.api('PUT', '/v1/apps/steady', {});
  const reg = await r.api('PUT', '/v1/apps/steady/dynos/web.1', dyno(5001, 2));
  const leaseEnd = Date.parse(reg.body.lease_expires_at);
  await eventually(
    async () => (await r.api('GET', '/v1/routes/steady.localhost')).body.routable?.length === 1,
    2000,
    'routable',
  );

  const downAt = Date.now();
  await redis.stop();
  await eventually(async () => (await r.api('GET', '/readyz')).status === 503, 5000, '/readyz reports degraded');
  const ready = await r.api('GET', '/readyz');
  t.match(ready.body, { status: 'not_ready', reason: 'store_unreachable', degraded: true, apps: 1 });
  // Past the lease end: a node that cannot see heartbeats must not expire anyone.
  await new Promise((res) => setTimeout(res, Math.max(0, leaseEnd - Date.now()) + 300));
  const route = await r.api('GET', '/v1/routes/steady.localhost');
  t.same(
    route.body.routable.map((d: { dyno: string }) => d.dyno),
    ['web.1'],
    'table kept and lease frozen while Redis is away',
  );
  const metrics = (await r.api('GET', '/metrics')).body as string;
  t.match(metrics, /switchyard_router_degraded\{service="router"\} 1/);
  const stale = Number(/switchyard_router_route_table_stale_seconds\{service="router"\} ([0-9.]+)/.exec(metrics)?.[1]);
  t.ok(stale > 0, `stale seconds reported (${stale})`);
  t.equal((await r.api('PUT', '/v1/apps/other', {})).status, 503, 'writes answer 503 while the store is away');

  await redis.start();
  await eventually(async () => (await r.api('GET', '/readyz')).status === 200, 8000, 'ready again after Redis returns');
  // The lease ran out in Redis while it was away, but no dyno could heartbeat then: every lease
  // gets the outage's length again, so the store's return is no H14 burst.
  const back = await r.api('GET', '/v1/routes/steady.localhost');
  t.same(
    back.body.routable?.map((d: { dyno: string }) => d.dyno),
    ['web.1'],
    'still routable right after the store returns',
  );
  // Without a heartbeat it expires once the outage's length has passed.
  await eventually(
    async () => (await r.api('GET', '/v1/routes/steady.localhost')).body.code === 'H14',
    Date.now() - downAt + 10_000,
    'expired after the grace',
  );
  t.equal((await r.api('PUT', '/v1/apps/steady/dynos/web.2', dyno(5002))).status, 201);
  await eventually(
    async () => (await r.api('GET', '/v1/routes/steady.localhost')).body.routable?.[0]?.dyno === 'web.2',
    2000,
    'a change after restart appears',
  );
  t.match((await r.api('GET', '/metrics')).body, /switchyard_router_degraded\{service="router"\} 0/);
});

t.test('a Redis that comes back empty is not applied; --reseed writes the table back', async (t) => {
  const redis = await ownRedisFor(t);
  if (!redis) return;
  const a = await startTestRouter(t, { store: 'redis', redisUrl: redis.url, prefix: 'sytest:reset:' });
  const b = await startTestRouter(t, { store: 'redis', redisUrl: redis.url, prefix: 'sytest:reset:' });
  if (!a || !b) return;
  await a.api('PUT', '/v1/apps/kept', { maintenance: false, balancer: 'round-robin' });
  await a.api('PUT', '/v1/apps/kept/domains/kept.example.com');
  await a.api('PUT', '/v1/apps/kept/dynos/web.1', dyno(5001, 600));
  await eventually(() => b.node.table.table.app('kept')?.routable.length === 1, 3000, 'B has the app');
  t.equal((await a.api('POST', '/v1/table/reseed')).status, 409, 'nothing to reseed while the store is whole');

  // Redis restarts without its data (no persistence configured): its dump is gone.
  await redis.stop();
  await redis.wipe();
  await redis.start();
  await eventually(async () => (await a.api('GET', '/readyz')).body.reason === 'store_reset', 10_000, 'reset seen');
  await eventually(async () => (await b.api('GET', '/readyz')).body.reason === 'store_reset', 10_000, 'on B too');
  const ready = await b.api('GET', '/readyz');
  t.match(ready.body, { status: 'not_ready', reason: 'store_reset', degraded: true, apps: 1 });
  t.same(
    (await b.api('GET', '/v1/routes/kept.example.com')).body.routable?.map((d: { dyno: string }) => d.dyno),
    ['web.1'],
    'the empty store was not applied: still routing',
  );
  t.match((await b.api('GET', '/metrics')).body, /switchyard_router_store_resets_total\{service="router"\} 1/);

  const done = await a.api('POST', '/v1/table/reseed');
  t.equal(done.status, 200);
  t.match(done.body, { apps: 1, domains: 2, dynos: 1, conflicts: [] });
  await eventually(async () => (await b.api('GET', '/readyz')).status === 200, 10_000, 'B applies the store again');
  await eventually(async () => (await a.api('GET', '/readyz')).status === 200, 10_000, 'A too');
  const app = (await b.api('GET', '/v1/apps/kept')).body;
  t.match(app, { balancer: 'round-robin', domains: ['kept.example.com', 'kept.localhost'] });
  t.equal((await b.api('PUT', '/v1/apps/kept/dynos/web.1', dyno(5001, 600))).status, 200, 'heartbeats land again');
});
