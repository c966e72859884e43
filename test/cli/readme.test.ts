// The README's walk-through, run as written (design.md §How the parts meet): every command in its
// `sh` blocks, in order, against `switchyard dev --demo` on ephemeral ports. The fixed ports the
// README shows are mapped to the test's; the drain receiver is a recording syslog sink. A command
// added to the README that this runner does not know fails the test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { spawnCli, startDev, stopChild, watchOutput, type DevProcess } from '../fixtures/dev';
import { syslogSink, type SyslogSink } from '../fixtures/sinks';
import { platformEnv, runCli } from './run';

const README = join(__dirname, '..', '..', '..', 'README.md');

/** Words of one shell command line: '…' literal, "…" with \\ escapes, bare words split on spaces. */
export function shellWords(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      cur += line.slice(i + 1, end);
      i = end;
      has = true;
    } else if (c === '"') {
      for (i++; i < line.length && line[i] !== '"'; i++) cur += line[i] === '\\' ? line[++i] : line[i];
      has = true;
    } else if (c === ' ') {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** Command lines of the README's ```sh blocks, comments dropped. */
function readmeCommands(): string[] {
  const blocks = readFileSync(README, 'utf8').match(/```sh\n[\s\S]*?```/g) ?? [];
  return blocks.flatMap((b) =>
    b
      .split('\n')
      .slice(1, -1)
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => l && !l.startsWith('#')),
  );
}

t.test('shellWords splits as sh would', async (t) => {
  t.same(shellWords(`a 'b c' "d \\"e\\"" f`), ['a', 'b c', 'd "e"', 'f']);
});

t.test('the README walk-through works as written', async (t) => {
  const commands = readmeCommands();
  t.ok(commands.filter((c) => c.startsWith('switchyard ')).length >= 12, 'the walk-through uses the CLI');
  t.notOk(
    commands.some((c) => /curl[^|]*(8081|8601)/.test(c)),
    'no curl to the control API or Logplex: the CLI does that',
  );
  let dev: DevProcess | undefined;
  let sink: SyslogSink | undefined;
  let env: Record<string, string | undefined> = {};
  const ran: string[] = [];
  const dynos: ReturnType<typeof spawnCli>[] = [];
  // What some commands must print, beyond exit 0 and a quiet stderr.
  const expect: Record<string, RegExp> = {
    'switchyard apps': /^hello\n$/,
    'switchyard ps -a hello': /web\.1 +up[\s\S]*web\.2 +up/,
    'switchyard drains -a hello': /syslog:\/\/127\.0\.0\.1:\d+ +\d+ +d\./,
    'switchyard apps:create myapp': /Created myapp: http:\/\/myapp\.localhost\//,
    'switchyard apps:info -a myapp': /Domains: +myapp\.localhost, www\.myapp\.test\nDynos: +1 \(1 up\)/,
    'switchyard logs --app myapp':
      /heroku\[web\.1\]: State changed from starting to up[\s\S]*heroku\[router\]: at=info method=GET path="\/" host=www\.myapp\.test/,
  };
  for (const line of commands) {
    const words = shellWords(line);
    if (line.startsWith('npm ci') || line.startsWith('npm test') || line.startsWith('alias ')) continue;
    if (line === 'npm start -- --demo') {
      dev = await startDev(t, ['--demo']);
      await dev.waitFor(/dyno=web\.1 msg="dyno up"/);
      await dev.waitFor(/dyno=web\.2 msg="dyno up"/);
      env = platformEnv(dev.admin, dev.logplex);
    } else if (!dev) {
      t.fail(`"${line}" comes before the platform is started`);
      return;
    } else if (words[0] === 'curl') {
      const host = /^Host: (.+)$/.exec(words[2]!)![1]!;
      const url = new URL(words[3]!);
      const res = await request(dev.router + url.pathname, { headers: { host } });
      t.equal(res.statusCode, 200, line);
      await res.body.dump();
    } else if (words[0] === 'node' && /listen\(6000/.test(line)) {
      sink = await syslogSink();
      t.teardown(() => sink!.close());
    } else if (words[0] === 'switchyard') {
      const args = words.slice(1).map((w) => (sink ? w.replace('127.0.0.1:6000', `127.0.0.1:${sink.port}`) : w));
      if (args[0] === 'dyno') {
        const child = spawnCli(t, args, env);
        await watchOutput(child).waitFor(/msg="dyno up"/);
        dynos.push(child);
      } else if (args[0] === 'logs' && args.includes('--tail')) {
        const child = spawnCli(t, args, env);
        await watchOutput(child).waitFor(/heroku\[router\]: at=info/);
        await stopChild(child);
      } else {
        // "Stop the dyno with Ctrl-C" comes before the app is destroyed.
        if (args[0] === 'apps:destroy') for (const d of dynos) t.equal(await stopChild(d, 'SIGINT'), 0);
        const r = await runCli(args, env);
        t.equal(r.code, 0, `${line}\n${r.stderr}`);
        t.equal(r.stderr, '', `${line}: nothing on stderr`);
        if (expect[line]) t.match(r.stdout, expect[line]!, line);
      }
    } else {
      t.fail(`the README shows a command this test does not know: ${line}`);
    }
    ran.push(line);
  }
  t.ok(sink && sink.frames.some((f) => /path="\/drained"/.test(f)), 'the drain delivered the request');
  t.ok(ran.length >= 15, `ran ${ran.length} commands`);
  t.same(
    Object.keys(expect).filter((c) => !ran.includes(c)),
    [],
    'every expectation was checked',
  );
  t.equal((await runCli(['apps'], env)).stdout, 'hello\n', 'myapp destroyed');
});
