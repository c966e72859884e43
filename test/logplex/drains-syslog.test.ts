// syslog:// and syslog+tls:// drains against real receivers (DESIGN §4): strictly valid
// octet-counted RFC 5424 with the drain token as HOSTNAME, reconnect after a hang-up, TLS
// verified against a test CA, and L14 when the certificate does not name the host.
import t from 'tap';
import { MemoryDrainStore } from '../../src/logplex/drains/store/memory';
import { MemoryLogStore } from '../../src/logplex/store/memory';
import { parseSyslog, SyslogParseError } from '../../src/shared/syslog/rfc5424';
import { eventually, newLines, startRunner } from '../fixtures/drains';
import { syslogSink } from '../fixtures/sinks';
import { createPki } from '../fixtures/tls';

async function setup(url: string) {
  const log = new MemoryLogStore(5_000);
  const store = new MemoryDrainStore(log);
  const ch = await log.createChannel('hello', ['app']);
  const drain = await store.create(ch.id, url);
  if (drain === 'conflict') throw new Error('conflict');
  return { log, store, ch, drain };
}

t.test(
  'syslog over TCP: strict RFC 5424 frames, in order, token as HOSTNAME; reconnects after a hang-up',
  async (t) => {
    const sink = await syslogSink();
    t.teardown(() => sink.close());
    const { log, store, ch, drain } = await setup(`syslog://127.0.0.1:${sink.port}`);
    await log.append(ch.id, newLines(1200));
    const rig = startRunner(store, drain);
    t.teardown(() => rig.runner.stop());
    await sink.until((f) => f.length >= 1200);
    const parsed = sink.frames.map((f) => parseSyslog(Buffer.from(f)));
    t.notOk(
      parsed.some((p) => p instanceof SyslogParseError),
      'every frame parses as RFC 5424',
    );
    const first = parsed[0] as Exclude<(typeof parsed)[0], SyslogParseError>;
    t.same(
      [first.pri, first.timestamp, first.hostname, first.appName, first.procId, first.msgId, first.sd],
      [134, '2026-11-26T10:00:00.000001+00:00', drain.token, 'app', 'web.1', '', []],
    );
    t.match(sink.frames[0], / web\.1 - - line 1\n$/, 'NILVALUE MSGID and STRUCTURED-DATA before MSG, LF at the end');
    t.same(
      sink.frames.map((f) => f.slice(f.lastIndexOf(' - - ') + 5)),
      newLines(1200).map((l) => l.msg + '\n'),
      'every line once, in order',
    );
    await eventually(
      () => store.status(ch.id, drain.id),
      (s) => s.delivered === 1200,
    );
    sink.hangUp();
    await log.append(ch.id, newLines(3, 1201));
    await sink.until((f) => f.some((x) => x.endsWith(' line 1203\n')));
    t.ok(
      sink.frames.some((x) => x.endsWith(' line 1201\n')),
      'lines after a hang-up arrive over a new connection',
    );
  },
);

t.test('syslog+tls: verified with the test CA; a name mismatch is L14 in status and in-band', async (t) => {
  const pki = createPki();
  t.teardown(() => pki.cleanup());
  const good = await syslogSink({ tls: pki.server(['IP:127.0.0.1']) });
  const bad = await syslogSink({ tls: pki.server(['DNS:elsewhere.example']) });
  t.teardown(() => Promise.all([good.close(), bad.close()]));
  const a = await setup(`syslog+tls://127.0.0.1:${good.port}`);
  const b = await setup(`syslog+tls://127.0.0.1:${bad.port}`);
  const noCa = await b.store.create(b.ch.id, `syslog+tls://127.0.0.1:${good.port}`);
  if (noCa === 'conflict') throw new Error('conflict');
  await a.log.append(a.ch.id, newLines(5));
  await b.log.append(b.ch.id, newLines(5));
  const ra = startRunner(a.store, a.drain, { ca: pki.ca });
  const rb = startRunner(b.store, b.drain, { ca: pki.ca });
  const rc = startRunner(b.store, noCa);
  t.teardown(() => Promise.all([ra.runner.stop(), rb.runner.stop(), rc.runner.stop()]));
  await good.until((f) => f.length >= 5);
  t.match(good.frames[4], /line 5\n$/);
  const st = await eventually(
    () => b.store.status(b.ch.id, b.drain.id),
    (s) => s.lastError !== null,
  );
  t.equal(st.lastError?.code, 'L14');
  t.match(st.lastError?.message, /ERR_TLS_CERT_ALTNAME_INVALID/);
  await eventually(
    () => rb.reported.length,
    (n) => n > 0,
  );
  t.match(rb.reported[0]!.msg, /^Error L14 \(certificate validation error\): drain \d+: ERR_TLS_CERT_ALTNAME_INVALID/);
  const unknownCa = await eventually(
    () => rc.reported.length,
    (n) => n > 0,
  );
  t.ok(unknownCa > 0);
  t.match(
    rc.reported[0]!.msg,
    /^Error L14 .*(SELF_SIGNED|UNABLE_TO|ISSUER)/,
    'without the CA the certificate is refused',
  );
  t.equal(bad.frames.length, 0, 'nothing reached the receiver that failed verification');
  t.equal(st.delivered, 0);
});
