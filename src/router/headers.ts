// Step 6 of the request path (design.md §Request path): the headers a dyno sees, built as a NEW flat
// [name, value, …] list from the client's raw headers (never by editing req.headers), and the
// response headers the client sees. Hop-by-hop headers go both ways (RFC 9110 §7.6.1), including
// every header the Connection header names.
import { isName, nameBytes } from './http1/head-bytes';
import { uuidV4 } from './request-id';

/** RFC 9110 §7.6.1 and RFC 2616 §13.5.1; `expect` is answered by the router itself (100-continue). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
/** Set by the router: a client's own values would let it lie about timing or origin. */
const ROUTER_SET = new Set([
  'x-request-id',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-request-start',
  'via',
  'connect-time',
  'total-route-time',
  'expect',
]);

const REQUEST_ID = /^[A-Za-z0-9+/=-]{20,200}$/;

/** The client's X-Request-Id when it is 20–200 chars of [A-Za-z0-9+/=-], else a new UUID. */
export function requestIdFor(raw: string | string[] | undefined): string {
  return typeof raw === 'string' && REQUEST_ID.test(raw) ? raw : uuidV4();
}

export interface ForwardFacts {
  readonly requestId: string;
  /** Client address, appended to X-Forwarded-For. */
  readonly remote: string;
  readonly proto: 'http' | 'https';
  readonly port: number;
  /** ms since epoch when the router accepted the request (X-Request-Start). */
  readonly acceptedAt: number;
  /** ms spent on connect attempts before this one (Connect-Time). */
  readonly connectMs: number;
}

/** Lower-cased tokens of a Connection header, or undefined when there is none (the common case). */
function connectionTokens(value: string | undefined): Set<string> | undefined {
  if (!value) return undefined;
  const out = new Set<string>();
  for (const t of value.split(',')) {
    const name = t.trim().toLowerCase();
    if (name) out.add(name);
  }
  return out;
}

/** Every value of the Connection header, joined (RFC 9110 §5.3), or undefined. */
function connectionValue(raw: readonly string[]): string | undefined {
  let out: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 10 && name.toLowerCase() === 'connection')
      out = out === undefined ? raw[i + 1]! : `${out}, ${raw[i + 1]!}`;
  }
  return out;
}

/**
 * `acceptedAt` (ms since the epoch) as text. It is beyond V8's small integers, so `${ms}` misses the
 * number-to-string cache and runs the full double conversion (~500 instructions) every time; here
 * the last value is kept, and on a new millisecond only its last three digits are looked up,
 * behind the seconds kept as text since the last new second.
 */
let lastMs = -1;
let lastMsText = '';
let lastSecond = -1;
let lastSecondText = '';
const MILLIS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
function msText(ms: number): string {
  if (ms === lastMs) return lastMsText;
  const second = Math.floor(ms / 1000);
  const millis = MILLIS[ms - second * 1000];
  // What Date.now() never gives (a fraction, a time in 1970's first second) is converted whole.
  if (millis === undefined || second <= 0) return `${ms}`;
  if (second !== lastSecond) {
    lastSecond = second;
    lastSecondText = `${second}`;
  }
  lastMs = ms;
  return (lastMsText = lastSecondText + millis);
}

/** Names as lower-case bytes, by length: what namedAt compares a field name with. */
function byLength(names: Iterable<string>): Buffer[][] {
  const out: Buffer[][] = [];
  for (const n of names) (out[n.length] ??= []).push(nameBytes(n));
  return out;
}
const OWNED_BY_LENGTH = byLength([...HOP_BY_HOP, ...ROUTER_SET]);
const HOP_BY_LENGTH = byLength(HOP_BY_HOP);

function namedAt(table: Buffer[][], b: Buffer, at: number, len: number): boolean {
  const names = table[len];
  if (names === undefined) return false;
  for (let k = 0; k < names.length; k++) if (isName(b, at, names[k]!)) return true;
  return false;
}

/** Whether the field name of `len` bytes at `b[at]` is hop-by-hop (RFC 9110 §7.6.1): the response parser asks. */
export function hopByHopAt(b: Buffer, at: number, len: number): boolean {
  return namedAt(HOP_BY_LENGTH, b, at, len);
}

/**
 * Whether the field name of `len` bytes at `b[at]` is the router's to drop or set (hop-by-hop, or
 * one of the router's own). The client engine asks it once per field while parsing, to know
 * whether the head can pass to the dyno as the client sent it; it reads bytes, so no name is
 * lower-cased or hashed on the way.
 */
export function routerOwnedAt(b: Buffer, at: number, len: number): boolean {
  return namedAt(OWNED_BY_LENGTH, b, at, len);
}

/**
 * The header section a dyno gets, as `name: value\r\n` lines: the client's fields without the
 * router's, then the router's own. `passThrough` is the client's header section exactly as it
 * arrived, given when none of its fields is the router's (the common case): it is sent unchanged.
 */
export function upstreamFields(
  raw: readonly string[],
  passThrough: string | undefined,
  f: ForwardFacts,
  now: number,
): string {
  let out = passThrough ?? '';
  let xff = '';
  let via = '';
  if (passThrough === undefined) {
    const named = connectionTokens(connectionValue(raw));
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || (named !== undefined && named.has(lower))) continue;
      if (ROUTER_SET.has(lower)) {
        if (lower === 'x-forwarded-for') xff += (xff ? ', ' : '') + raw[i + 1]!;
        else if (lower === 'via') via += (via ? ', ' : '') + raw[i + 1]!;
        continue;
      }
      out += `${name}: ${raw[i + 1]!}\r\n`;
    }
  }
  return (
    out +
    `x-request-id: ${f.requestId}\r\nx-forwarded-for: ${xff ? `${xff}, ${f.remote}` : f.remote}\r\n` +
    `x-forwarded-proto: ${f.proto}\r\nx-forwarded-port: ${f.port}\r\nx-request-start: ${msText(f.acceptedAt)}\r\n` +
    `via: ${via ? `${via}, 1.1 switchyard` : '1.1 switchyard'}\r\nconnect-time: ${Math.round(f.connectMs)}\r\n` +
    `total-route-time: ${Math.max(0, Math.round(now - f.acceptedAt))}\r\n`
  );
}

/** Response headers for the client from the dyno's raw [name, value, …] list, hop-by-hop removed. */
export function downstreamHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') connection = raw[i + 1]!;
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  // The common `Connection: keep-alive` / `close` names no other header: skip the second pass.
  const named =
    connection === undefined || /^\s*(keep-alive|close)\s*$/i.test(connection)
      ? undefined
      : connectionTokens(connection);
  if (named === undefined) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!named.has(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
  return kept;
}
