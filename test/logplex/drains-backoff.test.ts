// Backoff is a value (no timing in tests): assert the sequence of delays.
import t from 'tap';
import { fullJitter } from '../../src/logplex/drains/backoff';

t.test('full jitter: random × min(cap, base × 2^(attempt-1))', async (t) => {
  const top = fullJitter({ baseMs: 100, capMs: 1_000, random: () => 0.9999 });
  t.same(
    [1, 2, 3, 4, 5, 6, 40].map((a) => top.delay(a)),
    [99, 199, 399, 799, 999, 999, 999],
    'doubles up to the cap',
  );
  const zero = fullJitter({ baseMs: 100, capMs: 1_000, random: () => 0 });
  t.same(
    [1, 5, 9].map((a) => zero.delay(a)),
    [0, 0, 0],
    'full jitter reaches zero',
  );
  const seq = [0.5, 0.25, 0.75];
  const mid = fullJitter({ baseMs: 100, capMs: 10_000, random: () => seq.shift()! });
  t.same(
    [1, 2, 3].map((a) => mid.delay(a)),
    [50, 50, 300],
  );
});
