// The clock leases are judged at (design.md §Route table): frozen while the store is away, then
// behind real time by the outage for as long as it lasted, so no lease runs out on heartbeats
// nobody could send. Driven by an injected clock: no waiting.
import t from 'tap';
import { LeaseClock } from '../../src/router/table/lease-clock';

t.test('frozen while away, then the outage behind for as long as it lasted, then real time', async (t) => {
  let real = 1_000_000;
  const c = new LeaseClock(() => real);
  t.equal(c.now(), 1_000_000, 'real time while the store is up');
  c.down();
  real += 40_000;
  c.down();
  t.equal(c.now(), 1_000_000, 'frozen at the moment the store went away (a second down() changes nothing)');
  t.same(c.up(), { downFor: 40_000, graceMs: 40_000 });
  t.equal(c.now(), 1_000_000, 'no jump when the store returns');
  real += 39_999;
  t.equal(c.now(), 1_039_999, 'runs 40 s behind during the grace');
  real += 1;
  t.equal(c.now(), real, 'real time once the grace is over');
  t.equal(c.up(), undefined, 'up() without an outage is not a recovery');
});

t.test('an outage inside the grace adds to what is left of it', async (t) => {
  let real = 0;
  const c = new LeaseClock(() => real);
  c.down();
  real = 10_000;
  c.up(); // 10 s behind until 20 s
  real = 15_000;
  c.down();
  t.equal(c.now(), 5_000, 'frozen at the (shifted) moment of the second outage');
  real = 18_000;
  t.same(c.up(), { downFor: 3_000, graceMs: 13_000 }, 'the first outage is still owed');
  t.equal(c.now(), 5_000, 'no jump');
  real = 31_000;
  t.equal(c.now(), 31_000, 'real time after both');
});

t.test('a store found silent freezes the clock where it last answered', async (t) => {
  let real = 100_000;
  const c = new LeaseClock(() => real);
  real = 101_000;
  c.down(100_250);
  t.equal(c.now(), 100_250, 'frozen at the moment the store last answered, not when that was noticed');
  real = 105_000;
  t.same(c.up(), { downFor: 4_750, graceMs: 4_750 });
  t.equal(c.now(), 100_250, 'no jump when it answers again');
});
