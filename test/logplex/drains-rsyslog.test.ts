// Interop: a syslog:// drain delivering to a real rsyslogd (imtcp, octet-counted framing, its
// RFC 5424 parser), not to our own parser. rsyslogd runs with a private config, pid file and
// work directory under a temporary directory, on 127.0.0.1 and a port it picks itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { eventually } from '../fixtures/drains';
import { sendLines, startNode } from '../fixtures/logplex';
import { RSYSLOGD, rsyslogConf } from '../fixtures/rsyslog';

// Outside CI a machine without rsyslog skips with the reason; under CI=true it must be there.
const missing = existsSync(RSYSLOGD) ? false : `${RSYSLOGD} is missing: apt-get install -y rsyslog`;
if (missing && process.env.CI === 'true') t.fail(`${missing} (.ci/run installs it)`);

interface Rsyslog {
  port: number;
  /** The lines rsyslog wrote so far, one per message: `HOSTNAME|APP-NAME|PROCID|MSGID|SD|MSG`. */
  lines(): string[];
  stop(): Promise<void>;
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });

/**
 * Starts rsyslogd on 127.0.0.1. With `port` 0 it picks one and writes it to a file; it writes
 * that file only then, so a given port is awaited by connecting to it.
 */
async function startRsyslog(dir: string, port = 0): Promise<Rsyslog> {
  const out = join(dir, 'out.log');
  const portFile = join(dir, `port-${Date.now()}`);
  const conf = join(dir, 'rsyslog.conf');
  const template = '%hostname%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\\n';
  writeFileSync(conf, rsyslogConf({ dir, port, portFile, out, template }));
  const child: ChildProcess = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout!.on('data', (c) => (stderr += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const text = await eventually(
    async () =>
      port
        ? (await listening(port))
          ? String(port)
          : ''
        : existsSync(portFile)
          ? readFileSync(portFile, 'utf8').trim()
          : '',
    (s) => s !== '' || child.exitCode !== null,
    5000,
  );
  if (!text || child.exitCode !== null) {
    child.kill('SIGKILL');
    throw new Error(`rsyslogd did not start: ${stderr}`);
  }
  return {
    port: Number(text),
    lines: () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : []),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

t.test(
  'a syslog drain to rsyslogd: every line arrives once, in order, fields intact; delivery resumes after rsyslogd restarts',
  { skip: missing },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-rsyslog-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    let rsyslog = await startRsyslog(dir);
    t.teardown(() => rsyslog.stop());
    const node = await startNode(t, { store: 'memory' });
    const ch = await node.channel(['app']);
    const created = await node.api('POST', `/v2/channels/${ch.id}/drains`, {
      url: `syslog://127.0.0.1:${rsyslog.port}`,
    });
    t.equal(created.status, 201);
    const token: string = created.body.token;

    // Many lines in few POSTs, so frames share TCP segments; UTF-8 and a long line among them.
    const long = 'x'.repeat(5000);
    const batch: [string, string][] = [
      ['web.1', 'héllo ✓ "quoted" [not sd]'],
      ['web.2', long],
    ];
    for (let i = 1; i <= 300; i++) batch.push([`web.${(i % 3) + 1}`, `line ${i}`]);
    await sendLines(node, ch.tokens.app!, batch);
    const got = await eventually(
      () => rsyslog.lines(),
      (l) => l.length >= batch.length,
      5000,
    );
    t.equal(got.length, batch.length, 'every line once');
    t.same(
      got.map((l) => l.split('|')),
      batch.map(([ps, msg]) => [token, 'app', ps, '-', '-', msg]),
      'HOSTNAME is the drain token, APP-NAME the source, PROCID the dyno, no MSGID or SD, MSG as sent',
    );
    const shown = await eventually(
      () => node.api('GET', `/v2/channels/${ch.id}/drains/${created.body.id}`),
      (r) => r.body.status?.delivered === batch.length,
    );
    t.match(shown.body.status, { delivered: batch.length, backlog: 0, last_error: null });

    // rsyslogd goes away and comes back on the same port: what was sent meanwhile arrives.
    await rsyslog.stop();
    await sendLines(node, ch.tokens.app!, [['web.1', 'while rsyslogd was away']]);
    await eventually(
      () => node.api('GET', `/v2/channels/${ch.id}/drains/${created.body.id}`),
      (r) => r.body.status?.last_error !== null,
      5000,
    );
    rsyslog = await startRsyslog(dir, rsyslog.port);
    const after = await eventually(
      () => rsyslog.lines(),
      (l) => l.length > batch.length,
      10_000,
    );
    t.equal(after.at(-1), `${token}|app|web.1|-|-|while rsyslogd was away`);
    t.equal(after.length, batch.length + 1, 'nothing twice');
  },
);
