// `switchyard logplex` refuses to start without REDIS_URL or SWITCHYARD_API_TOKEN, naming the
// variable, and stops with exit 0 on SIGTERM.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { REDIS_URL } from '../fixtures/redis';
import { refusingPort } from '../fixtures/dyno';
import { prefixFor } from '../fixtures/logplex';

const BIN = join(__dirname, '..', '..', '..', 'dist', 'cli', 'main.js');

function run(
  env: Record<string, string>,
  untilOutput?: RegExp,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^(REDIS_URL|SWITCHYARD_|LOGPLEX_)/.test(k)),
    );
    const child = spawn(process.execPath, [BIN, 'logplex'], { env: { ...clean, ...env } as NodeJS.ProcessEnv });
    let out = '';
    let err = '';
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.stdout.on('data', (d) => {
      out += String(d);
      if (untilOutput?.test(out)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d) => (err += String(d)));
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve({ code, out, err });
    });
  });
}

t.test('REDIS_URL is required', async (t) => {
  const r = await run({ SWITCHYARD_API_TOKEN: 'x'.repeat(20) });
  t.not(r.code, 0);
  t.match(r.err, /REDIS_URL/);
});

t.test('SWITCHYARD_API_TOKEN is required', async (t) => {
  const r = await run({ REDIS_URL });
  t.not(r.code, 0);
  t.match(r.err, /SWITCHYARD_API_TOKEN/);
});

t.test('starts on Redis, logs logfmt, and exits 0 on SIGTERM', async (t) => {
  const prefix = await prefixFor(t);
  if (prefix === undefined) return;
  const r = await run(
    {
      REDIS_URL,
      SWITCHYARD_PREFIX: prefix,
      SWITCHYARD_API_TOKEN: 'x'.repeat(20),
      SWITCHYARD_HOST: '127.0.0.1',
      LOGPLEX_PORT: '0',
      LOGPLEX_SYSLOG_PORT: '0',
    },
    /msg="logplex listening"/,
  );
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^at=info svc=logplex msg="logplex listening" http=\d+ syslog=\d+ store=redis url=redis:\/\/\S+$/m);
  t.match(r.out, /msg=stopped/);
});

// One start-up behaviour for both services (the router's twin is in cli-router.test.ts): a Redis
// away at start leaves the node up and not ready, saying so in one line naming the URL, not a stack.
t.test('with Redis unreachable at start, stays up and says so naming the URL', async (t) => {
  const port = await refusingPort();
  const url = `redis://127.0.0.1:${port}`;
  const r = await run(
    {
      REDIS_URL: url,
      SWITCHYARD_API_TOKEN: 'x'.repeat(20),
      SWITCHYARD_HOST: '127.0.0.1',
      LOGPLEX_PORT: '0',
      LOGPLEX_SYSLOG_PORT: '0',
    },
    /msg="Redis unreachable; not ready, retrying"/,
  );
  t.equal(r.code, 0, 'it was still running, and stopped on SIGTERM');
  t.match(r.out, /msg="logplex listening"/, 'listening without Redis');
  t.match(
    r.out,
    new RegExp(
      `^at=warn svc=logplex msg="Redis unreachable; not ready, retrying" url=redis://127.0.0.1:${port} reason=`,
      'm',
    ),
  );
  t.notMatch(r.out + r.err, /Reached the max retries|\n\s+at /, 'no ioredis wording, no stack trace');
});
