import t from 'tap';
import { MemoryLogStore } from '../../src/logplex/store/memory';
import { storeContract } from './store.contract';

storeContract(t, async (_t, historyLines) => new MemoryLogStore(historyLines));

t.test('memory keeps exactly the cap', async (t) => {
  const s = new MemoryLogStore(3);
  const c = await s.createChannel('c', []);
  for (let i = 1; i <= 7; i++) await s.append(c.id, [{ time: 'x', pri: 1, source: 'app', ps: 'web.1', msg: `m${i}` }]);
  t.same(
    (await s.history(c.id, 10)).map((l) => l.seq),
    [5, 6, 7],
  );
  t.equal((await s.readAfter(c.id, 0, 10)).firstSeq, 5);
});
