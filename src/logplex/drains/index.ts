// Drain transports by URL scheme (heroku/logplex:src/logplex_drain.erl `mod/1`), and drain URL
// validation (design.md §Logplex API: 422 naming what is wrong, 409 for a duplicate). Each
// transport's file exports its row (schemes, what it refuses, canonical form, factory): a new
// transport is one file and one line in KINDS.
import { ApiError } from '../../shared/json-api';
import { HTTPS_DRAIN } from './https';
import { OTLP_DRAIN } from './otlp';
import { SYSLOG_DRAIN } from './syslog';
import type { DrainRecord } from './store/index';
import type { DrainKind, DrainTarget, Transport, TransportOptions } from './transport';

const KINDS: readonly DrainKind[] = [SYSLOG_DRAIN, HTTPS_DRAIN, OTLP_DRAIN];

const BY_SCHEME: ReadonlyMap<string, DrainKind> = new Map(KINDS.flatMap((k) => k.schemes.map((s) => [s, k])));

export const DRAIN_SCHEMES = [...BY_SCHEME.keys()].map((s) => s.slice(0, -1));

/** A drain URL is at most this long (Logplex's clients send short URLs; this bounds the store). */
const MAX_URL = 2048;

/** The row serving this URL's scheme. */
export function drainKind(u: URL): DrainKind | undefined {
  return BY_SCHEME.get(u.protocol);
}

/** Parses and checks a drain URL; throws a 422 ApiError naming the problem. */
export function validateDrainUrl(raw: unknown): URL {
  const bad = (msg: string): ApiError => new ApiError('unprocessable_entity', `invalid drain url: ${msg}`);
  if (typeof raw !== 'string' || raw === '') throw bad('"url" must be a non-empty string');
  if (raw.length > MAX_URL) throw bad(`longer than ${MAX_URL} characters`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw bad(`"${maskUrl(raw)}" is not a URL`);
  }
  const kind = drainKind(u);
  if (!kind) {
    throw bad(
      `scheme "${u.protocol.slice(0, -1)}" is not supported; use ${DRAIN_SCHEMES.map((s) => s + '://').join(', ')}`,
    );
  }
  if (!u.hostname) throw bad('missing host');
  const problem = kind.problem(u);
  if (problem) throw bad(problem);
  if (u.port === '0') throw bad('port 0 is not a port');
  return u;
}

/** The URL as stored and compared for duplicates (409): the form its transport defines. */
export function canonicalUrl(u: URL): string {
  return drainKind(u)!.canonical(u);
}

/** What a transport needs of a drain's record. */
export function targetOf(d: DrainRecord): DrainTarget {
  const t: DrainTarget = { url: new URL(d.url), token: d.token, channel: d.channel };
  if (d.secret) t.secret = d.secret;
  if (d.headers) t.headers = d.headers;
  if (d.app) t.app = d.app;
  return t;
}

export function createTransport(target: DrainTarget, opts: TransportOptions): Transport {
  const kind = drainKind(target.url);
  if (!kind) throw new Error(`no transport for ${target.url.protocol}`);
  return kind.create(target, opts);
}

/**
 * A URL as the API and our logs show it: a password (or a user without one, often an API key)
 * becomes `***`. Unparseable text is cut at its `@`.
 */
export function maskUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    const at = raw.lastIndexOf('@');
    return at < 0 ? raw : `***${raw.slice(at)}`;
  }
  if (!u.username && !u.password) return raw;
  if (u.password) u.password = '***';
  else u.username = '***';
  return u.href;
}

export type { DrainKind, DrainTarget, Outcome, Payload, Transport, TransportOptions } from './transport';
export { DEFAULT_TRANSPORT_OPTIONS } from './transport';
