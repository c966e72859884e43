// `switchyard router` as an operator runs it: refuses to start without its required settings,
// naming them; starts on Redis, serves /readyz and the control API, stops on SIGTERM with 0.
import { spawn } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { REDIS_URL, redisPrefix } from '../fixtures/redis';
import { eventually, TEST_TOKEN } from '../fixtures/router';

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
  const child = spawn(
    process.execPath,
    [
      BIN,
      'router',
      '--router-admin-port',
      '0',
      '--router-port',
      '0',
      '--router-tls-port',
      '0',
      '--switchyard-host',
      '127.0.0.1',
    ],
    {
      env: { ...baseEnv(), REDIS_URL, SWITCHYARD_API_TOKEN: TEST_TOKEN, SWITCHYARD_PREFIX: prefix },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  await eventually(() => /admin_port=\d+/.test(stdout), 10_000, 'router ready line');
  for (const line of stdout.trim().split('\n')) t.match(line, /^at=(info|warn|debug|error) /, 'logfmt starting at=');
  const port = Number(/admin_port=(\d+)/.exec(stdout)![1]);
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
  t.match(stdout, /msg=stopped/);
});
