// The one table of Switchyard's settings (design.md §Processes and settings). Nothing else reads process.env:
// parse once at start-up, freeze, pass the result in. Flags use the same names
// (`--router-port` = `ROUTER_PORT`), merged over the environment by the CLI.

import { parseRedisUrl } from './redis-url';

type Spec =
  | { kind: 'int'; def: number; min: number; max: number; help: string }
  | { kind: 'string'; def: string | undefined; pattern?: RegExp; rule?: string; secret?: true; help: string }
  | { kind: 'enum'; def: string; values: readonly string[]; help: string }
  | { kind: 'url'; def: string | undefined; schemes: readonly string[]; help: string }
  | { kind: 'redis'; def: undefined; help: string };

// Typed as the 'int' member (not Spec) so Config gives these settings the type number.
const ms = (def: number, help: string) => ({ kind: 'int', def, min: 1, max: 3_600_000, help }) as const satisfies Spec;
const port = (def: number, help: string) => ({ kind: 'int', def, min: 0, max: 65535, help }) as const satisfies Spec;

export const SETTINGS = {
  REDIS_URL: {
    kind: 'redis',
    def: undefined,
    help: 'Redis to run on (redis[s]://h:p, redis[s]-sentinel://h:p,h:p/NAME, redis[s]-cluster://h:p,h:p); unset: `dev` uses the embedded store',
  },
  SWITCHYARD_PREFIX: {
    kind: 'string',
    def: 'sy:',
    pattern: /^[A-Za-z0-9:_.-]{0,64}$/,
    rule: 'up to 64 of [A-Za-z0-9:_.-]',
    help: 'prefix of every Redis key and pub/sub channel',
  },
  SWITCHYARD_API_TOKEN: {
    kind: 'string',
    def: undefined,
    pattern: /^[\x21-\x7e]{16,256}$/,
    rule: '16-256 printable ASCII characters',
    secret: true,
    help: 'bearer token of the control and Logplex APIs (required by router and logplex)',
  },
  SWITCHYARD_HOST: {
    kind: 'string',
    def: undefined,
    pattern: /^[0-9A-Za-z:.[\]-]{1,253}$/,
    rule: 'an IP address or hostname',
    help: 'address every listener binds to (router/logplex: 0.0.0.0, dev: 127.0.0.1)',
  },
  SWITCHYARD_GRACE_MS: ms(30_000, 'how long SIGTERM waits for in-flight work'),
  ROUTER_PORT: port(8080, 'router data plane'),
  ROUTER_ADMIN_PORT: port(8081, 'router control API and ops endpoints'),
  ROUTER_DOMAIN: {
    kind: 'string',
    def: 'localhost',
    pattern: /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/,
    rule: 'a lower-case RFC 1123 hostname',
    help: 'every app gets APP.ROUTER_DOMAIN',
  },
  ROUTER_CONNECT_TIMEOUT_MS: ms(5_000, 'connect timeout to a dyno (H19)'),
  ROUTER_RESPONSE_TIMEOUT_MS: ms(30_000, 'request sent to response headers (H12)'),
  ROUTER_IDLE_TIMEOUT_MS: ms(55_000, 'rolling idle window on bodies and WebSockets (H15)'),
  ROUTER_HEADERS_TIMEOUT_MS: ms(30_000, 'client must finish sending headers (H28)'),
  ROUTER_BODY_TIMEOUT_MS: ms(30_000, 'client must finish sending a request body it started (H28)'),
  ROUTER_BUFFER_BODY_BYTES: {
    kind: 'int',
    def: 1024 * 1024,
    min: 0,
    max: 64 * 1024 * 1024,
    help: 'request bodies up to this size are read whole before the request is admitted (0: stream all)',
  },
  ROUTER_BUFFER_TOTAL_BYTES: {
    kind: 'int',
    def: 256 * 1024 * 1024,
    min: 0,
    max: 16 * 1024 * 1024 * 1024,
    help: 'buffered request bodies held by one router process at most; beyond it bodies stream',
  },
  ROUTER_POOL_IDLE_MS: ms(4_000, 'pooled dyno connections idle this long are closed'),
  ROUTER_APP_MAX_INFLIGHT: {
    kind: 'int',
    def: 200,
    min: 1,
    max: 100_000,
    help: 'in-flight requests per routable dyno before H11',
  },
  ROUTER_WORKERS: { kind: 'int', def: 1, min: 1, max: 64, help: 'worker processes on one port (node:cluster)' },
  ROUTER_RESYNC_MS: ms(30_000, 'full route-table resync interval'),
  ROUTER_AFFINITY_SECRET: {
    kind: 'string',
    def: undefined,
    pattern: /^[\x21-\x7e]{16,256}$/,
    rule: '16-256 printable ASCII characters',
    secret: true,
    help: 'HMAC key of the affinity cookie (default: derived from the API token)',
  },
  ROUTER_TLS_PORT: port(8443, 'router data plane over TLS (HTTP/1.1 and HTTP/2 by ALPN); 0 = off'),
  ROUTER_TLS_CERT_FILE: {
    kind: 'string',
    def: undefined,
    pattern: /^[^\0]{1,4096}$/,
    rule: 'a file path',
    help: 'PEM chain of the default certificate (no SNI, unknown names); unset: a self-signed one made at start',
  },
  ROUTER_TLS_KEY_FILE: {
    kind: 'string',
    def: undefined,
    pattern: /^[^\0]{1,4096}$/,
    rule: 'a file path',
    help: 'PEM private key of ROUTER_TLS_CERT_FILE',
  },
  ROUTER_TLS_TICKET_ROTATE_MS: ms(3_600_000, 'period of the TLS session-ticket key shared by all nodes'),
  ROUTER_H2_MAX_CONCURRENT_STREAMS: {
    kind: 'int',
    def: 100,
    min: 1,
    max: 10_000,
    help: 'HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per client connection',
  },
  ROUTER_H2_MAX_HEADER_LIST_BYTES: {
    kind: 'int',
    def: 65_536,
    min: 1024,
    max: 1_048_576,
    help: 'HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE (431 H25 beyond it)',
  },
  ROUTER_H2_INITIAL_WINDOW_BYTES: {
    kind: 'int',
    def: 65_535,
    min: 1024,
    max: 2_147_483_647,
    help: 'HTTP/2 SETTINGS_INITIAL_WINDOW_SIZE: request-body bytes a stream may send ahead',
  },
  ROUTER_H2_MAX_RESETS: {
    kind: 'int',
    def: 100,
    min: 1,
    max: 1_000_000,
    help: 'stream resets (RST_STREAM) a client may send per ROUTER_H2_RESET_WINDOW_MS before GOAWAY',
  },
  ROUTER_H2_RESET_WINDOW_MS: ms(10_000, 'window of ROUTER_H2_MAX_RESETS'),
  LOGPLEX_PORT: port(8601, 'Logplex HTTP: API, /logs, sessions, viewer'),
  LOGPLEX_SYSLOG_PORT: port(5140, 'syslog over TCP and UDP'),
  LOGPLEX_URL: {
    kind: 'url',
    def: undefined,
    schemes: ['http:', 'https:'],
    help: 'where the router and dyno agent send log lines (dyno/logs: default http://127.0.0.1:LOGPLEX_PORT)',
  },
  ROUTER_ADMIN_URL: {
    kind: 'url',
    def: undefined,
    schemes: ['http:', 'https:'],
    help: 'control API the dyno agent registers with (default http://127.0.0.1:ROUTER_ADMIN_PORT)',
  },
  DYNO_BOOT_TIMEOUT_MS: ms(60_000, 'dyno agent: how long CMD may take to listen on PORT (Heroku R10)'),
  LOGPLEX_HISTORY_LINES: { kind: 'int', def: 1500, min: 1, max: 1_000_000, help: 'lines of history kept per channel' },
  LOGPLEX_SESSION_BUFFER: {
    kind: 'int',
    def: 1000,
    min: 10,
    max: 1_000_000,
    help: 'lines buffered per tail session before L11',
  },
  LOGPLEX_DRAIN_LEASE_MS: {
    kind: 'int',
    def: 10_000,
    min: 500,
    max: 600_000,
    help: 'drain lease TTL: a dead or stalled owner is replaced within this plus one renewal',
  },
  LOGPLEX_DRAIN_RENEW_MS: {
    kind: 'int',
    def: 1_000,
    min: 50,
    max: 300_000,
    help: 'drain scheduler tick: renews leases, takes free drains (under half the lease TTL)',
  },
  LOGPLEX_MAX_DRAINS_PER_CHANNEL: {
    kind: 'int',
    def: 5,
    min: 1,
    max: 1000,
    help: 'drains per channel; one more is refused with 422 (Heroku allows 5)',
  },
  LOGPLEX_DRAIN_CA_FILE: {
    kind: 'string',
    def: undefined,
    pattern: /^[^\0]{1,4096}$/,
    rule: 'a file path',
    help: 'PEM file of extra CAs trusted for TLS drains (the system roots stay trusted)',
  },
  LOGPLEX_DRAIN_BATCH_LINES: { kind: 'int', def: 500, min: 1, max: 10_000, help: 'lines per drain delivery' },
  LOGPLEX_DRAIN_CONNECT_TIMEOUT_MS: ms(5_000, 'connect (and TLS handshake) timeout to a drain receiver'),
  LOGPLEX_DRAIN_RESPONSE_TIMEOUT_MS: ms(30_000, 'HTTP drains: request sent to answer; syslog drains: one write'),
  LOGPLEX_DRAIN_BACKOFF_BASE_MS: ms(100, 'first retry delay of a failing drain (full jitter, doubling)'),
  LOGPLEX_DRAIN_BACKOFF_CAP_MS: ms(30_000, 'longest retry delay of a failing drain'),
  SWITCHYARD_APP: {
    kind: 'string',
    def: undefined,
    pattern: /^[a-z][a-z0-9-]{2,29}$/,
    rule: 'an app name ([a-z][a-z0-9-]{2,29})',
    help: 'operator commands and `logs`: the app when -a/--app is not given',
  },
  LOGPLEX_PUBLIC_URL: {
    kind: 'url',
    def: undefined,
    schemes: ['http:', 'https:'],
    help: 'base of the session URLs POST /v2/sessions hands out (default: the HTTP listener)',
  },
  LOGPLEX_CHANNEL_RATE: {
    kind: 'int',
    def: 10_000,
    min: 0,
    max: 10_000_000,
    help: 'lines/s one channel may ingest on one node (token bucket; 0: no limit); the excess is dropped (L16)',
  },
  LOGPLEX_CHANNEL_BURST: {
    kind: 'int',
    def: 50_000,
    min: 1,
    max: 100_000_000,
    help: 'lines a channel may ingest at once above LOGPLEX_CHANNEL_RATE (the bucket size)',
  },
  SWITCHYARD_LOGS_GIVE_UP_MS: ms(60_000, '`logs --tail`: how long it keeps reconnecting to Logplex before it exits 1'),
  LOG_LEVEL: { kind: 'enum', def: 'info', values: ['debug', 'info', 'warn', 'error'], help: 'our own stdout logs' },
} as const satisfies Record<string, Spec>;

