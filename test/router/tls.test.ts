// The TLS listener with real clients: certificates chosen by SNI, the default for unknown names,
// certificates managed through the control API, X-Forwarded-Proto/-Port, force_https.
import t, { type Test } from 'tap';
import { request } from 'undici';
import { startDyno, type Dyno } from '../fixtures/dyno';
import { eventually, startTestRouter, type TestRouter } from '../fixtures/router';
import { certFor, curlTls, fingerprintOf, handshake, pinOf, servedFingerprint } from '../fixtures/tls-client';

async function appWithDomain(t: Test, r: TestRouter, app: string, host: string, dyno: Dyno): Promise<void> {
  t.equal((await r.api('PUT', `/v1/apps/${app}`, {})).status, 201);
  t.equal((await r.api('PUT', `/v1/apps/${app}/domains/${host}`, {})).status, 201);
  t.equal((await r.api('PUT', `/v1/apps/${app}/dynos/web.1`, { host: '127.0.0.1', port: dyno.port })).status, 201);
}

const putCert = (r: TestRouter, app: string, host: string, c: { cert: string; key: string }) =>
  r.api('PUT', `/v1/apps/${app}/domains/${host}/certificate`, { certificate_chain: c.cert, private_key: c.key });

t.test('SNI picks each domain its own certificate; unknown names and no SNI get the default', async (t) => {
  const lines: string[] = [];
  const r = (await startTestRouter(t, { tls: true, writeLine: (l) => lines.push(l) }))!;
  const port = r.node.tls!.port;
  const dyno = await startDyno(t);
  await appWithDomain(t, r, 'alpha', 'a.example.test', dyno);
  await appWithDomain(t, r, 'beta', 'b.example.test', dyno);
  const a = certFor(['a.example.test']);
  const b = certFor(['b.example.test']);
  t.equal((await putCert(r, 'alpha', 'a.example.test', a)).status, 201);
  t.equal((await putCert(r, 'beta', 'b.example.test', b)).status, 201);
  await eventually(async () => (await servedFingerprint(port, 'b.example.test')) === fingerprintOf(b.cert));

  for (const [host, c] of [
    ['a.example.test', a],
    ['b.example.test', b],
  ] as const) {
    const hs = await handshake(port, host);
    t.equal(hs.fingerprint, fingerprintOf(c.cert), `${host} is served its own certificate`);
    hs.socket.destroy();
    // curl refuses the exchange unless the served key is the pinned one.
    const res = await curlTls(host, port, '/hello', [
      '--http1.1',
      '--pinnedpubkey',
      pinOf(c.cert),
      '-o',
      '/dev/null',
      '-w',
      '%{http_code} %{http_version}',
    ]);
    t.equal(res.stdout, '200 1.1', `curl --http1.1 to ${host}: ${res.stderr}`);
    const other = host === 'a.example.test' ? b : a;
    const wrong = await curlTls(host, port, '/', ['--http1.1', '--pinnedpubkey', pinOf(other.cert)]);
    t.not(wrong.code, 0, 'pinned to the other domain, curl refuses: the pin check is real');
  }
  const seen = dyno.seen.at(-1)!;
  t.equal(seen.headers['x-forwarded-proto'], 'https');
  t.equal(seen.headers['x-forwarded-port'], String(port));
  t.match(
    lines.find((l) => l.includes('path="/hello"') && l.includes('host=b.example.test')),
    /status=200 .*protocol=https/,
  );

  const fallback = r.node.tls!.defaultFingerprint;
  for (const name of ['unknown.example.test', undefined]) {
    const hs = await handshake(port, name);
    t.equal(hs.fingerprint, fallback, `${name ?? 'no SNI'} gets the default certificate`);
    hs.socket.destroy();
  }
  const unknown = await curlTls('unknown.example.test', port, '/', [
    '--http1.1',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
  ]);
  t.equal(unknown.stdout, '404', 'and then no such app');
});

