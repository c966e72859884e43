// The L codes in src/logplex/lines.ts and docs/errors.md agree both ways (STYLE habit 5),
// and the in-band lines have exactly the documented shape.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { deliveryErrorLine, formatTailLine, L_CODES, overflowLine } from '../../src/logplex/lines';

const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'errors.md'), 'utf8');
const rows = new Map<string, string>();
for (const line of doc.split('\n')) {
  const cells = line.split('|').slice(1, -1).map((c) => c.trim());
  if (cells[0] && /^L\d\d$/.test(cells[0])) rows.set(cells[0], cells[1] ?? '');
}

t.test('every L code is documented with its description, and every documented one exists', async (t) => {
  for (const [code, desc] of Object.entries(L_CODES)) {
    const row = rows.get(code);
    t.ok(row, `${code} documented`);
    t.match(row, `Error ${code} (${desc})`, `${code} description`);
  }
  for (const code of rows.keys()) t.ok(code in L_CODES, `${code} documented but not in lines.ts`);
});

t.test('overflow lines: heroku[logplex], the documented sentence', async (t) => {
  const l = overflowLine('L11', 42, '2026-11-26T10:00:00.000000+00:00', '2026-11-26T10:00:01.000000+00:00');
  t.equal(formatTailLine(l), '2026-11-26T10:00:01.000000+00:00 heroku[logplex]: Error L11 (tail buffer overflow): 42 messages dropped since 2026-11-26T10:00:00.000000+00:00.');
  for (const code of ['L10', 'L11', 'L12'] as const) {
    const text = overflowLine(code, 7, 'TIME', 'now').msg.replace(': 7 ', ': N ');
    t.match(rows.get(code), '`' + text + '`', `${code} line as documented`);
  }
  const l14 = deliveryErrorLine('L14', 'self signed\ncertificate', 'T');
  t.equal(l14.msg, 'Error L14 (certificate validation error): self signed certificate');
  t.equal(l14.source, 'heroku');
  t.equal(l14.ps, 'logplex');
});
