// The RouteStore contract (design.md §Stores): store-memory.test.ts and store-redis.test.ts both run it,
// so `dev` on the memory store behaves as production on Redis.
import type { Test } from 'tap';
import type { RouteEvent, RouteStore } from '../../src/router/store/index';
import { eventually } from '../fixtures/router';

export type MakeStore = (t: Test) => Promise<RouteStore | undefined>;

export function storeContract(t: Test, make: MakeStore): void {
  t.test('putApp creates with defaults, then updates only the given fields', async (t) => {
    const s = await make(t);
    if (!s) return;
    const first = await s.putApp('hello', {});
    t.equal(first.created, true);
    t.match(first.app, { name: 'hello', maintenance: false, balancer: 'p2c', affinity: false, domains: [], dynos: [] });
    const second = await s.putApp('hello', { maintenance: true, balancer: 'round-robin' });
    t.equal(second.created, false);
    t.match(second.app, { maintenance: true, balancer: 'round-robin', affinity: false });
    const third = await s.putApp('hello', { affinity: true, channel: '42', router_token: 't.abc' });
    t.match(third.app, {
      maintenance: true,
      balancer: 'round-robin',
      affinity: true,
      channel: '42',
      routerToken: 't.abc',
    });
    t.same(await s.listApps(), ['hello']);
  });

  t.test('listApps is sorted and loadAll returns every app', async (t) => {
    const s = await make(t);
    if (!s) return;
    for (const name of ['zeta', 'alpha', 'mid-app']) await s.putApp(name, {});
    t.same(await s.listApps(), ['alpha', 'mid-app', 'zeta']);
    t.same((await s.loadAll()).map((a) => a.name).sort(), ['alpha', 'mid-app', 'zeta']);
    t.equal(await s.loadApp('nope'), undefined);
  });

  t.test('every change publishes {app, version} with a growing version, across delete and re-create', async (t) => {
    const s = await make(t);
    if (!s) return;
    const seen: RouteEvent[] = [];
    t.teardown(s.subscribe((e) => seen.push(e)));
    await (s as { subscribed?: () => Promise<void> }).subscribed?.();
    const v: number[] = [];
    v.push((await s.putApp('evt-app', {})).app.version!);
    await s.attachDomain('evt-app', 'evt.example.com');
    await s.putDyno('evt-app', 'web.1', { host: '127.0.0.1', port: 5000, ttl_s: 30, state: 'up' });
    v.push((await s.loadApp('evt-app'))!.version!);
    await s.deleteApp('evt-app');
    v.push((await s.putApp('evt-app', {})).app.version!);
    await eventually(() => seen.filter((e) => e.app === 'evt-app').length >= 5);
    const versions = seen.filter((e) => e.app === 'evt-app').map((e) => e.version);
    t.equal(versions.length, 5, 'put, attach, dyno, delete, re-create');
    for (let i = 1; i < versions.length; i++)
      t.ok(versions[i]! > versions[i - 1]!, `event ${i} is newer than event ${i - 1}`);
    t.ok(v[0]! < v[1]! && v[1]! < v[2]!, 'loaded versions grow, also after re-create');
    t.equal(versions[4], v[2], 'the event carries the version a reload sees');
  });

  t.test(
    'a domain has one owner: 409-style SY_DOMAIN_TAKEN naming it, free again after detach or delete',
    async (t) => {
      const s = await make(t);
      if (!s) return;
      await s.putApp('owner', {});
      await s.putApp('other', {});
      t.same(await s.attachDomain('owner', 'www.example.com'), { created: true });
      t.same(await s.attachDomain('owner', 'www.example.com'), { created: false }, 'attach is idempotent');
      await t.rejects(s.attachDomain('other', 'www.example.com'), { code: 'SY_DOMAIN_TAKEN', owner: 'owner' });
      t.same((await s.loadApp('owner'))!.domains, ['www.example.com']);
      t.equal(await s.detachDomain('owner', 'www.example.com'), true);
      t.equal(await s.detachDomain('owner', 'www.example.com'), false);
      t.same(await s.attachDomain('other', 'www.example.com'), { created: true });
      await s.attachDomain('other', '*.example.org');
      await s.deleteApp('other');
      t.same(await s.attachDomain('owner', 'www.example.com'), { created: true }, 'deleting the app freed its domains');
      t.same(await s.attachDomain('owner', '*.example.org'), { created: true });
    },
  );

  t.test('writes to a missing app are SY_APP_NOT_FOUND', async (t) => {
    const s = await make(t);
    if (!s) return;
    const dyno = { host: '127.0.0.1', port: 5000, ttl_s: 30, state: 'up' as const };
    await t.rejects(s.attachDomain('ghost', 'ghost.example.com'), { code: 'SY_APP_NOT_FOUND' });
    await t.rejects(s.detachDomain('ghost', 'ghost.example.com'), { code: 'SY_APP_NOT_FOUND' });
    await t.rejects(s.putDyno('ghost', 'web.1', dyno), { code: 'SY_APP_NOT_FOUND' });
    await t.rejects(s.deleteDyno('ghost', 'web.1'), { code: 'SY_APP_NOT_FOUND' });
    t.equal(await s.deleteApp('ghost'), false);
    await s.putApp('taker', {});
    t.same(
      await s.attachDomain('taker', 'ghost.example.com'),
      { created: true },
      'the failed attach left no claim behind',
    );
  });

  t.test('dyno leases: register, heartbeat extends, deregister', async (t) => {
    const s = await make(t);
    if (!s) return;
    await s.putApp('leasy', {});
    const before = Date.now();
    const reg = await s.putDyno('leasy', 'web.1', { host: '127.0.0.1', port: 5001, ttl_s: 30, state: 'starting' });
    t.equal(reg.created, true);
    t.ok(reg.leaseExpiresAt >= before + 30_000 && reg.leaseExpiresAt <= Date.now() + 30_000, 'lease is ttl_s from now');
    const hb = await s.putDyno('leasy', 'web.1', { host: '127.0.0.1', port: 5001, ttl_s: 3600, state: 'up' });
    t.equal(hb.created, false);
    t.ok(hb.leaseExpiresAt > reg.leaseExpiresAt);
    await s.putDyno('leasy', 'web.2', { host: '::1', port: 5002, ttl_s: 1, state: 'crashed' });
    const app = (await s.loadApp('leasy'))!;
    t.same(app.dynos, [
      { name: 'web.1', host: '127.0.0.1', port: 5001, state: 'up', leaseExpiresAt: hb.leaseExpiresAt },
      { name: 'web.2', host: '::1', port: 5002, state: 'crashed', leaseExpiresAt: app.dynos[1]!.leaseExpiresAt },
    ]);
    t.equal(await s.deleteDyno('leasy', 'web.1'), true);
    t.equal(await s.deleteDyno('leasy', 'web.1'), false);
    t.same(
      (await s.loadApp('leasy'))!.dynos.map((d) => d.name),
      ['web.2'],
    );
  });

  t.test('deleteApp removes the app, its domains and its dynos', async (t) => {
    const s = await make(t);
    if (!s) return;
    await s.putApp('doomed', {});
    await s.attachDomain('doomed', 'doomed.example.com');
    await s.putDyno('doomed', 'web.1', { host: '127.0.0.1', port: 5000, ttl_s: 30, state: 'up' });
    t.equal(await s.deleteApp('doomed'), true);
    t.equal(await s.loadApp('doomed'), undefined);
    t.same(await s.listApps(), []);
    t.same(await s.loadAll(), []);
    await s.putApp('doomed', {});
    t.same((await s.loadApp('doomed'))!.dynos, [], 're-created app starts empty');
    t.same((await s.loadApp('doomed'))!.domains, []);
  });
}
