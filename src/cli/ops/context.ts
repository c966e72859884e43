// What every operator command (`apps`, `ps`, `domains`, `drains`, `maintenance`, design.md §Control
// API, §Logplex API) starts from: its options, the two endpoints, and one error type whose exit
// code scripts can rely on. Settings (`--router-admin-url`) come out first through flagsToEnv.
import { flagsToEnv, loadConfig } from '../../shared/config';
import { ApiCallError, type Endpoint } from '../platform/api';

/** Exit codes of the operator commands (docs/operations.md "Exit codes"). */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  notFound: 3,
  refused: 4,
  unreachable: 5,
  unauthorized: 6,
} as const;

export class OpsError extends Error {
  readonly code = 'SY_OPS';
  constructor(
    readonly exit: number,
    message: string,
  ) {
    super(message);
  }
}

export interface OpsSpec {
  /** Options that take a value, without dashes. */
  values?: readonly string[];
  /** Options that stand alone. */
  flags?: readonly string[];
  /** Names of the positional arguments, in order; all required. */
  positionals?: readonly string[];
  /** A positional that may be left out (after the required ones). */
  optional?: string;
  /** Whether the command works on one app (-a/--app, or SWITCHYARD_APP). */
  app: boolean;
}

export interface OpsContext {
  admin: Endpoint;
  logplex: Endpoint;
  /** The app, when the command works on one. */
  app: string;
  json: boolean;
  values: Map<string, string>;
  flags: Set<string>;
  positionals: string[];
}

const SHORT: Record<string, string> = { '-a': 'app' };

/** argv → context; a wrong argument is an OpsError with EXIT.usage. */
export function opsContext(argv: readonly string[], spec: OpsSpec): OpsContext {
  const { env, rest } = flagsToEnv(argv);
  const config = loadConfig({ ...process.env, ...env });
  const valueNames = ['app', ...(spec.values ?? [])];
  const flagNames = ['json', ...(spec.flags ?? [])];
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const long = /^--([a-z][a-z-]*)(?:=(.*))?$/.exec(arg);
    const name = SHORT[arg] ?? long?.[1];
    if (name !== undefined && flagNames.includes(name) && long?.[2] === undefined) flags.add(name);
    else if (name !== undefined && valueNames.includes(name)) {
      const v = long?.[2] ?? rest[++i];
      if (v === undefined || v === '') throw new OpsError(EXIT.usage, `${arg} needs a value`);
      values.set(name, v);
    } else if (arg.startsWith('-') && arg !== '-') throw new OpsError(EXIT.usage, `unknown option ${arg}`);
    else positionals.push(arg);
  }
  const want = spec.positionals ?? [];
  if (positionals.length < want.length)
    throw new OpsError(EXIT.usage, `missing ${want.slice(positionals.length).join(' ')}`);
  const most = want.length + (spec.optional ? 1 : 0);
  if (positionals.length > most)
    throw new OpsError(EXIT.usage, `unexpected argument ${JSON.stringify(positionals[most])}`);
  const app = values.get('app') ?? config.SWITCHYARD_APP ?? '';
  if (spec.app && !app) throw new OpsError(EXIT.usage, 'no app given: use -a APP (or set SWITCHYARD_APP)');
  const token = config.SWITCHYARD_API_TOKEN;
  return {
    admin: { url: config.ROUTER_ADMIN_URL ?? `http://127.0.0.1:${config.ROUTER_ADMIN_PORT}`, token },
    logplex: { url: config.LOGPLEX_URL ?? `http://127.0.0.1:${config.LOGPLEX_PORT}`, token },
    app,
    json: flags.has('json'),
    values,
    flags,
    positionals,
  };
}

/** An API call's failure in our words, with the exit code its kind maps to. */
export function explain(err: unknown, what: string, setting: 'ROUTER_ADMIN_URL' | 'LOGPLEX_URL'): OpsError {
  if (err instanceof OpsError) return err;
  if (!(err instanceof ApiCallError)) throw err;
  if (err.status === 0)
    return new OpsError(
      EXIT.unreachable,
      `${what}: nothing answers (${err.message}); is it running? Point ${setting} at it`,
    );
  if (err.status === 401 || err.status === 403)
    return new OpsError(EXIT.unauthorized, `${what}: ${err.message}; set SWITCHYARD_API_TOKEN to the API token`);
  if (err.status === 404) return new OpsError(EXIT.notFound, `${what}: ${err.message}`);
  if (err.status === 503) return new OpsError(EXIT.unreachable, `${what}: ${err.message}`);
  if (err.status >= 400 && err.status < 500) return new OpsError(EXIT.refused, `${what}: ${err.message}`);
  return new OpsError(EXIT.failed, `${what}: ${err.message} (HTTP ${err.status})`);
}

/** Runs one control API call, its failure explained. */
export async function viaControl<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw explain(err, what, 'ROUTER_ADMIN_URL');
  }
}

/** Runs one Logplex API call, its failure explained. */
export async function viaLogplex<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw explain(err, what, 'LOGPLEX_URL');
  }
}

/** Rows as aligned columns with a header, the way `heroku ps` prints. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export const print = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : s + '\n');
export const printJson = (v: unknown): void => print(JSON.stringify(v, null, 2));
