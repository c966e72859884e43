// ROUTER_WORKERS: several worker processes serve one port; SIGTERM stops them all with exit 0.
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { request } from 'undici';
import { startDyno } from '../fixtures/dyno';
import { eventually } from '../fixtures/router';

t.test('two workers share one port and both serve requests', async (t) => {
  const d = await startDyno(t);
  const child = spawn(process.execPath, [join(__dirname, '..', 'fixtures', 'cluster-router.js'), '2', String(d.port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await eventually(() => (out.match(/^listening /gm) ?? []).length >= 2, 10_000, 'both workers listening');
  const ports = new Set([...out.matchAll(/^listening (\d+)$/gm)].map((m) => m[1]));
  t.equal(ports.size, 1, 'one port for both workers');
  const port = [...ports][0]!;
  for (let i = 0; i < 40; i++) {
    // A new connection each time: the cluster hands connections to workers in turn.
    const res = await request(`http://127.0.0.1:${port}/`, {
      headers: { host: 'hello.localhost', connection: 'close' },
      reset: true,
    });
    t.equal(res.statusCode, 200);
    await res.body.text();
  }
  const pids = new Set([...out.matchAll(/^pid=(\d+) at=info /gm)].map((m) => m[1]));
  t.equal(pids.size, 2, 'both workers answered');
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM: every worker stopped, the primary exited 0');
});
