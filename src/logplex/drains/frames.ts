// The two drain line shapes (DESIGN §4 "Drains"), octet-counted (RFC 6587 §3.4.1 `LEN SP MSG`),
// built with the shared codec:
//   HTTPS (Logplex's shape, no STRUCTURED-DATA): <PRI>1 TIME host SOURCE DYNO - MSG
//   syslog (strict RFC 5424):                    <PRI>1 TIME d.TOKEN SOURCE DYNO - - MSG
import { encodeFrame } from '../../shared/syslog/frame';
import type { FormatInput } from '../../shared/syslog/rfc5424';
import { formatHead, formatSyslog } from '../../shared/syslog/rfc5424';
import type { DrainLine } from './store/index';

export type FrameShape = 'logplex' | 'rfc5424';

/**
 * A syslog drain's MSG always ends with `\n`, inside the octet count, as Logplex sends it: a
 * receiver that just prints the stream (no RFC 6587 parsing) then shows one line per line.
 */
function withNewline(msg: string | Buffer, shape: FrameShape): string | Buffer {
  if (shape !== 'rfc5424' || endsWithNewline(msg)) return msg;
  return typeof msg === 'string' ? msg + '\n' : Buffer.concat([msg, NEWLINE]);
}
const NEWLINE = Buffer.from('\n');

/** One line's syslog message (without the octet count). */
function formatLine(line: DrainLine, shape: FrameShape, hostname: string): Buffer {
  return formatSyslog({ ...headOf(line, shape, hostname), msg: withNewline(line.msg, shape) });
}

function headOf(line: DrainLine, shape: FrameShape, hostname: string): Omit<FormatInput, 'msg'> {
  return {
    pri: line.pri,
    timestamp: line.time,
    hostname,
    appName: line.source,
    procId: line.ps,
    // Structured data the sender gave is kept through to syslog drains; Logplex's HTTPS shape has none.
    sd: shape === 'rfc5424' ? line.sd : null,
    ...(shape === 'rfc5424' && line.msgid ? { msgId: line.msgid } : {}),
  };
}

/** One line as `LEN SP MSG` bytes. `hostname` is `host` (HTTPS) or the drain token (syslog). */
export function frameLine(line: DrainLine, shape: FrameShape, hostname: string): Buffer {
  return encodeFrame(formatLine(line, shape, hostname));
}

/**
 * The frames of a batch, concatenated: the same bytes as the lines' `frameLine`s, written
 * into one Buffer sized from the known lengths. Per line only the header is built (a short
 * string); MSG goes in once, copied as bytes when the store handed bytes.
 */
export function frameBatch(lines: readonly DrainLine[], shape: FrameShape, hostname: string): Buffer {
  const prefixes = new Array<string>(lines.length);
  // Per line: does MSG get the closing newline (syslog shape, not there yet)? Written as a byte, never a copy.
  const newline = new Uint8Array(lines.length);
  let size = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const head = formatHead(headOf(line, shape, hostname));
    const msg = line.msg;
    const nl = shape === 'rfc5424' && !endsWithNewline(msg) ? 1 : 0;
    newline[i] = nl;
    const msgLen = (typeof msg === 'string' ? Buffer.byteLength(msg, 'utf8') : msg.length) + nl;
    // formatSyslog: HEAD, or HEAD SP MSG when there is a MSG.
    const len = Buffer.byteLength(head, 'utf8') + (msgLen > 0 ? 1 + msgLen : 0);
    prefixes[i] = msgLen > 0 ? `${len} ${head} ` : `${len} ${head}`;
    size += String(len).length + 1 + len;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < lines.length; i++) {
    at += out.write(prefixes[i]!, at, 'utf8');
    const msg = lines[i]!.msg;
    at += typeof msg === 'string' ? out.write(msg, at, 'utf8') : msg.copy(out, at);
    if (newline[i]) out[at++] = 0x0a;
  }
  return out;
}

function endsWithNewline(msg: string | Buffer): boolean {
  return typeof msg === 'string' ? msg.endsWith('\n') : msg.length > 0 && msg[msg.length - 1] === 0x0a;
}

/** Bytes a line takes framed (an upper bound), for the 1 MiB batch limit. */
export function framedSize(line: DrainLine): number {
  return (
    96 +
    line.time.length +
    line.source.length +
    line.ps.length +
    1 +
    (typeof line.msg === 'string' ? Buffer.byteLength(line.msg) : line.msg.length)
  );
}
