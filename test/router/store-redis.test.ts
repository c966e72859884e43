import t from 'tap';
import { RedisRouteStore } from '../../src/router/store/redis';
import { REDIS_URL, redisPrefix } from '../fixtures/redis';
import { storeContract } from './store.contract';

storeContract(t, async (t) => {
  const prefix = await redisPrefix(t);
  if (prefix === undefined) return undefined;
  const store = new RedisRouteStore(REDIS_URL, prefix);
  t.teardown(() => store.close());
  return store;
});
