// The dyno agent as a dyno manager (design.md §Processes and settings, §How the parts meet):
// a crashed command is restarted by the policy it is handed (the sequence of cool-downs is
// asserted, never elapsed time), a second agent with the same name is refused, a 401 from
// Logplex (the channel was recreated) is said once and the lines resent under the new token,
// and a 404 on heartbeat (the app is gone from the store) registers the app and dyno again.
import t from 'tap';
import { DynoAgent } from '../../src/cli/platform/dyno-agent';
import { HEROKU_RESTART_POLICY, MAX_COOLDOWN_MS, type RestartPolicy } from '../../src/cli/platform/restart-policy';
import { freePort } from '../../src/cli/platform/wait-listening';
import { silentLogger } from '../../src/shared/log';
import { spawnCli, startDev, watchOutput } from '../fixtures/dev';
import { platformEnv, runCli } from './run';

t.test("Heroku's policy: at once, then cool-downs doubling from 10 s, capped at 20 minutes", async (t) => {
  const delays = Array.from({ length: 12 }, (_, i) => HEROKU_RESTART_POLICY.delayMs(i + 1));
  t.same(
    delays,
    [0, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000, 1_200_000, 1_200_000, 1_200_000, 1_200_000],
  );
  t.equal(Math.max(...(delays as number[])), MAX_COOLDOWN_MS);
});

t.test('a crashing command is restarted with the policy; each transition is a heroku line', async (t) => {
  const dev = await startDev(t);
  const env = platformEnv(dev.admin, dev.logplex);
  t.equal((await runCli(['apps:create', 'crashloop'], env)).code, 0);
  const slept: number[] = [];
  const asked: number[] = [];
  // Heroku's delays for five crashes, then stop: the agent ends with the command's status.
  const policy: RestartPolicy = {
    delayMs: (n) => (asked.push(n), n <= 5 ? HEROKU_RESTART_POLICY.delayMs(n) : undefined),
    resetAfterMs: HEROKU_RESTART_POLICY.resetAfterMs,
  };
  const agent = new DynoAgent({
    admin: { url: dev.admin, token: undefined },
    logplex: { url: dev.logplex, token: undefined },
    app: 'crashloop',
    name: 'web.1',
    host: '127.0.0.1',
    port: await freePort('127.0.0.1'),
    ttl: 30,
    log: silentLogger,
    graceMs: 1000,
    bootTimeoutMs: 10_000,
    policy,
    // The cool-down is recorded, not waited out.
    sleep: async (ms) => void slept.push(ms),
    say: () => undefined,
  });
  await agent.refreshTokens();
  const status = await agent.run([process.execPath, '-e', 'process.exit(7)']);
  t.equal(status, 7, 'the agent ends with the status of the last crash');
  t.same(asked, [1, 2, 3, 4, 5, 6], 'the policy is asked once per crash, counting up');
  t.same(slept, [0, 10_000, 20_000, 40_000, 80_000], 'restarted at once, then after growing cool-downs');

  let logs = '';
  for (let i = 0; i < 150 && (logs.match(/Process exited with status 7/g) ?? []).length < 6; i++) {
    await new Promise((r) => setTimeout(r, 100));
    logs = (await runCli(['logs', '--app', 'crashloop', '--num', '500'], env)).stdout;
  }
  const transitions = logs.match(/heroku\[web\.1\]: State changed from \w+ to \w+/g) ?? [];
  t.same(
    transitions.map((l) => l.replace(/^.*State changed /, '')),
    [
      'from starting to crashed',
      ...Array.from({ length: 5 }, () => ['from crashed to starting', 'from starting to crashed']).flat(),
    ],
  );
  t.equal((logs.match(/heroku\[web\.1\]: Starting process with command/g) ?? []).length, 6);
  const ps = JSON.parse((await runCli(['ps', '-a', 'crashloop', '--json'], env)).stdout);
  t.match(ps, [{ name: 'web.1', state: 'crashed' }]);
});

const SERVER = `require('http').createServer((q, s) => s.end('ok')).listen(+process.env.PORT, '127.0.0.1');
setInterval(() => console.log('tick ' + Date.now()), 100);`;

t.test('a second agent with the same name is refused', async (t) => {
  const dev = await startDev(t);
  const env = platformEnv(dev.admin, dev.logplex);
  await runCli(['apps:create', 'twins'], env);
  const first = spawnCli(t, ['dyno', '-a', 'twins', '--name', 'web.1', '--', process.execPath, '-e', SERVER], env);
  await watchOutput(first).waitFor(/msg="dyno up"/);
  const second = await runCli(['dyno', '-a', 'twins', '--name', 'web.1', '--', process.execPath, '-e', SERVER], env);
  t.equal(second.code, 1);
  t.match(
    second.stderr,
    /switchyard dyno: twins already has web\.1 \(up, at 127\.0\.0\.1:\d+, lease \d+ s left\): another agent runs it/,
  );
  t.equal(first.exitCode, null, 'the first agent still runs');
});

t.test(
  '401 from Logplex: said once, new tokens fetched, lines resent; 404 on heartbeat: registered again',
  async (t) => {
    const dev = await startDev(t);
    const env = platformEnv(dev.admin, dev.logplex);
    await runCli(['apps:create', 'phoenix'], env);
    const agent = spawnCli(
      t,
      ['dyno', '-a', 'phoenix', '--name', 'web.1', '--ttl', '3', '--', process.execPath, '-e', SERVER],
      env,
    );
    const out = watchOutput(agent);
    await out.waitFor(/msg="dyno up"/);

    // The app is destroyed and made again: a new channel, new tokens; the agent's old ones get 401.
    // The agent is held still meanwhile: a heartbeat between the two would find the app gone (404) and
    // register it again itself, with fresh tokens, and this run would never see the 401.
    process.kill(agent.pid!, 'SIGSTOP');
    t.teardown(() => void (agent.exitCode === null && agent.kill('SIGCONT')));
    t.equal((await runCli(['apps:destroy', '-a', 'phoenix', '--confirm', 'phoenix'], env)).code, 0);
    t.equal((await runCli(['apps:create', 'phoenix'], env)).code, 0);
    process.kill(agent.pid!, 'SIGCONT');
    await out.waitFor(/Logplex at http:\S+ refused phoenix's log token \(401\): its channel was probably recreated/);
    let logs = '';
    for (let i = 0; i < 150 && !/app\[web\.1\]: tick/.test(logs); i++) {
      await new Promise((r) => setTimeout(r, 100));
      logs = (await runCli(['logs', '--app', 'phoenix', '--num', '50'], env)).stdout;
    }
    t.match(logs, /app\[web\.1\]: tick \d+/, 'lines reach the new channel');
    await new Promise((r) => setTimeout(r, 500));
    t.equal((out.output().match(/refused phoenix's log token/g) ?? []).length, 1, 'said once');

    // Gone without a new app: the next heartbeat gets 404, and the agent puts app and dyno back.
    t.equal((await runCli(['apps:destroy', '-a', 'phoenix', '--confirm', 'phoenix'], env)).code, 0);
    await out.waitFor(
      /phoenix is gone from the control API's store \(404 on heartbeat\); registering phoenix and web\.1 again/,
    );
    let ps: { name: string; state: string }[] = [];
    for (let i = 0; i < 150 && !ps.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await runCli(['ps', '-a', 'phoenix', '--json'], env);
      if (r.code === 0) ps = JSON.parse(r.stdout);
    }
    t.match(ps, [{ name: 'web.1', state: 'up' }]);
  },
);
