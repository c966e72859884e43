// Request ids (request-id.ts): UUID version 4 as RFC 9562 §5.4 lays it out, from the CSPRNG.
import t from 'tap';
import { uuidV4 } from '../../src/router/request-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

t.test('ids are lower-case UUIDs with version 4 and variant bits 10, and never repeat', (t) => {
  // 100,000 ids cross the 256-id random block about 390 times: a block not refilled would repeat
  // ids, one read past its end would write bytes that are not hex digits.
  const seen = new Set<string>();
  let bad = '';
  const nibbles = new Set<string>();
  for (let i = 0; i < 100_000; i++) {
    const id = uuidV4();
    if (!UUID.test(id) && bad === '') bad = id;
    seen.add(id);
    nibbles.add(id[20]!);
    nibbles.add(id[35]!);
  }
  t.equal(bad, '', 'every id has the RFC 9562 shape');
  t.equal(seen.size, 100_000, 'no id twice');
  t.equal(nibbles.size, 16, 'every hex digit appears, so the random bits are not stuck');
  t.end();
});

t.test('each id is its own string: one made later leaves an earlier one as it was', (t) => {
  const first = uuidV4();
  const copy = first.slice();
  for (let i = 0; i < 300; i++) uuidV4();
  t.equal(first, copy);
  t.end();
});
