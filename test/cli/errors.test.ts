// Errors in our words (design.md §Processes and settings): a misspelt setting is named with the
// nearest valid one, a secret never appears in an error, each command's --help lists only what
// it reads, a taken port is explained the same way by dev, router and logplex, a LOGPLEX_URL
// that does not answer keeps the router from starting, `dev` says it ignores REDIS_URL, and
// `npm start --demo` (npm keeps the flag) still starts the demo and says what to type, and an
// app whose channel cannot be made is an error naming the cause.
import { createServer, type Server } from 'node:net';
import t, { type Test } from 'tap';
import { REDIS_URL, redisPrefix } from '../fixtures/redis';
import { TEST_TOKEN } from '../fixtures/router';
import { devPorts, spawnCli, stopChild, watchOutput } from '../fixtures/dev';
import { runCli } from './run';

/** The caller's environment without any of our settings, so only the test's own count. */
function cleanEnv(extra: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const k of Object.keys(process.env))
    if (/^(REDIS_URL|SWITCHYARD_|ROUTER_|LOGPLEX_|DYNO_|npm_config_demo)/.test(k)) env[k] = undefined;
  return { ...env, ...extra };
}

async function taken(t: Test): Promise<number> {
  const srv: Server = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  return (srv.address() as { port: number }).port;
}

t.test('a misspelt setting is warned about with the nearest valid name', async (t) => {
  const r = await runCli(['apps', '--help'], cleanEnv({ LOGPLEX_PROT: '9000', SWITCHYARD_GRACE: '1' }));
  t.equal(r.code, 0);
  t.match(r.stderr, /switchyard: warning: LOGPLEX_PROT is not a setting and is ignored; did you mean LOGPLEX_PORT\?/);
  t.match(r.stderr, /warning: SWITCHYARD_GRACE is not a setting and is ignored; did you mean SWITCHYARD_GRACE_MS\?/);
  const clean = await runCli(['apps', '--help'], cleanEnv({ LOGPLEX_PORT: '9000' }));
  t.equal(clean.stderr, '', 'no warning for a valid name');
});

t.test('secrets are never echoed in errors', async (t) => {
  const r = await runCli(['router'], cleanEnv({ REDIS_URL, SWITCHYARD_API_TOKEN: 'tiny-secret' }));
  t.equal(r.code, 2);
  t.match(r.stderr, /SWITCHYARD_API_TOKEN \(value hidden, 11 characters\) is invalid: expected 16-256 printable ASCII/);
  t.notMatch(r.stderr, /tiny-secret/);
  const url = await runCli(['router'], cleanEnv({ REDIS_URL: 'http://admin:hunter2hunter2@127.0.0.1/' }));
  t.match(url.stderr, /REDIS_URL="http:\/\/admin:\*\*\*@127\.0\.0\.1\/" is invalid/);
  t.notMatch(url.stderr, /hunter2/);
});

t.test("each command's --help lists only the settings it reads", async (t) => {
  const help = async (cmd: string) => (await runCli([cmd, '--help'], cleanEnv({}))).stdout;
  const dyno = await help('dyno');
  t.match(dyno, /DYNO_BOOT_TIMEOUT_MS/);
  t.match(dyno, /ROUTER_ADMIN_URL/);
  t.match(dyno, /LOGPLEX_URL/);
  t.notMatch(dyno, /\bROUTER_PORT\b|REDIS_URL|LOGPLEX_HISTORY_LINES/);
  const router = await help('router');
  t.match(router, /REDIS_URL[\s\S]*ROUTER_PORT/);
  t.notMatch(router, /LOGPLEX_HISTORY_LINES|DYNO_BOOT_TIMEOUT_MS|ROUTER_ADMIN_URL/);
  const logplex = await help('logplex');
  t.match(logplex, /LOGPLEX_HISTORY_LINES/);
  t.notMatch(logplex, /\bROUTER_PORT\b|DYNO_BOOT_TIMEOUT_MS|LOGPLEX_URL/);
  const dev = await help('dev');
  t.match(dev, /ROUTER_PORT[\s\S]*LOGPLEX_PORT/);
  t.notMatch(dev, /REDIS_URL|SWITCHYARD_API_TOKEN|DYNO_BOOT_TIMEOUT_MS/);
});

