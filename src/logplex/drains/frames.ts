// The two drain line shapes (DESIGN §4 "Drains"), octet-counted (RFC 6587 §3.4.1 `LEN SP MSG`),
// built with the shared codec:
//   HTTPS (Logplex's shape, no STRUCTURED-DATA): <PRI>1 TIME host SOURCE DYNO - MSG
//   syslog (strict RFC 5424):                    <PRI>1 TIME d.TOKEN SOURCE DYNO - - MSG
import { encodeFrame } from '../../shared/syslog/frame';
import { formatSyslog } from '../../shared/syslog/rfc5424';
import type { LogLine } from '../lines';

export type FrameShape = 'logplex' | 'rfc5424';

/** One line's syslog message (without the octet count). */
function formatLine(line: LogLine, shape: FrameShape, hostname: string): Buffer {
  return formatSyslog({
    pri: line.pri,
    timestamp: line.time,
    hostname,
    appName: line.source,
    procId: line.ps,
    sd: shape === 'rfc5424' ? undefined : null,
    msg: line.msg,
  });
}

/** One line as `LEN SP MSG` bytes. `hostname` is `host` (HTTPS) or the drain token (syslog). */
export function frameLine(line: LogLine, shape: FrameShape, hostname: string): Buffer {
  return encodeFrame(formatLine(line, shape, hostname));
}

/**
 * The frames of a batch, concatenated: the same bytes as the lines' `frameLine`s, written
 * into one Buffer sized from the known lengths (no framed copy per line, no concat).
 */
export function frameBatch(lines: readonly LogLine[], shape: FrameShape, hostname: string): Buffer {
  const msgs = new Array<Buffer>(lines.length);
  let size = 0;
  for (let i = 0; i < lines.length; i++) {
    const msg = formatLine(lines[i]!, shape, hostname);
    msgs[i] = msg;
    size += String(msg.length).length + 1 + msg.length;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const msg of msgs) {
    at += out.write(`${msg.length} `, at, 'latin1');
    at += msg.copy(out, at);
  }
  return out;
}

/** Bytes a line takes framed (an upper bound), for the 1 MiB batch limit. */
export function framedSize(line: LogLine): number {
  return 96 + line.time.length + line.source.length + line.ps.length + Buffer.byteLength(line.msg);
}
