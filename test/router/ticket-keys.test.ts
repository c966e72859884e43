// Session-ticket key rotation (tls/ticket-keys.ts): every node installs the store's key of the
// current period and switches at the period's start; with the store away, one node-local key.
import t from 'tap';
import { silentLogger } from '../../src/shared/log';
import { MemoryRouteStore } from '../../src/router/store/memory';
import { TicketKeys } from '../../src/router/tls/ticket-keys';
import { eventually } from '../fixtures/router';

t.test('two nodes install the same key, and the next period brings a new one to both', async (t) => {
  const store = new MemoryRouteStore();
  // Short periods so a switch happens within the test's bound, whatever the machine's load.
  const rotateMs = 300;
  const applied: Buffer[][] = [[], []];
  const nodes = applied.map(
    (list) => new TicketKeys({ store, rotateMs, log: silentLogger, apply: (k) => list.push(k) }),
  );
  t.teardown(() => nodes.forEach((n) => n.close()));
  await Promise.all(nodes.map((n) => n.start()));
  const [one, two] = applied as [Buffer[], Buffer[]];
  t.equal(one[0]!.length, 48);
  t.same(one[0], await store.ticketKey(nodes[0]!.epoch!, 3 * rotateMs), 'node one has the key the store holds');
  await eventually(() => one.length >= 2, 3000, 'node one switching');
  t.notSame(one[1], one[0], 'the next period has a new key');
  await eventually(
    () => one.every((k) => two.some((x) => x.equals(k))) && two.every((k) => one.some((x) => x.equals(k))),
    3000,
    'node two installing the same keys',
  );
  t.pass('both nodes installed the same keys, period by period');
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
