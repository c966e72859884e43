// A redis-server that hangs with its sockets open (design.md §Stores): the client reports it down
// once a command has waited SILENCE_MS, commands sent meanwhile wait and are answered in order when
// it wakes, and past MAX_WAITING_ON_SILENCE new ones fail at once. A private redis-server is stopped
// (SIGSTOP) and continued under one client.
import t from 'tap';
import { commandsInFlight, createRedis, MAX_WAITING_ON_SILENCE, RedisHealth, waitReady } from '../../src/shared/redis';
import { eventually } from '../fixtures/eventually';
import { ownRedisFor } from '../fixtures/redis-server';

t.test('silent Redis: reported down, commands wait up to the bound, all answered on wake', async (t) => {
  const redis = await ownRedisFor(t);
  if (!redis) return;
  const client = createRedis(redis.url);
  t.teardown(() => client.disconnect());
  const health = new RedisHealth(client);
  await waitReady(client);
  await eventually(() => health.up, 5000, 'up');
  await client.set('silence:k', 'v');

  redis.pause();
  const first = client.get('silence:k');
  await eventually(() => !health.up, 5000, 'reported down while the server hangs');
  t.match(health.lastError, /not answering/);
  const waiting = Array.from({ length: MAX_WAITING_ON_SILENCE - 1 }, (_, i) => client.incr(`silence:n${i % 10}`));
  t.equal(commandsInFlight(client), MAX_WAITING_ON_SILENCE, 'every command up to the bound was sent and waits');
  await t.rejects(client.get('silence:k'), { code: 'SY_REDIS_UNAVAILABLE' }, 'past the bound a command fails at once');

  redis.resume();
  t.equal(await first, 'v', 'the command sent before the silence is answered');
  const counts = await Promise.all(waiting);
  t.equal(counts.length, MAX_WAITING_ON_SILENCE - 1, 'every waiting command is answered');
  t.equal(Number(await client.get('silence:n0')), Math.ceil((MAX_WAITING_ON_SILENCE - 1) / 10), 'each ran once');
  await eventually(() => health.up, 5000, 'up again');
  t.equal(commandsInFlight(client), 0);
});
