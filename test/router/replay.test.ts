// Step 5's replay rule (replay.ts): a request that may have reached a dyno is sent again only on
// the keep-alive race, and only when its method is idempotent (RFC 9110 §9.2.2). Here the dyno
// reads each request whole and then dies without answering, on a reused connection.
import t from 'tap';
import { mayReplayAfterRace } from '../../src/router/replay';
import { app, dyno, startPlane } from '../fixtures/plane';
import { rawExchange } from '../fixtures/raw-client';
import { rawDyno } from '../fixtures/raw-dyno';

const H = 'Host: hello.localhost\r\n';

const send = async (port: number, bytes: string): Promise<string> => (await rawExchange(port, bytes)).text;

const CASES: [string, boolean][] = [
  ['GET', true],
  ['HEAD', true],
  ['OPTIONS', true],
  ['TRACE', true],
  ['PUT', true],
  ['DELETE', true],
  ['POST', false],
  ['PATCH', false],
  ['WIBBLE', false],
];

t.test('the predicate: idempotent methods only (RFC 9110 §9.2.2)', async (t) => {
  for (const [method, replayed] of CASES) t.equal(mayReplayAfterRace(method), replayed, method);
});

for (const [method, replayed] of CASES) {
  t.test(
    `${method} read by a dyno that then dies on a reused connection: ${replayed ? 'replayed once' : 'never replayed, H13'}`,
    async (t) => {
      let dieNext = false;
      const d = await rawDyno(t, (req, sock) => {
        if (dieNext && req.method === method) {
          // The whole request arrived; the dyno dies before answering.
          dieNext = false;
          return void sock.destroy();
        }
        sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n' + (req.method === 'HEAD' ? '' : 'ok'));
      });
      const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
      t.match(await send(p.plane.port, `GET /warm HTTP/1.1\r\n${H}Connection: close\r\n\r\n`), /^HTTP\/1\.1 200 /);
      dieNext = true;
      const text = await send(p.plane.port, `${method} /once HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
      const seen = d.requests.filter((r) => r.method === method && r.line.includes('/once')).length;
      const line = p.lines[p.lines.length - 1]!;
      if (replayed) {
        t.match(text, /^HTTP\/1\.1 200 /);
        t.equal(seen, 2, 'the dyno got it twice: once on the dying connection, once on a fresh one');
        t.match(line, /status=200 .*attempts=2 tried=web\.1,web\.1/);
      } else {
        t.match(text, /^HTTP\/1\.1 503 /);
        t.equal(seen, 1, 'the dyno got it once');
        t.match(line, /^at=error code=H13 /);
        t.notMatch(line, /attempts=/);
      }
    },
  );
}
