// Command-line options of the platform commands: `--name value` / `--name=value` / `--flag`,
// with settings (`--logplex-url`) taken out first by flagsToEnv. Errors are values with a code.

export class UsageError extends Error {
  readonly code = 'SY_USAGE';
}

export interface OptionSpec {
  /** Options that take a value. */
  values: readonly string[];
  /** Options that stand alone. */
  flags: readonly string[];
}

export interface ParsedOptions {
  values: Map<string, string>;
  flags: Set<string>;
  /** Everything after `--`. */
  command: string[];
}

export function parseOptions(argv: readonly string[], spec: OptionSpec): ParsedOptions {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return { values, flags, command: argv.slice(i + 1) };
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/.exec(arg);
    if (m && spec.flags.includes(m[1]!) && m[2] === undefined) flags.add(m[1]!);
    else if (m && spec.values.includes(m[1]!)) {
      const v = m[2] ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`--${m[1]} needs a value`);
      values.set(m[1]!, v);
    } else throw new UsageError(`unknown argument ${arg}`);
  }
  return { values, flags, command: [] };
}

/** An integer option within bounds, or the default. */
export function intOption(o: ParsedOptions, name: string, def: number, min: number, max: number): number {
  const raw = o.values.get(name);
  if (raw === undefined) return def;
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  return n;
}
