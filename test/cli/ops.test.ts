// The operator commands (`apps`, `apps:create`, `apps:info`, `apps:destroy`, `ps`, `domains*`,
// `maintenance*`, `drains*`) driven as the built CLI against a running `switchyard dev`
// (design.md §Control API, §Logplex API, §Drains): what they print, their --json, and their
// exit codes (docs/operations.md "Exit codes").
import t from 'tap';
import { request } from 'undici';
import { spawnCli, startDev, watchOutput } from '../fixtures/dev';
import { syslogSink } from '../fixtures/sinks';
import { platformEnv, runCli } from './run';

async function routed(router: string, host: string): Promise<{ status: number; body: string }> {
  const res = await request(router + '/', { headers: { host } });
  return { status: res.statusCode, body: await res.body.text() };
}

t.test('apps, domains, maintenance, ps and drains by app name', async (t) => {
  const dev = await startDev(t);
  const env = platformEnv(dev.admin, dev.logplex);
  const sy = (...args: string[]) => runCli(args, env);

  t.match(await sy('apps'), { code: 0, stdout: /no apps yet/ });
  const created = await sy('apps:create', 'shop');
  t.equal(created.code, 0, created.stderr);
  t.match(created.stdout, /Created shop: http:\/\/shop\.localhost\/\nLog channel \d+/);
  t.match(await sy('apps:create', 'Bad_Name'), {
    code: 4,
    stderr: /creating app Bad_Name: app name "Bad_Name" must match/,
  });
  t.match(await sy('apps:create', '-a', 'blog'), { code: 0 }, 'the name may come as -a too');
  t.match(await sy('apps:create', 'a1', 'b2'), { code: 2, stderr: /unexpected argument "b2"/ });
  t.match(await sy('apps'), { code: 0, stdout: 'blog\nshop\n' });
  t.same(JSON.parse((await sy('apps', '--json')).stdout), ['blog', 'shop']);

  const info = await sy('apps:info', '-a', 'shop');
  t.equal(info.code, 0);
  t.match(info.stdout, /=== shop\nDomains: +shop\.localhost\nDynos: +0 \(0 up\)\nMaintenance: +off/);
  // SWITCHYARD_APP stands in for -a.
  const infoJson = await runCli(['apps:info', '--json'], { ...env, SWITCHYARD_APP: 'shop' });
  t.match(JSON.parse(infoJson.stdout), { name: 'shop', maintenance: false, drains: 0, domains: ['shop.localhost'] });

  t.match(await sy('domains:add', 'www.shop.test', '-a', 'shop'), { code: 0, stdout: /Added www\.shop\.test to shop/ });
  t.match(await sy('domains:add', 'www.shop.test', '--app=blog'), { code: 4, stderr: /www\.shop\.test/ });
  t.same(JSON.parse((await sy('domains', '-a', 'shop', '--json')).stdout).sort(), ['shop.localhost', 'www.shop.test']);
  t.match(await sy('domains', '-a', 'shop'), { stdout: /shop\.localhost\nwww\.shop\.test/ });

  t.match(await sy('maintenance:on', '-a', 'shop'), { code: 0, stdout: /Maintenance mode on for shop/ });
  t.match(await sy('maintenance', '-a', 'shop'), { stdout: 'on\n' });
  const h80 = await routed(dev.router, 'www.shop.test');
  t.equal(h80.status, 503);
  t.match(h80.body, /H80|maintenance/i);
  t.match(await sy('maintenance:off', '-a', 'shop'), { code: 0 });
  t.match(await sy('maintenance', '-a', 'shop', '--json'), { stdout: /"maintenance": false/ });
  t.match(await sy('maintenance:on', '-a', 'nosuch'), { code: 3, stderr: /no app nosuch/ });
  t.equal((await sy('apps')).stdout, 'blog\nshop\n', 'maintenance:on of an unknown app created nothing');

  t.match(await sy('domains:remove', 'www.shop.test', '-a', 'shop'), { code: 0 });
  t.match(await sy('domains:remove', 'www.shop.test', '-a', 'shop'), {
    code: 3,
    stderr: /has no domain www\.shop\.test/,
  });

  // ps: a dyno started by the agent shows with its state, address, lease and in-flight count.
  t.match(await sy('ps', '-a', 'shop'), { code: 0, stdout: /shop has no dynos/ });
  const app = `require('http').createServer((q, s) => s.end('hi')).listen(+process.env.PORT, '127.0.0.1')`;
  const dyno = spawnCli(t, ['dyno', '-a', 'shop', '--name', 'web.1', '--', process.execPath, '-e', app], env);
  await watchOutput(dyno).waitFor(/msg="dyno up"/);
  const ps = await sy('ps', '-a', 'shop');
  t.match(ps.stdout, /^DYNO +STATE +ADDRESS +LEASE +IN-FLIGHT\nweb\.1 +up +127\.0\.0\.1:\d+ +\d+s left +0\n$/);
  t.match(JSON.parse((await sy('ps', '-a', 'shop', '--json')).stdout), [
    { name: 'web.1', state: 'up', lease_live: true, in_flight: 0 },
  ]);

  // drains by app name: the channel id is looked up, delivery status shown.
  const sink = await syslogSink();
  t.teardown(() => sink.close());
  const url = `syslog://127.0.0.1:${sink.port}`;
  t.match(await sy('drains', '-a', 'shop'), { code: 0, stdout: /shop has no drains/ });
  const added = await sy('drains:add', url, '-a', 'shop');
  t.equal(added.code, 0, added.stderr);
  t.match(added.stdout, new RegExp(`Added drain ${url} to shop \\(id \\d+, token d\\.`));
  t.match(await sy('drains:add', url, '-a', 'shop'), { code: 4, stderr: /already drains to/ });
  t.match(await sy('drains:add', 'ftp://x', '-a', 'shop'), { code: 4 });
  t.equal((await routed(dev.router, 'shop.localhost')).body, 'hi');
  await sink.until((lines) => lines.some((l) => /router/.test(l)), 15_000);
  let list = JSON.parse((await sy('drains', '-a', 'shop', '--json')).stdout);
  for (let i = 0; i < 50 && list[0].status.delivered === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    list = JSON.parse((await sy('drains', '-a', 'shop', '--json')).stdout);
  }
  t.match(list, [{ url, status: { lost: 0 } }]);
  t.ok(list[0].status.delivered > 0, 'delivery status is shown');
  const table = await sy('drains', '-a', 'shop');
  t.match(
    table.stdout,
    new RegExp(
      `^URL +ID +TOKEN +DELIVERED +BACKLOG +LOST +LAST SUCCESS +LAST ERROR\\n${url} +\\d+ +d\\.\\S+ +[1-9]\\d*`,
    ),
  );
  // Found as Logplex stores it: the URL as typed may differ in case and a trailing slash.
  t.match(await sy('drains:remove', url.toUpperCase().replace('SYSLOG', 'syslog') + '/', '-a', 'shop'), {
    code: 0,
    stdout: `Removed drain ${url} from shop\n`,
  });
  t.match(await sy('drains:remove', url, '-a', 'shop'), { code: 3, stderr: /shop has no drain/ });

  // apps:destroy asks for the name again; then the app and its channel are gone.
  t.match(await sy('apps:destroy', '-a', 'blog'), { code: 2, stderr: /--confirm blog/ });
  t.match(await sy('apps:destroy', '-a', 'blog', '--confirm', 'blog'), { code: 0, stdout: 'Destroyed blog\n' });
  t.match(await sy('apps:info', '-a', 'blog'), { code: 3, stderr: /app blog: no app blog/ });
  t.equal((await sy('apps')).stdout, 'shop\n');
});

