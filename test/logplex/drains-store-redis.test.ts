import t from 'tap';
import { RedisDrainStore } from '../../src/logplex/drains/store/redis';
import { RedisLogStore } from '../../src/logplex/store/redis';
import { createRedis } from '../../src/shared/redis';
import { prefixFor } from '../fixtures/logplex';
import { REDIS_URL } from '../fixtures/redis';
import { drainStoreContract } from './drains-store.contract';

drainStoreContract(t, async (t, historyLines) => {
  const prefix = await prefixFor(t);
  if (prefix === undefined) return undefined;
  const redis = createRedis(REDIS_URL);
  const log = new RedisLogStore(redis, { prefix, historyLines });
  t.teardown(async () => {
    await log.close();
    redis.disconnect();
  });
  return { log, drains: new RedisDrainStore(redis, { prefix }) };
});