t.test('the certificate API: 422 naming what is wrong, GET without the key, DELETE', async (t) => {
  const r = (await startTestRouter(t, { tls: true }))!;
  const dyno = await startDyno(t);
  await appWithDomain(t, r, 'shop', 'www.shop.test', dyno);
  await r.api('PUT', '/v1/apps/shop/domains/*.shop.test', {});
  const good = certFor(['www.shop.test']);
  const other = certFor(['www.shop.test']);
  const day = 86_400_000;
  const cases: [string, { cert: string; key: string }, RegExp][] = [
    ['not PEM', { cert: 'hello', key: good.key }, /no PEM CERTIFICATE block/],
    [
      'a PEM block that is not X.509',
      { cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', key: good.key },
      /does not parse as X\.509/,
    ],
    ['a key that is not PEM', { cert: good.cert, key: 'nope' }, /private_key does not parse/],
    ['a key of another certificate', { cert: good.cert, key: other.key }, /private_key does not match the certificate/],
    ['another host', certFor(['api.other.test']), /does not cover www\.shop\.test \(names: api\.other\.test\)/],
    [
      'expired',
      certFor(['www.shop.test'], { notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) }),
      /certificate expired at/,
    ],
  ];
  for (const [what, c, message] of cases) {
    const res = await putCert(r, 'shop', 'www.shop.test', c);
    t.equal(res.status, 422, what);
    t.match(res.body, { id: 'unprocessable_entity', message }, what);
  }
  const missing = await r.api('PUT', '/v1/apps/shop/domains/www.shop.test/certificate', {
    certificate_chain: good.cert,
  });
  t.equal(missing.status, 400, 'a missing field is a 400');
  t.equal((await putCert(r, 'shop', 'api.shop.test', certFor(['api.shop.test']))).status, 404, 'domain not attached');
  t.equal((await putCert(r, 'nope', 'www.shop.test', good)).status, 404, 'no such app');

  const put = await putCert(r, 'shop', 'www.shop.test', good);
  t.equal(put.status, 201);
  const got = await r.api('GET', '/v1/apps/shop/domains/www.shop.test/certificate');
  t.equal(got.status, 200);
  t.match(got.body, {
    host: 'www.shop.test',
    subject: 'CN=www.shop.test',
    sans: ['www.shop.test'],
    fingerprint_sha256: fingerprintOf(good.cert),
    not_after: /^\d{4}-/,
  });
  t.notOk(JSON.stringify(got.body).includes('PRIVATE KEY'), 'never the key');
  t.equal((await putCert(r, 'shop', 'www.shop.test', other)).status, 200, 'a second PUT replaces');

  const wild = certFor(['*.shop.test']);
  t.equal(
    (await putCert(r, 'shop', '*.shop.test', wild)).status,
    201,
    'a wildcard domain takes a wildcard certificate',
  );
  t.equal((await putCert(r, 'shop', '*.shop.test', good)).status, 422, 'but not an exact one');
  await eventually(
    async () => (await servedFingerprint(r.node.tls!.port, 'api.shop.test')) === fingerprintOf(wild.cert),
  );
  const exact = await handshake(r.node.tls!.port, 'www.shop.test');
  t.equal(exact.fingerprint, fingerprintOf(other.cert), 'the exact name wins over the wildcard');
  exact.socket.destroy();

  t.equal((await r.api('DELETE', '/v1/apps/shop/domains/www.shop.test/certificate')).status, 204);
  t.equal((await r.api('GET', '/v1/apps/shop/domains/www.shop.test/certificate')).status, 404);
  t.equal((await r.api('DELETE', '/v1/apps/shop/domains/www.shop.test/certificate')).status, 404);
  await eventually(
    async () => (await servedFingerprint(r.node.tls!.port, 'www.shop.test')) === fingerprintOf(wild.cert),
  );
  t.pass('with its certificate deleted, www falls back to the wildcard');
});

t.test('force_https answers plain HTTP with 308 to the TLS port; TLS requests go through', async (t) => {
  const r = (await startTestRouter(t, { tls: true }))!;
  const dyno = await startDyno(t);
  await appWithDomain(t, r, 'secure', 'secure.example.test', dyno);
  t.equal((await r.api('PUT', '/v1/apps/secure', { force_https: 'yes' })).status, 400, 'force_https is a boolean');
  const set = await r.api('PUT', '/v1/apps/secure', { force_https: true });
  t.match(set.body, { force_https: true });
  const url = `http://127.0.0.1:${r.node.port}/a/b?c=1`;
  let res = await request(url, { method: 'POST', headers: { host: 'secure.example.test' }, body: 'x' });
  await eventually(async () => {
    await res.body.text();
    if (res.statusCode === 308) return true;
    res = await request(url, { method: 'POST', headers: { host: 'secure.example.test' }, body: 'x' });
    return false;
  });
  t.equal(res.statusCode, 308);
  t.equal(res.headers.location, `https://secure.example.test:${r.node.tls!.port}/a/b?c=1`);
  const before = dyno.seen.length;
  const tls = await curlTls('secure.example.test', r.node.tls!.port, '/a', [
    '--http1.1',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
  ]);
  t.equal(tls.stdout, '200');
  t.equal(dyno.seen.length, before + 1, 'only the TLS request reached the dyno');
});