export type SettingName = keyof typeof SETTINGS;

type ValueOf<S> = S extends { kind: 'int' } ? number : S extends { def: undefined } ? string | undefined : string;

export type Config = { readonly [K in SettingName]: ValueOf<(typeof SETTINGS)[K]> };

export class ConfigError extends Error {
  readonly code = 'SY_CONFIG';
  constructor(
    readonly variable: string,
    readonly value: string,
    readonly allowed: string,
  ) {
    super(`${variable}=${JSON.stringify(value)} is invalid: expected ${allowed}`);
  }
}

/** A secret's value never appears in an error: only its length does. */
function secretError(name: string, raw: string, allowed: string): ConfigError {
  const e = new ConfigError(name, `(hidden, ${raw.length} characters)`, allowed);
  e.message = `${name} (value hidden, ${raw.length} characters) is invalid: expected ${allowed}`;
  return e;
}

/** A URL as it may be shown: any password replaced by ***. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (!u.password) return raw;
    u.password = '***';
    return u.href;
  } catch {
    return raw.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  }
}

function parseOne(name: string, spec: Spec, raw: string): string | number {
  switch (spec.kind) {
    case 'int': {
      const n = /^-?[0-9]+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n) || n < spec.min || n > spec.max) {
        throw new ConfigError(name, raw, `an integer from ${spec.min} to ${spec.max}`);
      }
      return n;
    }
    case 'string':
      if (spec.pattern && !spec.pattern.test(raw)) {
        const allowed = spec.rule ?? String(spec.pattern);
        throw spec.secret ? secretError(name, raw, allowed) : new ConfigError(name, raw, allowed);
      }
      return raw;
    case 'enum':
      if (!spec.values.includes(raw)) throw new ConfigError(name, raw, `one of ${spec.values.join(', ')}`);
      return raw;
    case 'url': {
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        throw new ConfigError(name, redactUrl(raw), `a URL (${spec.schemes.join(' ')})`);
      }
      if (!spec.schemes.includes(u.protocol))
        throw new ConfigError(name, redactUrl(raw), `a URL with scheme ${spec.schemes.join(' or ')}`);
      return raw;
    }
    case 'redis': {
      const target = parseRedisUrl(raw);
      if (typeof target === 'string') throw new ConfigError(name, redactUrl(raw), target);
      return raw;
    }
  }
}

/** Parses every known variable of `env`; unknown variables are none of our business. */
export function loadConfig(
  env: Record<string, string | undefined>,
  defaults: Partial<Record<SettingName, string>> = {},
): Config {
  const out: Record<string, string | number | undefined> = {};
  for (const [name, spec] of Object.entries(SETTINGS) as [SettingName, Spec][]) {
    const raw = env[name] ?? defaults[name];
    out[name] = raw === undefined || raw === '' ? spec.def : parseOne(name, spec, raw);
  }
  return Object.freeze(out) as Config;
}

