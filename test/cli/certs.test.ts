// The certificate commands (`certs`, `certs:add`, `certs:info`, `certs:remove`) driven as the
// built CLI against a running `switchyard dev` (design.md §Control API): a certificate made here
// is set from files, listed, shown, served on the TLS port, refused with a key that is not its
// own (exit 4, in the operator's words), and removed (docs/operations.md "Exit codes").
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { freePort } from '../../src/cli/platform/wait-listening';
import { startDev } from '../fixtures/dev';
import { eventually } from '../fixtures/eventually';
import { certFor, fingerprintOf, servedFingerprint } from '../fixtures/tls-client';
import { platformEnv, runCli } from './run';

t.test('certs, certs:add, certs:info, certs:remove by app and domain', async (t) => {
  const dev = await startDev(t, ['--router-tls-port', String(await freePort('127.0.0.1'))]);
  const served = () => servedFingerprint(dev.tlsPort, 'www.shop.test');
  const env = platformEnv(dev.admin, dev.logplex);
  const sy = (...args: string[]) => runCli(args, env);

  const dir = mkdtempSync(join(tmpdir(), 'sy-certs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const good = certFor(['www.shop.test']);
  const other = certFor(['www.shop.test']);
  const chain = file('chain.pem', good.cert);
  const key = file('key.pem', good.key);
  const wrongKey = file('other-key.pem', other.key);
  const fingerprint = fingerprintOf(good.cert);

  t.equal((await sy('apps:create', 'shop')).code, 0);
  t.equal((await sy('domains:add', 'www.shop.test', '-a', 'shop')).code, 0);
  t.match(await sy('certs', '-a', 'shop'), {
    code: 0,
    stdout: /^DOMAIN +SUBJECT +SANS +EXPIRES +FINGERPRINT\nshop\.localhost +- +- +- +-\nwww\.shop\.test +- +- +- +-\n$/,
  });

  // A key that is not the certificate's: refused, the file named, what to do said, nothing stored.
  const refused = await sy('certs:add', chain, wrongKey, '-a', 'shop', '--domain', 'www.shop.test');
  t.equal(refused.code, 4, refused.stderr);
  t.equal(
    refused.stderr,
    `switchyard certs:add: the router refused the certificate: the key ${wrongKey} does not match the certificate ` +
      `(give the key the first certificate of ${chain} was made for)\n`,
  );
  t.match(await sy('certs:info', '-a', 'shop', '--domain', 'www.shop.test'), {
    code: 3,
    stderr: /has no certificate/,
  });

  const added = await sy('certs:add', chain, key, '-a', 'shop', '--domain', 'www.shop.test');
  t.equal(added.code, 0, added.stderr);
  t.match(
    added.stdout,
    /^=== Certificate set for www\.shop\.test \(shop\)\nSubject: +CN=www\.shop\.test\nSANs: +www\.shop\.test\n/,
  );
  t.match(
    added.stdout,
    new RegExp(`Expires: +\\d{4}-\\d\\d-\\d\\d \\(in 8\\d days\\)\\nFingerprint: +${fingerprint}\\n`),
  );

  await eventually(async () => (await served()) === fingerprint, { timeoutMs: 10_000, what: 'served on TLS' });

  const list = await sy('certs', '-a', 'shop');
  t.match(list.stdout, /\nshop\.localhost +- +- +- +-\n/);
  t.match(
    list.stdout,
    new RegExp(
      `\\nwww\\.shop\\.test +CN=www\\.shop\\.test +www\\.shop\\.test +\\S+ \\(in 8\\d days\\) +${fingerprint}\\n`,
    ),
  );
  const listJson = JSON.parse((await sy('certs', '-a', 'shop', '--json')).stdout);
  t.match(listJson, [
    { host: 'shop.localhost', certificate: null },
    { host: 'www.shop.test', certificate: { fingerprint_sha256: fingerprint, sans: ['www.shop.test'] } },
  ]);

  const info = await sy('certs:info', '-a', 'shop', '--domain', 'www.shop.test');
  t.equal(info.code, 0, info.stderr);
  t.match(info.stdout, new RegExp(`^=== www\\.shop\\.test \\(shop\\)\\nSubject: +CN=www\\.shop\\.test\\n`));
  t.match(info.stdout, /\nChain: +1 certificate\(s\)\n$/);
  t.notMatch(info.stdout, /PRIVATE KEY/);
  const infoJson = JSON.parse((await sy('certs:info', '-a', 'shop', '--domain', 'www.shop.test', '--json')).stdout);
  t.match(infoJson, { app: 'shop', host: 'www.shop.test', fingerprint_sha256: fingerprint, chain_length: 1 });
  t.notOk('private_key' in infoJson, 'never the key');

  t.match(await sy('certs:remove', '-a', 'shop', '--domain', 'www.shop.test'), {
    code: 0,
    stdout: /^Removed the certificate of www\.shop\.test from shop/,
  });
  await eventually(async () => (await served()) !== fingerprint, { timeoutMs: 10_000, what: 'no longer served' });
  t.match(await sy('certs:remove', '-a', 'shop', '--domain', 'www.shop.test'), {
    code: 3,
    stderr: /has no certificate/,
  });
  t.match(await sy('certs', '-a', 'shop'), { stdout: /\nwww\.shop\.test +- +- +- +-\n$/ });
});

t.test('certs:add usage, unknown domain and unreadable files', async (t) => {
  const dev = await startDev(t);
  const env = platformEnv(dev.admin, dev.logplex);
  const sy = (...args: string[]) => runCli(args, env);
  const dir = mkdtempSync(join(tmpdir(), 'sy-certs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const c = certFor(['api.shop.test']);
  writeFileSync(join(dir, 'chain.pem'), c.cert);
  writeFileSync(join(dir, 'key.pem'), c.key);
  const chain = join(dir, 'chain.pem');
  const key = join(dir, 'key.pem');
  t.equal((await sy('apps:create', 'shop')).code, 0);

  t.match(await sy('certs:add', chain, '-a', 'shop', '--domain', 'api.shop.test'), {
    code: 2,
    stderr: /missing KEY\.pem/,
  });
  t.match(await sy('certs:add', chain, key, '-a', 'shop'), { code: 2, stderr: /no domain given: use --domain HOST/ });
  t.match(await sy('certs:add', join(dir, 'nope.pem'), key, '-a', 'shop', '--domain', 'api.shop.test'), {
    code: 2,
    stderr: /cannot read \S+nope\.pem: ENOENT/,
  });
  // The domain is not the app's: not found, with where to look.
  t.match(await sy('certs:add', chain, key, '-a', 'shop', '--domain', 'api.shop.test'), {
    code: 3,
    stderr: /see switchyard domains -a shop/,
  });
  // A certificate for another name: refused, the mismatch named.
  t.equal((await sy('domains:add', 'www.shop.test', '-a', 'shop')).code, 0);
  t.match(await sy('certs:add', chain, key, '-a', 'shop', '--domain', 'www.shop.test'), {
    code: 4,
    stderr: /does not cover www\.shop\.test \(names: api\.shop\.test\)/,
  });
  t.match(await sy('certs:info', '--help'), { code: 0, stdout: /Usage: switchyard certs:info -a APP --domain HOST/ });
});
