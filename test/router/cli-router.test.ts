// `switchyard router` as an operator runs it: refuses to start without its required settings,
// naming them; starts on Redis, serves /readyz and the control API, stops on SIGTERM with 0.
import { spawn } from 'node:child_process';
import path from 'node:path';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { refusingPort } from '../fixtures/dyno';
import { REDIS_URL, redisPrefix } from '../fixtures/redis';
import { eventually, startTestRouter, TEST_TOKEN } from '../fixtures/router';

const BIN = path.resolve(__dirname, '../../../dist/cli/main.js');

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(REDIS_URL|SWITCHYARD_|ROUTER_|LOGPLEX_)/.test(k)) env[k] = v;
  return env;
}

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** `switchyard router ARGS` on 127.0.0.1 as a child, killed at teardown; `out()` is what it printed so far. */
function startRouter(t: Test, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [BIN, 'router', ...args, '--switchyard-host', '127.0.0.1'], {
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  return { child, exited, out: () => stdout };
}

t.test('refuses to start without REDIS_URL or SWITCHYARD_API_TOKEN, naming the variable', async (t) => {
  const noRedis = await runCli(['router'], { ...baseEnv(), SWITCHYARD_API_TOKEN: TEST_TOKEN });
  t.not(noRedis.code, 0);
  t.match(noRedis.stderr, /REDIS_URL/);
  t.equal(noRedis.stderr.trim().split('\n').length, 1, 'one line');
  const noToken = await runCli(['router'], { ...baseEnv(), REDIS_URL });
  t.not(noToken.code, 0);
  t.match(noToken.stderr, /SWITCHYARD_API_TOKEN/);
  const badPort = await runCli(['router', '--router-admin-port', 'x'], {
    ...baseEnv(),
    REDIS_URL,
    SWITCHYARD_API_TOKEN: TEST_TOKEN,
  });
  t.not(badPort.code, 0);
  t.match(badPort.stderr, /ROUTER_ADMIN_PORT="x"/);
});

t.test('starts on Redis, logs logfmt, answers the control API, stops on SIGTERM with 0', async (t) => {
  const prefix = await redisPrefix(t);
  if (!prefix) return;
  const { child, exited, out } = startRouter(
    t,
    ['--router-admin-port', '0', '--router-port', '0', '--router-tls-port', '0'],
    {
      REDIS_URL,
      SWITCHYARD_API_TOKEN: TEST_TOKEN,
      SWITCHYARD_PREFIX: prefix,
    },
  );
  await eventually(() => /admin_port=\d+/.test(out()), 10_000, 'router ready line');
  for (const line of out().trim().split('\n')) t.match(line, /^at=(info|warn|debug|error) /, 'logfmt starting at=');
  const port = Number(/admin_port=(\d+)/.exec(out())![1]);
  const base = `http://127.0.0.1:${port}`;
  const ready = await request(`${base}/readyz`);
  t.equal(ready.statusCode, 200);
  await ready.body.text();
  const put = await request(`${base}/v1/apps/cli-app`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TEST_TOKEN}` },
    body: '{}',
  });
  t.equal(put.statusCode, 201);
  t.match(await put.body.json(), { domains: ['cli-app.localhost'] });
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exit 0 after SIGTERM');
  t.match(out(), /msg=stopped/);
});

// One start-up behaviour for both services (Logplex's twin is in logplex/cli.test.ts): a Redis away
// at start leaves the router up and not ready, saying so in one line naming the URL.
t.test('with Redis unreachable at start, stays up, not ready, and says so naming the URL', async (t) => {
  const redisPort = await refusingPort();
  const { child, exited, out } = startRouter(
    t,
    ['--router-admin-port', '0', '--router-port', '0', '--router-tls-port', '0'],
    {
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      SWITCHYARD_API_TOKEN: TEST_TOKEN,
    },
  );
  await eventually(() => /Redis unreachable/.test(out()) && /admin_port=\d+/.test(out()), 10_000, 'both lines');
  t.match(
    out(),
    new RegExp(
      `^at=warn svc=router msg="Redis unreachable; not ready, retrying" url=redis://127.0.0.1:${redisPort} `,
      'm',
    ),
  );
  t.notMatch(out(), /Reached the max retries|resync failed/, 'one line in our words, not one per retry');
  const port = Number(/admin_port=(\d+)/.exec(out())![1]);
  const ready = await request(`http://127.0.0.1:${port}/readyz`);
  t.equal(ready.statusCode, 503);
  t.match(await ready.body.json(), { status: 'not_ready', reason: 'loading' });
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exit 0 after SIGTERM');
});

// `--reseed` starts nothing: it asks the node at ROUTER_ADMIN_URL to write its table back, and
// says what the node answered (here: a memory store that lost nothing, so 409 and exit 1).
t.test('router --reseed asks the running node and reports its answer', async (t) => {
  const r = await startTestRouter(t, { store: 'memory' });
  if (!r) return;
  const res = await runCli(['router', '--reseed'], {
    ...baseEnv(),
    REDIS_URL,
    SWITCHYARD_API_TOKEN: TEST_TOKEN,
    ROUTER_ADMIN_URL: r.adminUrl,
  });
  t.equal(res.code, 1);
  t.match(res.stderr, /answered 409: .*nothing to reseed/);
});