/** `--router-port 9000` / `--router-port=9000` → `{ROUTER_PORT: '9000'}`; anything else is returned as rest. */
export function flagsToEnv(argv: readonly string[]): { env: Record<string, string>; rest: string[] } {
  const env: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
    const name = m ? m[1]!.toUpperCase().replace(/-/g, '_') : '';
    if (m && name in SETTINGS) {
      const value = m[2] ?? argv[++i];
      if (value === undefined) throw new ConfigError(name, '', `a value after ${arg}`);
      env[name] = value;
    } else {
      rest.push(arg);
    }
  }
  return { env, rest };
}

/** Variables with our prefixes that name no setting. */
const OUR_PREFIXES = /^(SWITCHYARD|ROUTER|LOGPLEX|DYNO)_/;

/** Edit distance (insert, delete, substitute), for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * One warning per variable that looks like ours (SWITCHYARD_, ROUTER_, LOGPLEX_, DYNO_) but names
 * no setting, with the nearest valid name: a misspelt setting would otherwise be ignored in silence.
 */
export function unknownSettings(env: Record<string, string | undefined>): string[] {
  const names = Object.keys(SETTINGS);
  const out: string[] = [];
  for (const key of Object.keys(env).sort()) {
    if (!OUR_PREFIXES.test(key) || key in SETTINGS) continue;
    let best = names[0]!;
    for (const n of names) if (distance(key, n) < distance(key, best)) best = n;
    out.push(`${key} is not a setting and is ignored; did you mean ${best}?`);
  }
  return out;
}

