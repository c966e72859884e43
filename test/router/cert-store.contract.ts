// The certificate half of the RouteStore contract (store/certs.ts): store-memory.test.ts and
// store-redis.test.ts run it on both stores, next to the route contract.
import type { Test } from 'tap';
import type { CertStore } from '../../src/router/store/certs';
import type { RouteEvent, RouteStore } from '../../src/router/store/index';
import { eventually } from '../fixtures/router';

export type MakeCertStore = (t: Test) => Promise<(RouteStore & CertStore) | undefined>;

const cert = (app: string, host: string, n: number) => ({ app, host, chain: `chain-${n}`, key: `key-${n}` });

export function certStoreContract(t: Test, make: MakeCertStore): void {
  t.test('a certificate per domain: put, replace, get, load, delete', async (t) => {
    const s = await make(t);
    if (!s) return;
    await s.putApp('shop', {});
    await s.attachDomain('shop', 'www.shop.example');
    await s.attachDomain('shop', '*.shop.example');
    t.same(await s.putCert(cert('shop', 'www.shop.example', 1)), { created: true });
    t.same(await s.putCert(cert('shop', 'www.shop.example', 2)), { created: false }, 'a second PUT replaces');
    t.same(await s.putCert(cert('shop', '*.shop.example', 3)), { created: true }, 'a wildcard domain has its own');
    t.same(await s.getCert('shop', 'www.shop.example'), cert('shop', 'www.shop.example', 2));
    t.equal(await s.getCert('shop', 'api.shop.example'), undefined);
    const hosts = (await s.loadCerts('shop')).map((c) => c.host).sort();
    t.same(hosts, ['*.shop.example', 'www.shop.example']);
    t.same((await s.loadAllCerts()).length, 2);
    t.equal(await s.deleteCert('shop', '*.shop.example'), true);
    t.equal(await s.deleteCert('shop', '*.shop.example'), false);
    t.same(
      (await s.loadCerts('shop')).map((c) => c.host),
      ['www.shop.example'],
    );
  });

  t.test('a certificate needs the app and the domain; it goes with either', async (t) => {
    const s = await make(t);
    if (!s) return;
    await t.rejects(s.putCert(cert('ghost', 'a.example', 1)), { code: 'SY_APP_NOT_FOUND' });
    await s.putApp('owner', {});
    await t.rejects(s.putCert(cert('owner', 'a.example', 1)), { code: 'SY_DOMAIN_NOT_FOUND' });
    await s.attachDomain('owner', 'a.example');
    await s.attachDomain('owner', 'b.example');
    await s.putCert(cert('owner', 'a.example', 1));
    await s.putCert(cert('owner', 'b.example', 2));
    await s.detachDomain('owner', 'a.example');
    t.same(
      (await s.loadCerts('owner')).map((c) => c.host),
      ['b.example'],
      'detaching a domain drops its certificate',
    );
    await s.attachDomain('owner', 'a.example');
    t.equal(await s.getCert('owner', 'a.example'), undefined, 'and re-attaching does not bring it back');
    await s.deleteApp('owner');
    t.same(await s.loadCerts('owner'), [], 'deleting the app drops its certificates');
    await s.putApp('owner', {});
    await s.attachDomain('owner', 'b.example');
    t.same(await s.loadCerts('owner'), [], 'also after the app is created again');
  });

  t.test('certificate changes are published as route events with certs: true', async (t) => {
    const s = await make(t);
    if (!s) return;
    const seen: RouteEvent[] = [];
    t.teardown(s.subscribe((e) => seen.push(e)));
    await (s as { subscribed?: () => Promise<void> }).subscribed?.();
    await s.putApp('evt-certs', {});
    await s.attachDomain('evt-certs', 'evt.example');
    const before = (await s.loadApp('evt-certs'))!.version!;
    await s.putCert(cert('evt-certs', 'evt.example', 1));
    await s.deleteCert('evt-certs', 'evt.example');
    await eventually(() => seen.filter((e) => e.certs).length >= 2);
    const certEvents = seen.filter((e) => e.app === 'evt-certs' && e.certs);
    t.equal(certEvents.length, 2, 'put and delete');
    t.ok(certEvents[0]!.version > before && certEvents[1]!.version > certEvents[0]!.version, 'versions grow');
    t.equal((await s.loadApp('evt-certs'))!.version, certEvents[1]!.version, 'the app version moved with them');
  });

  t.test('a ticket key per epoch: created once, the same bytes for every caller', async (t) => {
    const s = await make(t);
    if (!s) return;
    const [a, b] = await Promise.all([s.ticketKey(1000, 60_000), s.ticketKey(1000, 60_000)]);
    t.equal(a.length, 48);
    t.same(a, b, 'two callers of one epoch share the key');
    const next = await s.ticketKey(1001, 60_000);
    t.notSame(next, a, 'the next epoch has a new key');
    t.same(await s.ticketKey(1000, 60_000), a, 'the old epoch keeps its key until it expires');
  });
}
