// The dyno agent (`switchyard dyno`, design.md §Processes and settings, §How the parts meet) against a real `switchyard dev`: it waits
// for CMD to listen, registers it, ships stdout and stderr as app[web.N] lines and platform
// events as heroku[web.N] lines, marks the dyno crashed when CMD exits on its own (router: H10),
// and on SIGTERM stops CMD and deregisters.
import t, { type Test } from 'tap';
import { request } from 'undici';
import { spawnCli, startDev, watchOutput, type DevProcess } from '../fixtures/dev';

// A tiny app: says it booted (stdout), warns (stderr), exits with status 3 on /exit.
const APP_JS = `
const http = require('http');
const s = http.createServer((req, res) => {
  res.end('ok ' + process.env.DYNO + '\\n');
  if (req.url === '/exit') setTimeout(() => process.exit(3), 20);
});
s.listen(Number(process.env.PORT), '127.0.0.1', () => { console.log('booted on ' + process.env.PORT); console.error('warn: stderr works'); });
process.on('SIGTERM', () => s.close(() => process.exit(0)));
`;

async function api(dev: DevProcess, method: string, path: string): Promise<{ status: number; body: any }> {
  const res = await request(dev.admin + path, { method: method as 'GET' });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
}

async function get(dev: DevProcess, host: string, path: string): Promise<{ status: number; body: string }> {
  const res = await request(dev.router + path, { headers: { host, accept: 'application/json' } });
  return { status: res.statusCode, body: await res.body.text() };
}

function exitOf(child: ReturnType<typeof spawnCli>): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function logsOf(t: Test, dev: DevProcess, app: string): Promise<string> {
  const child = spawnCli(t, ['logs', '--app', app, '--num', '200'], { LOGPLEX_URL: dev.logplex });
  const out = watchOutput(child);
  await exitOf(child);
  return out.output();
}

t.test('dyno agent: register, ship output, crash (H10), stop and deregister', async (t) => {
  const dev = await startDev(t);
  t.equal((await api(dev, 'PUT', '/v1/apps/crashy')).status, 201);
  const env = { ROUTER_ADMIN_URL: dev.admin, LOGPLEX_URL: dev.logplex, SWITCHYARD_GRACE_MS: '3000' };
  // --no-restart: this test is about one crash; restarts have their own test (dyno-restart.test.ts).
  const web1 = spawnCli(
    t,
    ['dyno', '--app', 'crashy', '--name', 'web.1', '--no-restart', '--', process.execPath, '-e', APP_JS],
    env,
  );
  const web2 = spawnCli(t, ['dyno', '--app', 'crashy', '--name', 'web.2', '--', process.execPath, '-e', APP_JS], env);
  const out1 = watchOutput(web1);
  const out2 = watchOutput(web2);
  await out1.waitFor(/msg="dyno up"/);
  await out2.waitFor(/msg="dyno up"/);
  const view = await api(dev, 'GET', '/v1/apps/crashy');
  t.same(view.body.dynos.map((d: { name: string; state: string }) => [d.name, d.state]).sort(), [
    ['web.1', 'up'],
    ['web.2', 'up'],
  ]);

  // SIGTERM: CMD stops, the agent deregisters and exits 0.
  web2.kill('SIGTERM');
  t.equal(await exitOf(web2), 0, 'agent exits 0 after SIGTERM');
  t.same(
    (await api(dev, 'GET', '/v1/apps/crashy')).body.dynos.map((d: { name: string }) => d.name),
    ['web.1'],
    'web.2 deregistered',
  );

  t.equal((await get(dev, 'crashy.localhost', '/')).body, 'ok web.1\n');
  // CMD exits on its own with status 3: the agent marks the dyno crashed and exits with it.
  t.equal((await get(dev, 'crashy.localhost', '/exit')).status, 200);
  t.equal(await exitOf(web1), 3, 'agent exits with the status of CMD');
  const crashed = await api(dev, 'GET', '/v1/apps/crashy');
  t.same(
    crashed.body.dynos.map((d: { name: string; state: string }) => [d.name, d.state]),
    [['web.1', 'crashed']],
  );
  let r = await get(dev, 'crashy.localhost', '/');
  for (let i = 0; i < 50 && r.status !== 503; i++) r = await get(dev, 'crashy.localhost', '/');
  t.equal(r.status, 503);
  t.match(r.body, /H10/, 'every dyno crashed: H10');

  const logs = await logsOf(t, dev, 'crashy');
  for (const re of [
    /heroku\[web\.1\]: Starting process with command `/,
    /heroku\[web\.1\]: State changed from starting to up/,
    /app\[web\.1\]: booted on \d+/,
    /app\[web\.1\]: warn: stderr works/,
    /heroku\[web\.2\]: Stopping all processes with SIGTERM/,
    /heroku\[web\.2\]: Process exited with status 0/,
    /heroku\[web\.1\]: Process exited with status 3/,
    /heroku\[web\.1\]: State changed from up to crashed/,
    /heroku\[router\]: at=error code=H10 desc="App crashed"/,
  ]) {
    t.match(logs, re);
  }
});

t.test('dyno agent: clear errors for bad arguments and unknown apps', async (t) => {
  const dev = await startDev(t);
  const env = { ROUTER_ADMIN_URL: dev.admin, LOGPLEX_URL: dev.logplex };
  const cases: [string[], number, RegExp][] = [
    [
      ['dyno', '--app', 'nosuch', '--name', 'web.1', '--', 'true'],
      1,
      /no app "nosuch" \(create it: switchyard apps:create nosuch\)/,
    ],
    [['dyno', '--app', 'nosuch', '--name', 'web.1'], 2, /a command after -- is required/],
    [['dyno', '--app', 'nosuch', '--name', 'web', '--', 'true'], 2, /--name must match/],
    [['dyno', '--app', 'X', '--name', 'web.1', '--', 'true'], 2, /--app must match/],
    [
      ['dyno', '--app', 'nosuch', '--name', 'web.1', '--ttl', '0', '--', 'true'],
      2,
      /--ttl must be an integer from 3 to 3600/,
    ],
  ];
  for (const [args, code, re] of cases) {
    const child = spawnCli(t, args, env);
    const out = watchOutput(child);
    t.equal(await exitOf(child), code, args.join(' '));
    t.match(out.output(), re);
  }
});
