// Step 2 of the request path (design.md §Request path): Host header → app, through the route table.
import type { AppEntry, RouteTable } from './table/route-table';

const HOST_CHARS = /^[a-z0-9.*-]+$/;

/**
 * Lower-cases, drops the port and one trailing dot (RFC 1034 §3.1 absolute names):
 * `Hello.LocalHost.:8080` → `hello.localhost`. Undefined for a Host no app can own
 * (empty, IPv6 literal, characters outside RFC 1123).
 */
export function normaliseHost(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let host = raw.toLowerCase();
  const colon = host.indexOf(':');
  if (colon !== -1) host = host.slice(0, colon);
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.length === 0 || host.length > 253 || !HOST_CHARS.test(host)) return undefined;
  return host;
}

/** The app that owns `host` (already normalised): exact match, then wildcard (route-table.ts). */
export function resolve(table: RouteTable, host: string): AppEntry | undefined {
  return table.lookup(host);
}
