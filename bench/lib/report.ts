// Small pieces of the benches' printed reports and command lines. Every bench ends by printing one
// report (printReport): a Markdown section with the exact command, Node and CPU, the figures as a table
// and the ratios, ready to paste into docs/benchmarks.md as it is.
import { cpus, loadavg } from 'node:os';
import { relative } from 'node:path';

/** `--name value` or `--name=value` from argv. */
export function argValue(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === name) return argv[i + 1];
    if (a.startsWith(name + '=')) return a.slice(name.length + 1);
  }
  return undefined;
}

export function fmt(n: number, digits: number): string {
  if (!Number.isFinite(n)) return n > 0 ? 'timeout' : '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `label: 1.62x (goal >= 1.5x: met)`, or why there is no ratio. */
export function ratioLine(label: string, ours: number, theirs: number | undefined, goal?: number): string {
  if (!theirs) return `${label}: not measured`;
  const r = ours / theirs;
  return `${label}: ${fmt(r, 2)}x` + (goal === undefined ? '' : ` (goal >= ${goal}x: ${r >= goal ? 'met' : 'MISSED'})`);
}

/** The element with the median key (the lower middle one of an even count). */
export function medianBy<T>(xs: readonly T[], key: (x: T) => number): T | undefined {
  const sorted = [...xs].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

export type Cell = string | number;

export interface Report {
  /** The bench's section title in docs/benchmarks.md. */
  title: string;
  /** How the run was set up (one line each). */
  setup?: readonly string[];
  columns: readonly string[];
  rows: readonly (readonly Cell[])[];
  /** Ratios and goals, one line each, after the table. */
  ratios?: readonly string[];
}

/** `node [flags] build/bench/x.js [args]`, as it was run. */
export function commandLine(): string {
  const script = relative(process.cwd(), process.argv[1] ?? '?');
  return ['node', ...process.execArgv, script, ...process.argv.slice(2)].join(' ');
}

/** Node version, CPU model and count, time and load average: what the figures depend on. */
export function machineLine(now = new Date()): string {
  const cpu = cpus();
  const when = now.toISOString().slice(0, 16).replace('T', ' ');
  const load = loadavg()[0]!.toFixed(1);
  return `Node ${process.version}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${when} UTC, load average ${load}`;
}

const NUMERIC = /^(-?[\d,.]+ ?(%|x|ms)?|-|)$/;

/** A GitHub-flavoured Markdown table; numbers are right-aligned and grouped. */
export function markdownTable(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const numeric = columns.map(
    (_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || NUMERIC.test(String(r[i] ?? ''))),
  );
  const cell = (c: Cell | undefined): string =>
    c === undefined ? '' : typeof c === 'number' ? c.toLocaleString('en-US', { maximumFractionDigits: 3 }) : c;
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [
    line(columns),
    line(columns.map((_, i) => (i > 0 && numeric[i] ? '---:' : '---'))),
    ...rows.map((r) => line(columns.map((_, i) => cell(r[i])))),
  ].join('\n');
}

/** The report as Markdown: title, command, machine, setup, table, ratios. */
export function formatReport(r: Report): string {
  const out = [`### ${r.title}`, '', '```', commandLine(), '```', '', machineLine() + '.'];
  for (const s of r.setup ?? []) out.push(s);
  out.push('', markdownTable(r.columns, r.rows));
  if (r.ratios?.length) out.push('', ...r.ratios.map((l) => `- ${l}`));
  return out.join('\n') + '\n';
}

export function printReport(r: Report): void {
  process.stdout.write('\n' + formatReport(r));
}
