// Every code in the code tables is documented in docs/errors.md with the same status and
// description, and every documented code exists in code.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { H_CODES, type HCode } from '../src/router/errors';
import { L_CODES } from '../src/logplex/lines';
import { SETTINGS } from '../src/shared/config';

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

// The repository stands on its own: code, tests, benches and docs cite RFCs and docs/design.md, never a
// document outside the repository, an issue number or a path on someone's machine.
const root = join(__dirname, '..', '..');
const design = readFileSync(join(root, 'docs', 'design.md'), 'utf8');
const sections = [...design.matchAll(/^#{2,3} (.+)$/gm)].map((m) => m[1]!.trim());

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(rel));
    else if (/\.(ts|js|mjs|md|html|json)$/.test(e.name)) out.push(rel);
  }
  return out;
}
const tree = [...['src', 'test', 'bench', 'docs'].flatMap(walk), 'README.md'];

// Built from pieces so that this file does not match its own patterns.
const FORBIDDEN: [string, RegExp][] = [
  ['the original contract', new RegExp(['DESIGN', ' §'].join(''))],
  ['the style guide', new RegExp(['STYLE', ' habit|STYLE', '\\.md'].join(''))],
  ['the original contract', new RegExp(['shared', '/DESIGN\\.md'].join(''))],
  ['an issue number', new RegExp(['\\bissues? ', '#?[0-9]'].join(''), 'i')],
  ['an issue number', new RegExp(['(^|[\\s(])', '#[0-9]+\\b'].join(''))],
  ['a machine path', new RegExp(['(^|[^\\w.$-])/(work|tmp|home)', '/'].join(''))],
];

t.test('nothing cites a document outside the repository, an issue number or a machine path', async (t) => {
  t.ok(tree.length > 100, 'the walk found the tree');
  const found: string[] = [];
  for (const file of tree) {
    readFileSync(join(root, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        for (const [what, re] of FORBIDDEN) if (re.test(line)) found.push(`${file}:${i + 1}: ${what}: ${line.trim()}`);
      });
  }
  t.same(found, [], 'references to things outside the repository');
});

t.test('every docs/ file named in the tree exists', async (t) => {
  const missing: string[] = [];
  for (const file of tree) {
    readFileSync(join(root, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        for (const m of line.matchAll(/\bdocs\/([\w.-]+\.md)\b/g))
          if (!existsSync(join(root, 'docs', m[1]!))) missing.push(`${file}:${i + 1}: docs/${m[1]}`);
      });
  }
  t.same(missing, [], 'documents named but not in docs/');
});

t.test('every design.md section citation names a section of docs/design.md', async (t) => {
  for (const name of [
    'Processes and settings',
    'Redis keys',
    'Request path',
    "A line's journey",
    'Drain delivery',
    'Invariants',
  ])
    t.ok(sections.includes(name), `design.md has the section ${name}`);
  const bad: string[] = [];
  let citations = 0;
  for (const file of tree) {
    const lines = readFileSync(join(root, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      // Every § followed by a letter is a design.md section (RFCs are cited by number: RFC 9110 §9.2.2).
      // A citation may wrap onto the next comment line: read on into it, without its comment marker.
      const next = (lines[i + 1] ?? '').replace(/^\s*(\/\/|\*|#|>)?\s*/, '');
      for (const m of line.matchAll(/§(?=[A-Za-z])/g)) {
        citations++;
        const rest = `${line.slice(m.index + 1).trimEnd()} ${next}`;
        if (!sections.some((s) => rest.startsWith(s))) bad.push(`${file}:${i + 1}: §${rest.slice(0, 40)}`);
      }
    });
  }
  t.ok(citations > 100, `${citations} section citations checked`);
  t.same(bad, [], 'citations of sections docs/design.md does not have');
});

// Every setting of the one table is named in the design (what it is for) and in the operators' reference
// (its default and who reads it), so a new one cannot slip in undocumented.
t.test('every setting is in docs/design.md and docs/operations.md', async (t) => {
  const docs = join(__dirname, '..', '..', 'docs');
  const design = readFileSync(join(docs, 'design.md'), 'utf8');
  const operations = readFileSync(join(docs, 'operations.md'), 'utf8');
  for (const name of Object.keys(SETTINGS)) {
    t.ok(design.includes(`\`${name}\``), `${name} in design.md §Processes and settings`);
    t.ok(operations.includes(`\`${name}\``), `${name} in operations.md`);
  }
});
