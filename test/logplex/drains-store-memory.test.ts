import t from 'tap';
import { MemoryDrainStore } from '../../src/logplex/drains/store/memory';
import { MemoryLogStore } from '../../src/logplex/store/memory';
import { drainStoreContract } from './drains-store.contract';

drainStoreContract(t, async (_t, historyLines) => {
  const log = new MemoryLogStore(historyLines);
  return { log, drains: new MemoryDrainStore(log) };
});
