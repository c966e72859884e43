import t, { type Test } from 'tap';
import { MemoryRouteStore } from '../../src/router/store/memory';
import { certStoreContract } from './cert-store.contract';
import { storeContract } from './store.contract';

const make = async (t: Test) => {
  const store = new MemoryRouteStore();
  t.teardown(() => store.close());
  return store;
};

storeContract(t, make);
certStoreContract(t, make);
