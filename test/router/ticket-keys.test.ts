// Session-ticket key rotation (tls/ticket-keys.ts): every node installs the store's key of the
// current period and switches at the period's start; with the store away, one node-local key.
import t from 'tap';
import { silentLogger } from '../../src/shared/log';
import { MemoryRouteStore } from '../../src/router/store/memory';
import { TicketKeys } from '../../src/router/tls/ticket-keys';
import { eventually } from '../fixtures/router';

t.test('two nodes install the same key, and the next period brings a new one to both', async (t) => {
  const store = new MemoryRouteStore();
  const rotateMs = 60_000;
  // A clock 50 ms before a period ends: the switch happens within the test's bound.
  const skew = Math.ceil(Date.now() / rotateMs) * rotateMs - 50 - Date.now();
  const now = () => Date.now() + skew;
  const applied: Buffer[][] = [[], []];
  const nodes = applied.map(
    (list) => new TicketKeys({ store, rotateMs, log: silentLogger, apply: (k) => list.push(k), now }),
  );
  t.teardown(() => nodes.forEach((n) => n.close()));
  await Promise.all(nodes.map((n) => n.start()));
  const epoch = Math.floor(now() / rotateMs);
  t.same(applied[0]![0], await store.ticketKey(epoch, rotateMs), 'node one has the period key');
  t.same(applied[1]![0], applied[0]![0], 'node two has the same key');
  await eventually(() => applied.every((l) => l.length === 2), 2000, 'both nodes switching');
  t.same(applied[0]![1], await store.ticketKey(epoch + 1, rotateMs), 'the next period key');
  t.same(applied[1]![1], applied[0]![1]);
  t.notSame(applied[0]![1], applied[0]![0], 'a new key');
});

t.test('with the store away, one node-local key, not a new one per retry', async (t) => {
  const applied: Buffer[] = [];
  let calls = 0;
  const keys = new TicketKeys({
    store: {
      ticketKey: async () => {
        calls++;
        throw Object.assign(new Error('store down'), { code: 'ECONNREFUSED' });
      },
    },
    rotateMs: 60_000,
    log: silentLogger,
    apply: (k) => applied.push(k),
  });
  t.teardown(() => keys.close());
  await keys.start();
  await eventually(() => calls >= 2, 3000, 'a retry');
  t.equal(applied.length, 1, 'one local key');
  t.equal(applied[0]!.length, 48);
  t.equal(keys.epoch, undefined, 'no shared period yet');
});
