// The logfmt reader that search and JSON mode use (design.md §Router line): what our own logfmt
// writer produces reads back as the same pairs, any text at all reads without throwing and
// within MAX_PAIRS, and any query text either parses or is refused as a QueryError.
import t from 'tap';
import { logfmt } from '../../src/shared/log';
import { logfmtPairs, MAX_PAIRS } from '../../src/logplex/tail/logfmt';
import { parseQuery, QueryError } from '../../src/logplex/tail/search';

/** A deterministic generator (a fixed seed), so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}
const ALPHABET = 'ab=" \\\t.-_/:0123456789é☃';
const text = (r: () => number, max: number): string =>
  Array.from({ length: Math.floor(r() * max) }, () => ALPHABET[Math.floor(r() * ALPHABET.length)]).join('');

t.test('what our logfmt writer writes reads back as the same pairs', async (t) => {
  const r = rng(42);
  for (let i = 0; i < 2000; i++) {
    const fields: Record<string, string> = {};
    for (let k = 0; k < 1 + Math.floor(r() * 6); k++) fields[`k${k}`] = text(r, 12).replace(/[\t]/g, ' ');
    const got = Object.fromEntries(logfmtPairs(logfmt(fields)));
    if (JSON.stringify(got) !== JSON.stringify(fields)) {
      t.same(got, fields, `case ${i}: ${logfmt(fields)}`);
      return;
    }
  }
  t.pass('2,000 random lines');
});

t.test('any text reads without throwing, within MAX_PAIRS; any query parses or is a QueryError', async (t) => {
  const r = rng(7);
  for (let i = 0; i < 5000; i++) {
    const s = text(r, 200);
    const pairs = logfmtPairs(s);
    if (pairs.size > MAX_PAIRS) t.fail(`more than ${MAX_PAIRS} pairs from ${JSON.stringify(s)}`);
    try {
      parseQuery(s);
    } catch (err) {
      if (!(err instanceof QueryError)) {
        t.fail(`${JSON.stringify(s)}: ${String(err)}`);
        return;
      }
    }
  }
  t.equal(logfmtPairs(Array.from({ length: 100 }, (_, i) => `k${i}=v`).join(' ')).size, MAX_PAIRS);
});
