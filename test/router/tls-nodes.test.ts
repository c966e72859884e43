// Two router nodes on one Redis: a certificate replaced through one node's API is served by
// both on their next handshake without a restart, while a connection opened before keeps
// working; a session ticket sealed by one node resumes on the other (shared ticket keys).
import t, { type Test } from 'tap';
import { startDyno } from '../fixtures/dyno';
import { eventually, startTestRouter } from '../fixtures/router';
import { certFor, fingerprintOf, handshake, servedFingerprint } from '../fixtures/tls-client';

async function twoNodes(t: Test) {
  const one = await startTestRouter(t, { store: 'redis', tls: true });
  if (!one) return undefined;
  const two = (await startTestRouter(t, { store: 'redis', tls: true, prefix: one.prefix! }))!;
  return [one, two] as const;
}

t.test('a certificate replaced through the API reaches both nodes on the next handshake', async (t) => {
  const nodes = await twoNodes(t);
  if (!nodes) return;
  const [one, two] = nodes;
  const dyno = await startDyno(t);
  await one.api('PUT', '/v1/apps/rotate', {});
  await one.api('PUT', '/v1/apps/rotate/domains/www.rotate.test', {});
  await one.api('PUT', '/v1/apps/rotate/dynos/web.1', { host: '127.0.0.1', port: dyno.port });
  const first = certFor(['www.rotate.test']);
  const put = (c: { cert: string; key: string }) =>
    one.api('PUT', '/v1/apps/rotate/domains/www.rotate.test/certificate', {
      certificate_chain: c.cert,
      private_key: c.key,
    });
  t.equal((await put(first)).status, 201);
  for (const r of [one, two]) {
    await eventually(
      async () => (await servedFingerprint(r.node.tls!.port, 'www.rotate.test')) === fingerprintOf(first.cert),
    );
  }
  // A keep-alive connection to node two, opened on the first certificate.
  const open = await handshake(two.node.tls!.port, 'www.rotate.test');
  const ask = (path: string): Promise<string> =>
    new Promise((resolve, reject) => {
      let text = '';
      const onData = (c: Buffer): void => {
        text += c.toString('latin1');
        if (/\r\n\r\n/.test(text) && /content-length: (\d+)/i.test(text)) {
          const len = Number(/content-length: (\d+)/i.exec(text)![1]);
          if (text.length - text.indexOf('\r\n\r\n') - 4 >= len) {
            open.socket.off('data', onData);
            resolve(text.slice(0, 12));
          }
        }
      };
      open.socket.on('data', onData);
      open.socket.once('error', reject);
      open.socket.write(`GET ${path} HTTP/1.1\r\nHost: www.rotate.test\r\n\r\n`);
    });
  t.equal(await ask('/before'), 'HTTP/1.1 200');

  const second = certFor(['www.rotate.test']);
  t.equal((await put(second)).status, 200, 'replaced');
  for (const [name, r] of [
    ['one', one],
    ['two', two],
  ] as const) {
    await eventually(
      async () => (await servedFingerprint(r.node.tls!.port, 'www.rotate.test')) === fingerprintOf(second.cert),
      3000,
      `node ${name} serving the new certificate`,
    );
    t.pass(`node ${name} serves the new certificate on its next handshake`);
  }
  t.equal(await ask('/after'), 'HTTP/1.1 200', 'the connection opened before the change still works');
  t.equal(open.fingerprint, fingerprintOf(first.cert), 'on the old certificate');
  open.socket.destroy();

  t.equal((await one.api('DELETE', '/v1/apps/rotate/domains/www.rotate.test/certificate')).status, 204);
  await eventually(
    async () => (await servedFingerprint(two.node.tls!.port, 'www.rotate.test')) === two.node.tls!.defaultFingerprint,
  );
  t.pass('deleted: node two is back on its default certificate');
});

t.test('a session from one node resumes on the other (TLS 1.2 and 1.3)', async (t) => {
  const nodes = await twoNodes(t);
  if (!nodes) return;
  const [one, two] = nodes;
  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    const full = await handshake(one.node.tls!.port, 'resume.test', { version, request: true });
    full.socket.destroy();
    t.equal(full.reused, false, `${version}: the first handshake is a full one`);
    t.ok(full.session, `${version}: node one issued a ticket`);
    const again = await handshake(two.node.tls!.port, 'resume.test', {
      version,
      session: full.session!,
      request: true,
    });
    again.socket.destroy();
    t.equal(again.version, version);
    t.equal(again.reused, true, `${version}: node two resumed node one's session`);
  }
  const metrics = await two.api('GET', '/metrics');
  t.match(metrics.body, /switchyard_router_tls_resumed_handshakes_total\{version="TLSv1.3"[^}]*\} 1\n/);
  t.match(metrics.body, /switchyard_router_tls_handshakes_total\{result="ok",version="TLSv1.2"[^}]*\} 1\n/);
  t.match(metrics.body, /switchyard_router_tls_resumption_ratio\{[^}]*\} 1\n/);
});
