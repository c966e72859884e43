// Real-sender interop (design.md §Ingest): util-linux `logger --rfc5424 --octet-count -T` against a TCP
// server that uses FrameSplitter + parseSyslog, as the Logplex syslog ingest does.
import { execFile, spawnSync } from 'node:child_process';
import net from 'node:net';
import t from 'tap';
import { FrameSplitter } from '../../src/shared/syslog/frame';
import { parseSyslog, sdParam, SyslogMessage, SyslogParseError } from '../../src/shared/syslog/rfc5424';

function run(cmd: string, args: string[]): Promise<{ code: number | string | null }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000 }, (err) => resolve({ code: err ? (err.code ?? null) : 0 }));
  });
}

const noLogger = spawnSync('logger', ['--version']).error ? 'util-linux logger not installed' : false;

t.test('logger --rfc5424 --octet-count over TCP: APP-NAME is the token', { skip: noLogger }, async (t) => {
  const got: (SyslogMessage | SyslogParseError)[] = [];
  const frameErrors: string[] = [];
  const server = net.createServer((sock) => {
    sock.on('error', () => undefined);
    const splitter = new FrameSplitter({
      onFrame: (f) => got.push(parseSyslog(f)),
      onError: (e) => frameErrors.push(e.code),
    });
    sock.on('data', (chunk) => splitter.push(chunk));
    sock.on('end', () => splitter.end());
  });
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;

  const token = 't.0c6a3bd0-0e8f-4a3c-9f3b-1d3e5f7a9b1c';
  const msg = 'hello from logger: ünïcode [ok] "quoted"';
  const res = await run('logger', [
    '--rfc5424',
    '--octet-count',
    '-T',
    '-t',
    token,
    '-P',
    String(port),
    '-n',
    '127.0.0.1',
    msg,
  ]);
  t.equal(res.code, 0, 'logger exited 0');
  // logger closes its socket after sending; wait until the frame has arrived (bounded).
  const arrived = Date.now() + 10_000;
  while (got.length === 0 && Date.now() < arrived) await new Promise((r) => setTimeout(r, 10));

  t.same(frameErrors, []);
  t.equal(got.length, 1);
  const m = got[0]!;
  if (m instanceof SyslogParseError) {
    t.fail(`${m.code}: ${m.message}`);
    return;
  }
  t.equal(m.appName, token);
  t.equal(m.msg.toString('utf8'), msg);
  t.equal(m.version, 1);
  t.equal(m.pri, 13, 'user.notice, logger default');
  t.equal(sdParam(m, 'tzKnown'), '1', 'logger sends a timeQuality SD element');
});
