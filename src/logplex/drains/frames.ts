// The two drain line shapes (DESIGN §4 "Drains"), octet-counted (RFC 6587 §3.4.1 `LEN SP MSG`),
// built with the shared codec:
//   HTTPS (Logplex's shape, no STRUCTURED-DATA): <PRI>1 TIME host SOURCE DYNO - MSG
//   syslog (strict RFC 5424):                    <PRI>1 TIME d.TOKEN SOURCE DYNO - - MSG
import { encodeFrame } from '../../shared/syslog/frame';
import { formatSyslog } from '../../shared/syslog/rfc5424';
import type { LogLine } from '../lines';

export type FrameShape = 'logplex' | 'rfc5424';

/** One line as `LEN SP MSG` bytes. `hostname` is `host` (HTTPS) or the drain token (syslog). */
export function frameLine(line: LogLine, shape: FrameShape, hostname: string): Buffer {
  return encodeFrame(
    formatSyslog({
      pri: line.pri,
      timestamp: line.time,
      hostname,
      appName: line.source,
      procId: line.ps,
      sd: shape === 'rfc5424' ? undefined : null,
      msg: line.msg,
    }),
  );
}

/** The frames of a batch, concatenated. */
export function frameBatch(lines: readonly LogLine[], shape: FrameShape, hostname: string): Buffer {
  const parts = new Array<Buffer>(lines.length);
  let size = 0;
  for (let i = 0; i < lines.length; i++) {
    parts[i] = frameLine(lines[i]!, shape, hostname);
    size += parts[i]!.length;
  }
  return Buffer.concat(parts, size);
}

/** Bytes a line takes framed (an upper bound), for the 1 MiB batch limit. */
export function framedSize(line: LogLine): number {
  return 96 + line.time.length + line.source.length + line.ps.length + Buffer.byteLength(line.msg);
}
