import t, { type Test } from 'tap';
import { RedisRouteStore } from '../../src/router/store/redis';
import { REDIS_URL, redisPrefix } from '../fixtures/redis';
import { certStoreContract } from './cert-store.contract';
import { storeContract } from './store.contract';

const make = async (t: Test) => {
  const prefix = await redisPrefix(t);
  if (prefix === undefined) return undefined;
  const store = new RedisRouteStore(REDIS_URL, prefix);
  t.teardown(() => store.close());
  return store;
};

storeContract(t, make);
certStoreContract(t, make);
