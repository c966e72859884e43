// Small pieces of the benches' printed reports and command lines.

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
