// Step 4: balancers, affinity cookies, and the in-flight view p2c uses.
import t from 'tap';
import { request } from 'undici';
import { DynoLoad, Ejections, Picker } from '../../src/router/balance';
import { RouteTable } from '../../src/router/table/route-table';
import { startDyno } from '../fixtures/dyno';
import { app, dyno, startPlane } from '../fixtures/plane';

t.test('round-robin spreads requests evenly over the dynos', async (t) => {
  const ds = [await startDyno(t, 'web.1'), await startDyno(t, 'web.2'), await startDyno(t, 'web.3')];
  const p = await startPlane(t, [
    app(
      'hello',
      ds.map((d) => dyno(d.name, d.port)),
      { balancer: 'round-robin' },
    ),
  ]);
  for (let i = 0; i < 9; i++) await (await request(p.url, { headers: { host: 'hello.localhost' } })).body.text();
  t.same(
    ds.map((d) => d.seen.length),
    [3, 3, 3],
  );
});

t.test('p2c avoids the dyno with the most requests in flight', async (t) => {
  const entry = RouteTable.build([app('hello', [dyno('web.1', 1), dyno('web.2', 2)])], Date.now()).lookup(
    'hello.localhost',
  )!;
  const picker = new Picker(entry, 'secret-secret-secret');
  const load = new DynoLoad();
  for (let i = 0; i < 5; i++) load.add('hello/web.1', 1);
  const ej = new Ejections(1000);
  for (let i = 0; i < 50; i++) t.equal(picker.pick(load, ej, Date.now(), undefined, undefined)!.dyno.name, 'web.2');
});

t.test('ejection never takes out more than half of the dynos (panic rule)', async (t) => {
  const entry = RouteTable.build([app('hello', [dyno('web.1', 1), dyno('web.2', 2)])], Date.now()).lookup(
    'hello.localhost',
  )!;
  const picker = new Picker(entry, 'secret-secret-secret');
  const ej = new Ejections(60_000);
  const now = Date.now();
  ej.eject('hello/web.1', now);
  const names = new Set<string>();
  for (let i = 0; i < 50; i++) names.add(picker.pick(new DynoLoad(), ej, now, undefined, undefined)!.dyno.name);
  t.same([...names], ['web.2'], 'one of two ejected: skipped');
  ej.eject('hello/web.2', now);
  names.clear();
  for (let i = 0; i < 100; i++) names.add(picker.pick(new DynoLoad(), ej, now, undefined, undefined)!.dyno.name);
  t.same([...names].sort(), ['web.1', 'web.2'], 'both ejected: all are candidates again');
});

t.test('affinity: the signed cookie sticks a client to its dyno; forged or stale cookies are ignored', async (t) => {
  const ds = [await startDyno(t, 'web.1'), await startDyno(t, 'web.2'), await startDyno(t, 'web.3')];
  const records = ds.map((d) => dyno(d.name, d.port));
  const p = await startPlane(t, [app('hello', records, { affinity: true, balancer: 'random' })]);
  const first = await request(p.url, { headers: { host: 'hello.localhost' } });
  const cookie = String(first.headers['set-cookie']).split(';')[0]!;
  const stuck = first.headers['x-dyno-name'];
  await first.body.text();
  t.match(cookie, /^switchyard-affinity=web\.\d~[A-Za-z0-9_-]{22}$/);
  for (let i = 0; i < 10; i++) {
    const res = await request(p.url, { headers: { host: 'hello.localhost', cookie: `a=b; ${cookie}` } });
    await res.body.text();
    t.equal(res.headers['x-dyno-name'], stuck);
    t.equal(res.headers['set-cookie'], undefined, 'no new cookie while it holds');
  }
  const forged = await request(p.url, {
    headers: { host: 'hello.localhost', cookie: 'switchyard-affinity=web.1~AAAAAAAAAAAAAAAAAAAAAA' },
  });
  t.equal(forged.statusCode, 200, 'a forged cookie is no error');
  t.ok(forged.headers['set-cookie'], 'and is replaced');
  await forged.body.text();
  // The stuck dyno leaves the table: the cookie is stale, another dyno answers.
  p.setTable([
    app(
      'hello',
      records.filter((r) => r.name !== stuck),
      { affinity: true, balancer: 'random' },
    ),
  ]);
  const stale = await request(p.url, { headers: { host: 'hello.localhost', cookie } });
  t.equal(stale.statusCode, 200);
  t.not(stale.headers['x-dyno-name'], stuck);
  await stale.body.text();
});
