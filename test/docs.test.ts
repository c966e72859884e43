// Every code in the code tables is documented in docs/errors.md with the same status and
// description, and every documented code exists in code (STYLE habit 5).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { H_CODES, type HCode } from '../src/router/errors';
import { L_CODES } from '../src/logplex/lines';

const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'errors.md'), 'utf8');

function rows(prefix: 'H' | 'L'): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of doc.split('\n')) {
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells[0] && new RegExp(`^${prefix}\\d\\d$`).test(cells[0])) out.set(cells[0], cells);
  }
  return out;
}

t.test('H codes: code table and docs/errors.md agree both ways', async (t) => {
  const documented = rows('H');
  for (const [code, info] of Object.entries(H_CODES)) {
    const cells = documented.get(code);
    if (!cells) {
      t.fail(`${code} is not documented in docs/errors.md`);
      continue;
    }
    t.equal(cells[1], String(info.status), `${code} status`);
    t.equal(cells[2], info.desc, `${code} description`);
    t.equal(cells[3], info.blame, `${code} blame`);
  }
  for (const code of documented.keys()) t.ok(code in H_CODES, `${code} documented but not in errors.ts`);
  t.ok((Object.keys(H_CODES) as HCode[]).length >= 15);
});

t.test('L codes: code table and docs/errors.md agree both ways', async (t) => {
  const documented = rows('L');
  for (const [code, name] of Object.entries(L_CODES)) {
    const cells = documented.get(code);
    if (!cells) {
      t.fail(`${code} is not documented in docs/errors.md`);
      continue;
    }
    t.match(cells[1], `Error ${code} (${name}):`, `${code} line names "${name}"`);
  }
  for (const code of documented.keys()) t.ok(code in L_CODES, `${code} documented but not in lines.ts`);
});
