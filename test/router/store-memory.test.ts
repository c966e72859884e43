import t from 'tap';
import { MemoryRouteStore } from '../../src/router/store/memory';
import { storeContract } from './store.contract';

storeContract(t, async (t) => {
  const store = new MemoryRouteStore();
  t.teardown(() => store.close());
  return store;
});
