// Production shape (DESIGN §1, §5): `switchyard logplex` and `switchyard router` as separate
// processes on one Redis (own key prefix), with the API token. A new app gets its channel via
// the control API's hook, a `switchyard dyno` registers and ships its output, and a request
// through the router shows up in `switchyard logs` as a router line and an app line.
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { spawnCli, watchOutput } from '../fixtures/dev';
import { runCli } from '../cli/run';
import { REDIS_URL, redisPrefix } from '../fixtures/redis';

const TOKEN = 'platform-test-token-0123456789';

function exitOf(child: ReturnType<typeof spawnCli>): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function logs(t: Test, env: Record<string, string>, app: string): Promise<{ code: number | null; out: string }> {
  const child = spawnCli(t, ['logs', '--app', app, '--num', '100'], env);
  const w = watchOutput(child);
  const code = await exitOf(child);
  return { code, out: w.output() };
}

t.test('router and logplex nodes on Redis, with a dyno and switchyard logs', async (t) => {
  const prefix = await redisPrefix(t);
  if (prefix === undefined) return;
  const base = {
    REDIS_URL,
    SWITCHYARD_PREFIX: prefix,
    SWITCHYARD_API_TOKEN: TOKEN,
    SWITCHYARD_HOST: '127.0.0.1',
    SWITCHYARD_GRACE_MS: '2000',
  };
  const lp = spawnCli(t, ['logplex', '--logplex-port', '0', '--logplex-syslog-port', '0'], base);
  const lpUrl = `http://127.0.0.1:${(await watchOutput(lp).waitFor(/msg="logplex listening" http=(\d+)/))[1]}`;
  const router = spawnCli(t, ['router', '--router-port', '0', '--router-admin-port', '0'], {
    ...base,
    LOGPLEX_URL: lpUrl,
  });
  const m = await watchOutput(router).waitFor(/msg="router ready" port=(\d+) admin_port=(\d+)/);
  const routerUrl = `http://127.0.0.1:${m[1]}`;
  const adminUrl = `http://127.0.0.1:${m[2]}`;

  const put = await request(`${adminUrl}/v1/apps/redisapp`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: '{}',
  });
  const app = (await put.body.json()) as { channel: string | null };
  t.equal(put.statusCode, 201);
  t.match(app.channel, /^[0-9]+$/, 'the new app got a Logplex channel');

  const env = { ...base, ROUTER_ADMIN_URL: adminUrl, LOGPLEX_URL: lpUrl };
  const dyno = spawnCli(
    t,
    [
      'dyno',
      '--app',
      'redisapp',
      '--name',
      'web.1',
      '--',
      process.execPath,
      '-e',
      "require('http').createServer((q,s)=>{console.log('served '+q.url);s.end('hi')}).listen(+process.env.PORT,'127.0.0.1')",
    ],
    env,
  );
  await watchOutput(dyno).waitFor(/msg="dyno up"/);

  const id = 'redis-' + randomUUID();
  // "dyno up" means the dyno registered as up in Redis; the router learns it through a route event
  // and a reload, which can lag on a loaded machine. Wait (bounded) until the router routes to it.
  const routed = Date.now() + 20_000;
  let res = await request(`${routerUrl}/warmup`, { headers: { host: 'redisapp.localhost' } });
  while (res.statusCode !== 200 && Date.now() < routed) {
    await res.body.dump();
    await new Promise((r) => setTimeout(r, 100));
    res = await request(`${routerUrl}/warmup`, { headers: { host: 'redisapp.localhost' } });
  }
  await res.body.dump();
  res = await request(`${routerUrl}/via-redis`, { headers: { host: 'redisapp.localhost', 'x-request-id': id } });
  t.equal(res.statusCode, 200);
  t.equal(await res.body.text(), 'hi');

  // Each `switchyard logs` is a process start; bound the wait by time, not by a count of tries.
  let out = '';
  const shipped = Date.now() + 30_000;
  while (!(out.includes(`request_id=${id}`) && out.includes('app[web.1]: served /via-redis')) && Date.now() < shipped) {
    if (out) await new Promise((r) => setTimeout(r, 100));
    out = (await logs(t, env, 'redisapp')).out;
  }
  t.match(
    out,
    new RegExp(
      `heroku\\[router\\]: at=info method=GET path="/via-redis" host=redisapp\\.localhost request_id=${id} .*dyno=web\\.1 .*status=200`,
    ),
  );
  t.match(out, /app\[web\.1\]: served \/via-redis/);
  t.match(out, /heroku\[web\.1\]: State changed from starting to up/);

  const noToken = await logs(t, { ...env, SWITCHYARD_API_TOKEN: '' }, 'redisapp');
  t.equal(noToken.code, 1);
  t.match(noToken.out, /switchyard logs: .*\(set SWITCHYARD_API_TOKEN\)/);

  // The operator commands carry the token to both nodes; without it they exit 6 and say which setting.
  const ps = await runCli(['ps', '-a', 'redisapp', '--json'], env);
  t.match(JSON.parse(ps.stdout), [{ name: 'web.1', state: 'up', lease_live: true }]);
  t.equal((await runCli(['drains:add', 'syslog://127.0.0.1:9', '-a', 'redisapp'], env)).code, 0);
  t.match(JSON.parse((await runCli(['drains', '-a', 'redisapp', '--json'], env)).stdout), [
    { url: 'syslog://127.0.0.1:9', status: { delivered: 0 } },
  ]);
  const wrong = await runCli(['apps'], { ...env, SWITCHYARD_API_TOKEN: 'not-the-token-at-all' });
  t.equal(wrong.code, 6);
  t.match(wrong.stderr, /listing apps: invalid API token; set SWITCHYARD_API_TOKEN to the API token/);
  t.notMatch(wrong.stderr, /not-the-token-at-all/, 'the token is not echoed');

  // SIGTERM: each node stops gracefully with exit 0.
  dyno.kill('SIGTERM');
  t.equal(await exitOf(dyno), 0);
  router.kill('SIGTERM');
  lp.kill('SIGTERM');
  t.equal(await exitOf(router), 0);
  t.equal(await exitOf(lp), 0);
});