t.test('a port in use: router and logplex say it as dev does', async (t) => {
  const prefix = await redisPrefix(t);
  if (!prefix) return;
  const port = await taken(t);
  const env = cleanEnv({
    REDIS_URL,
    SWITCHYARD_API_TOKEN: TEST_TOKEN,
    SWITCHYARD_PREFIX: prefix,
    SWITCHYARD_HOST: '127.0.0.1',
  });
  const router = await runCli(
    ['router', '--router-port', '0', '--router-tls-port', '0', '--router-admin-port', String(port)],
    env,
  );
  t.equal(router.code, 1);
  t.match(
    router.stderr,
    new RegExp(
      `^switchyard router: 127\\.0\\.0\\.1:${port} is already in use; choose other ports with --router-port, --router-tls-port and --router-admin-port \\(0 = any free port\\)\\n$`,
    ),
  );
  const lp = await runCli(['logplex', '--logplex-port', String(port), '--logplex-syslog-port', '0'], env);
  t.equal(lp.code, 1);
  t.match(
    lp.stderr,
    new RegExp(
      `^switchyard logplex: 127\\.0\\.0\\.1:${port} is already in use; choose other ports with --logplex-port and --logplex-syslog-port \\(0 = any free port\\)\\n$`,
    ),
  );
});

t.test('the router refuses to start when LOGPLEX_URL does not answer as Logplex', async (t) => {
  const prefix = await redisPrefix(t);
  if (!prefix) return;
  const env = cleanEnv({
    REDIS_URL,
    SWITCHYARD_API_TOKEN: TEST_TOKEN,
    SWITCHYARD_PREFIX: prefix,
    SWITCHYARD_HOST: '127.0.0.1',
    LOGPLEX_URL: 'http://127.0.0.1:1',
  });
  const r = await runCli(['router', '--router-port', '0', '--router-tls-port', '0', '--router-admin-port', '0'], env);
  t.equal(r.code, 1);
  t.match(
    r.stderr,
    /^switchyard router: LOGPLEX_URL=http:\/\/127\.0\.0\.1:1 is not usable: nothing answers \(GET http:\/\/127\.0\.0\.1:1\/v2\/channels\?name=switchyard-probe: ECONNREFUSED\) \(tried for 4\.5 s\)\. Start Logplex first, fix LOGPLEX_URL, or unset it to run without app logs\n$/,
  );
});

t.test('dev says that it ignores REDIS_URL; npm start --demo still starts the demo', async (t) => {
  const dev = spawnCli(
    t,
    ['dev', ...devPorts()],
    cleanEnv({ REDIS_URL: 'redis://u:secretpw@127.0.0.1:6379', npm_config_demo: 'true' }),
  );
  const out = watchOutput(dev);
  await out.waitFor(/Switchyard dev is running/);
  t.match(
    out.output(),
    /switchyard dev: REDIS_URL=redis:\/\/u:\*\*\*@127\.0\.0\.1:6379 is ignored: dev runs on the embedded store/,
  );
  t.notMatch(out.output(), /secretpw/);
  t.match(
    out.output(),
    /npm kept --demo for itself \(`npm start --demo`\); starting the demo anyway\. Type `npm start -- --demo` or `npm run demo`/,
  );
  await out.waitFor(/Try it \(app "hello" with dynos web\.1, web\.2\)/);
});

t.test('Logplex gone after start: apps:create fails naming the cause, never "channel": null', async (t) => {
  const prefix = await redisPrefix(t);
  if (!prefix) return;
  const base = cleanEnv({
    REDIS_URL,
    SWITCHYARD_API_TOKEN: TEST_TOKEN,
    SWITCHYARD_PREFIX: prefix,
    SWITCHYARD_HOST: '127.0.0.1',
    SWITCHYARD_GRACE_MS: '1000',
  });
  const lp = spawnCli(t, ['logplex', '--logplex-port', '0', '--logplex-syslog-port', '0'], base);
  const lpUrl = `http://127.0.0.1:${(await watchOutput(lp).waitFor(/msg="logplex listening" http=(\d+)/))[1]}`;
  const router = spawnCli(t, ['router', '--router-port', '0', '--router-tls-port', '0', '--router-admin-port', '0'], {
    ...base,
    LOGPLEX_URL: lpUrl,
  });
  const admin = `http://127.0.0.1:${(await watchOutput(router).waitFor(/msg="router ready" port=\d+ admin_port=(\d+)/))[1]}`;
  const env = { ...base, ROUTER_ADMIN_URL: admin, LOGPLEX_URL: lpUrl };
  const made = await runCli(['apps:create', 'early'], env);
  t.equal(made.code, 0, made.stderr);
  t.match(made.stdout, /Log channel \d+/);

  t.equal(await stopChild(lp), 0);
  const late = await runCli(['apps:create', 'late'], env);
  t.equal(late.code, 5, 'unavailable');
  t.match(
    late.stderr,
    /^switchyard apps:create: creating app late: app late exists, but its Logplex channel could not be made \(POST http:\/\/127\.0\.0\.1:\d+\/v2\/channels: ECONNREFUSED\); check LOGPLEX_URL on the router, then PUT \/v1\/apps\/late again\n$/,
  );
  const info = JSON.parse((await runCli(['apps:info', '-a', 'late', '--json'], env)).stdout);
  t.equal(info.channel, null, 'the app exists without a channel, and the failure was said');
});
