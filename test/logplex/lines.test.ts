// The in-band lines have exactly the shape docs/errors.md documents (test/docs.test.ts checks
// that the codes agree both ways).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { deliveryErrorLine, formatTailLine, overflowLine } from '../../src/logplex/lines';

const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'errors.md'), 'utf8');
const rows = new Map<string, string>();
for (const line of doc.split('\n')) {
  const cells = line
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
  if (cells[0] && /^L\d\d$/.test(cells[0])) rows.set(cells[0], cells[1] ?? '');
}

t.test('overflow lines: heroku[logplex], the documented sentence', async (t) => {
  const l = overflowLine('L11', 42, '2026-11-26T10:00:00.000000+00:00', '2026-11-26T10:00:01.000000+00:00');
  t.equal(
    formatTailLine(l),
    '2026-11-26T10:00:01.000000+00:00 heroku[logplex]: Error L11 (tail buffer overflow): 42 messages dropped since 2026-11-26T10:00:00.000000+00:00.',
  );
  for (const code of ['L10', 'L11', 'L12'] as const) {
    const text = overflowLine(code, 7, 'TIME', 'now').msg.replace(': 7 ', ': N ');
    t.match(rows.get(code), '`' + text + '`', `${code} line as documented`);
  }
  const l14 = deliveryErrorLine('L14', 'self signed\ncertificate', 'T');
  t.equal(l14.msg, 'Error L14 (certificate validation error): self signed certificate');
  t.equal(l14.source, 'heroku');
  t.equal(l14.ps, 'logplex');
});
