// The session buffer reports loss as data: drop-oldest, with the count and the
// time of the first loss handed back once, before the surviving items.
import t from 'tap';
import { LineBuffer } from '../../src/logplex/tail/line-buffer';

t.test('under the cap nothing is lost and order is kept', async (t) => {
  const b = new LineBuffer<number>(3);
  t.equal(b.push(1, 10), true);
  t.equal(b.push(2, 11), true);
  t.same(b.take(10), { lost: 0, since: 0, items: [1, 2] });
  t.equal(b.size, 0);
});

t.test('a full buffer displaces the oldest and counts from the first loss', async (t) => {
  const b = new LineBuffer<number>(3);
  for (let i = 1; i <= 3; i++) b.push(i, i);
  t.equal(b.push(4, 100), false);
  t.equal(b.push(5, 200), false);
  t.same(b.take(2), { lost: 2, since: 100, items: [3, 4] });
  t.same(b.take(2), { lost: 0, since: 0, items: [5] }, 'the loss is reported once');
  // Wrap-around after partial takes keeps FIFO order.
  for (let i = 6; i <= 10; i++) b.push(i, i);
  t.same(b.take(10), { lost: 2, since: 9, items: [8, 9, 10] });
});
