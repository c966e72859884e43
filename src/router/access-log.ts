// Step 9 of the request path (design.md §Request path): one router log line per request, in Heroku's shape:
//   at=info method=GET path="/" host=hello.localhost request_id=… fwd="127.0.0.1" dyno=web.1 connect=1ms service=4ms status=200 bytes=512 protocol=http
// Failures start `at=error code=H12 desc="Request timeout"` and keep the same fields; a request that
// took more than one attempt adds `attempts=N tried=web.1,web.3`. The line always goes to stdout;
// an AccessLogSink (the platform points it at the app's Logplex channel) gets it too.
import { writeSync } from 'node:fs';
import { logfmtQuoted } from '../shared/log';
import { H_CODES, type HCode } from './errors';

/** The fields of a router line besides its code; the request path's RequestContext is one. */
export interface RouterLogRecord {
  readonly method: string;
  readonly path: string;
  readonly host: string;
  /** Made by headers.ts requestIdFor only: a UUID or 20–200 chars of [A-Za-z0-9+/=-], so written as is. */
  readonly requestId: string;
  /** A socket's peer address (ClientRequest.remoteAddress). */
  readonly fwd: string;
  /** `method`, `path` and `host` passed the HTTP/1 parser's character tables: written without a test. */
  readonly headChecked?: boolean;
  /** Empty when no dyno was picked (H10, H11, H14, H80, …), as in Heroku's lines. */
  readonly dyno: string;
  readonly connectMs: number | undefined;
  readonly serviceMs: number | undefined;
  readonly status: number;
  readonly bytes: number | undefined;
  readonly protocol: 'http' | 'https';
  /** The client's HTTP version when it is not 1.x (`2.0` over h2): `http_version=` after `protocol=`. */
  readonly httpVersion?: string;
  readonly tried: readonly string[];
}

export interface AccessLogEntry {
  /** The app whose channel gets the line (source `heroku`, ps `router`). */
  readonly app: string;
  readonly line: string;
  readonly status: number;
  readonly code: HCode | undefined;
}

/**
 * Must never block nor throw: a sink that cannot keep up drops (design.md §Router line) and answers false,
 * which the data plane counts in switchyard_router_access_log_dropped_total.
 */
export interface AccessLogSink {
  write(entry: AccessLogEntry): boolean | void;
}

const NEEDS_BARE = /[\s"\\\x00-\x1f\x7f]/;
const quoted = logfmtQuoted;
const bare = (v: string): string => (NEEDS_BARE.test(v) ? v.replace(/[\s"\\\x00-\x1f\x7f]/g, '_') : v);
const ms = (v: number | undefined): string => (v === undefined ? '' : `${Math.round(v)}ms`);

/**
 * An address as sockets give it is IPv4 or IPv6 text (digits, hex, `.`, `:`), safe in quotes; only a
 * link-local IPv6 address's zone (`%` and an interface name, which Linux lets hold `"` or `\`) is checked.
 */
const quotedAddress = (v: string): string => (v.indexOf('%') === -1 ? '"' + v + '"' : quoted(v));

/**
 * `r` is read where it lies (the request's context), not copied into a record first. Values whose
 * maker already guarantees them skip the regex test (~300 instructions each): the request id
 * (requestIdFor), an HTTP/1 request's method, path and host (`headChecked`), a peer address.
 */
export function formatRouterLine(r: RouterLogRecord, code: HCode | undefined): string {
  const head = code === undefined ? 'at=info' : `at=error code=${code} desc=${quoted(H_CODES[code].desc)}`;
  const fields =
    r.headChecked === true
      ? `method=${r.method} path="${r.path}" host=${r.host}`
      : `method=${bare(r.method)} path=${quoted(r.path)} host=${bare(r.host)}`;
  let line =
    `${head} ${fields} request_id=${r.requestId}` +
    ` fwd=${quotedAddress(r.fwd)} dyno=${r.dyno} connect=${ms(r.connectMs)} service=${ms(r.serviceMs)}` +
    ` status=${r.status} bytes=${r.bytes ?? ''} protocol=${r.protocol}`;
  if (r.httpVersion !== undefined) line += ` http_version=${r.httpVersion}`;
  if (r.tried.length > 1) line += ` attempts=${r.tried.length} tried=${r.tried.join(',')}`;
  return line;
}

/** Writes each line to `write` (stdout by default). */
export type LineWriter = (line: string) => void;
/**
 * Lines written in one turn of the event loop go out in one `write` (stdout to a file or a pipe
 * may be synchronous: one write per request stalled the loop under load). `flushAtExit` writes a
 * pending batch synchronously when the process exits, so nothing is lost.
 */
export function batchedLines(write: (batch: string) => void, flushAtExit?: (batch: string) => void): LineWriter {
  let pending = '';
  let scheduled = false;
  let exitHooked = false;
  const flush = (): void => {
    scheduled = false;
    const out = pending;
    pending = '';
    if (out !== '') write(out);
  };
  return (line) => {
    pending += line + '\n';
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
    if (!exitHooked && flushAtExit !== undefined) {
      exitHooked = true;
      process.once('exit', () => {
        if (pending !== '') flushAtExit(pending);
        pending = '';
      });
    }
  };
}

export const stdoutLines: LineWriter = batchedLines(
  (batch) => process.stdout.write(batch),
  (batch) => writeSync(1, batch),
);