/**
 * Which settings each command reads, as data: the prefixes it takes whole, plus single names, minus
 * exceptions. A setting added later under a prefix shows up in the right commands' --help.
 */
const READS: Record<string, { prefixes: readonly string[]; include: readonly string[]; exclude: readonly string[] }> = {
  dev: {
    prefixes: ['ROUTER_', 'LOGPLEX_'],
    include: ['SWITCHYARD_GRACE_MS', 'LOG_LEVEL'],
    exclude: ['LOGPLEX_URL', 'ROUTER_ADMIN_URL', 'ROUTER_WORKERS', 'ROUTER_AFFINITY_SECRET'],
  },
  router: {
    prefixes: ['ROUTER_', 'SWITCHYARD_'],
    include: ['REDIS_URL', 'LOGPLEX_URL', 'LOG_LEVEL'],
    exclude: ['ROUTER_ADMIN_URL', 'SWITCHYARD_APP'],
  },
  logplex: {
    prefixes: ['LOGPLEX_', 'SWITCHYARD_'],
    include: ['REDIS_URL', 'LOG_LEVEL'],
    exclude: ['LOGPLEX_URL', 'SWITCHYARD_APP'],
  },
  dyno: {
    prefixes: ['DYNO_'],
    include: [
      'ROUTER_ADMIN_URL',
      'ROUTER_ADMIN_PORT',
      'LOGPLEX_URL',
      'LOGPLEX_PORT',
      'SWITCHYARD_API_TOKEN',
      'SWITCHYARD_GRACE_MS',
      'LOG_LEVEL',
    ],
    exclude: [],
  },
  operator: {
    prefixes: [],
    include: [
      'SWITCHYARD_APP',
      'ROUTER_ADMIN_URL',
      'ROUTER_ADMIN_PORT',
      'LOGPLEX_URL',
      'LOGPLEX_PORT',
      'SWITCHYARD_API_TOKEN',
    ],
    exclude: [],
  },
};

/** The settings `command` reads (every setting for a command with no entry). */
export function settingsFor(command: string): SettingName[] {
  const all = Object.keys(SETTINGS) as SettingName[];
  const r = READS[command];
  if (!r) return all;
  return all.filter(
    (n) => !r.exclude.includes(n) && (r.include.includes(n) || r.prefixes.some((p) => n.startsWith(p))),
  );
}

/** The settings table as text, for `--help` and docs/operations.md; only `names` when given. */
export function describeSettings(names: readonly SettingName[] = Object.keys(SETTINGS) as SettingName[]): string {
  return (Object.entries(SETTINGS) as [SettingName, Spec][])
    .filter(([name]) => names.includes(name))
    .map(([name, s]) => `  ${name.padEnd(28)} ${s.help}${s.def === undefined ? '' : ` (default ${String(s.def)})`}`)
    .join('\n');
}
