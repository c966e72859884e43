// The client engine's one entry point for any accepted socket (DataPlane.serveConnection): a TLS
// listener hands its sockets to it with proto 'https' and its own port, and the request path
// does the rest — X-Forwarded-Proto/-Port for the dyno and `protocol=https` in the router line.
import t from 'tap';
import { createServer, connect, type TLSSocket } from 'node:tls';
import { startDyno } from '../fixtures/dyno';
import { app, dyno, startPlane } from '../fixtures/plane';
import { createPki } from '../fixtures/tls';

t.test('a TLS socket served through serveConnection: same engine, https facts', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const pki = createPki();
  t.teardown(() => pki.cleanup());
  const server = createServer(pki.server(['IP:127.0.0.1']), (socket: TLSSocket) =>
    p.plane.serveConnection(socket, { proto: 'https', port: 8443 }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  const text = await new Promise<string>((resolve, reject) => {
    const sock = connect({ port, host: '127.0.0.1', ca: pki.ca }, () => {
      // Two requests on one TLS connection: keep-alive works the same over TLS.
      sock.write(
        `GET /one HTTP/1.1\r\nHost: hello.localhost\r\n\r\nGET /two HTTP/1.1\r\nHost: hello.localhost\r\nConnection: close\r\n\r\n`,
      );
    });
    let got = '';
    sock.on('data', (c: Buffer) => (got += c.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => resolve(got));
    setTimeout(() => sock.destroy(), 5_000);
  });
  t.equal(text.match(/HTTP\/1\.1 200 /g)?.length, 2, 'both answered');
  t.same(
    d.seen.map((s) => s.url),
    ['/one', '/two'],
  );
  t.equal(d.seen[0]?.headers['x-forwarded-proto'], 'https');
  t.equal(d.seen[0]?.headers['x-forwarded-port'], '8443');
  t.match(p.lines[0]!, /path="\/one" .* protocol=https/);
});
