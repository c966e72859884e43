// Drain transports by URL scheme (heroku/logplex:src/logplex_drain.erl `mod/1`)
// and drain URL validation (design.md §Drains: 422 naming what is wrong, 409 for a duplicate).
import { ApiError } from '../../shared/json-api';
import { HttpsTransport } from './https';
import { SyslogTransport } from './syslog';
import type { DrainTarget, Transport, TransportOptions } from './transport';

type Factory = (target: DrainTarget, opts: TransportOptions) => Transport;

const TRANSPORTS: Readonly<Record<string, Factory>> = {
  'syslog:': (t, o) => new SyslogTransport(t, o),
  'syslog+tls:': (t, o) => new SyslogTransport(t, o),
  'https:': (t, o) => new HttpsTransport(t, o),
  'http:': (t, o) => new HttpsTransport(t, o),
};

export const DRAIN_SCHEMES = Object.keys(TRANSPORTS).map((s) => s.slice(0, -1));

/** A drain URL is at most this long (Logplex's clients send short URLs; this bounds the store). */
const MAX_URL = 2048;

/** Parses and checks a drain URL; throws a 422 ApiError naming the problem. Returns the canonical form. */
export function validateDrainUrl(raw: unknown): URL {
  const bad = (msg: string): ApiError => new ApiError('unprocessable_entity', `invalid drain url: ${msg}`);
  if (typeof raw !== 'string' || raw === '') throw bad('"url" must be a non-empty string');
  if (raw.length > MAX_URL) throw bad(`longer than ${MAX_URL} characters`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw bad(`"${raw}" is not a URL`);
  }
  if (!(u.protocol in TRANSPORTS)) {
    throw bad(
      `scheme "${u.protocol.slice(0, -1)}" is not supported; use ${DRAIN_SCHEMES.map((s) => s + '://').join(', ')}`,
    );
  }
  if (!u.hostname) throw bad('missing host');
  const syslog = u.protocol.startsWith('syslog');
  if (syslog) {
    // syslog:// has no default port (RFC 5424 transports differ: 514, 601, 6514): it must be named.
    if (!u.port) throw bad('missing port (syslog://host:port)');
    if (u.username || u.password) throw bad('credentials are not allowed in a syslog URL');
    if ((u.pathname && u.pathname !== '/') || u.search || u.hash)
      throw bad('a syslog URL has no path, query or fragment');
  } else if (u.hash) {
    throw bad('a fragment is not allowed');
  }
  if (u.port === '0') throw bad('port 0 is not a port');
  return u;
}

/** The URL as stored and compared for duplicates (409): WHATWG-normalised; syslog URLs lower-cased, without a trailing `/`. */
export function canonicalUrl(u: URL): string {
  return u.protocol.startsWith('syslog') ? `${u.protocol}//${u.host.toLowerCase()}` : u.href;
}

export function createTransport(target: DrainTarget, opts: TransportOptions): Transport {
  const factory = TRANSPORTS[target.url.protocol];
  if (!factory) throw new Error(`no transport for ${target.url.protocol}`);
  return factory(target, opts);
}

export type { DrainTarget, Outcome, Payload, Transport, TransportOptions } from './transport';
export { DEFAULT_TRANSPORT_OPTIONS } from './transport';