t.test('exit codes and messages scripts can rely on', async (t) => {
  const dev = await startDev(t);
  const env = platformEnv(dev.admin, dev.logplex);
  t.match(await runCli(['apps:info'], env), { code: 2, stderr: /no app given: use -a APP \(or set SWITCHYARD_APP\)/ });
  t.match(await runCli(['ps', '-a', 'x', '--frobnicate'], env), { code: 2, stderr: /unknown option --frobnicate/ });
  t.match(await runCli(['domains:add', '-a', 'shop'], env), { code: 2, stderr: /missing HOST/ });
  t.match(await runCli(['apps:info', '-a', 'nosuch'], env), { code: 3 });
  // Nothing listening: exit 5, the URL and the setting to fix named.
  const down = await runCli(['apps'], { ...env, ROUTER_ADMIN_URL: 'http://127.0.0.1:1' });
  t.equal(down.code, 5);
  t.match(
    down.stderr,
    /listing apps: nothing answers \(GET http:\/\/127\.0\.0\.1:1\/v1\/apps: ECONNREFUSED\); is it running\? Point ROUTER_ADMIN_URL at it/,
  );
  const help = await runCli(['drains:add', '--help'], env);
  t.match(help, { code: 0, stdout: /Usage: switchyard drains:add URL -a APP/ });
  t.match(help.stdout, /SWITCHYARD_APP/);
  t.notMatch(help.stdout, /ROUTER_PORT |LOGPLEX_HISTORY_LINES/, 'only the settings the command reads');
  const version = await runCli(['--version'], env);
  t.match(version, { code: 0, stdout: /^switchyard \d+\.\d+\.\d+\n$/ });
  t.match(await runCli(['frobnicate'], env), { code: 2, stderr: /unknown command "frobnicate"/ });
});
