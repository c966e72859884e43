// The two drain line shapes (DESIGN §4 "Drains"), octet-counted (RFC 6587 §3.4.1 `LEN SP MSG`):
//   HTTPS (Logplex's shape, no STRUCTURED-DATA): <PRI>1 TIME host SOURCE DYNO - MSG
//   syslog (strict RFC 5424):                    <PRI>1 TIME d.TOKEN SOURCE DYNO - - MSG
import type { LogLine } from '../lines';

export type FrameShape = 'logplex' | 'rfc5424';

/** RFC 5424 §6: header fields are PRINTUSASCII (33–126) with a length cap; empty is NILVALUE. */
function field(value: string, max: number): string {
  if (value === '') return '-';
  const clean = /^[\x21-\x7e]*$/.test(value) ? value : value.replace(/[^\x21-\x7e]/g, '_');
  return clean.length > max ? clean.slice(0, max) : clean;
}

/** RFC 5424 §6.2.1: PRI is 0–191. */
const pri = (p: number): number => (Number.isInteger(p) && p >= 0 && p <= 191 ? p : 13);

/** One line as `LEN SP MSG` bytes. `hostname` is `host` (HTTPS) or the drain token (syslog). */
export function frameLine(line: LogLine, shape: FrameShape, hostname: string): Buffer {
  const head =
    `<${pri(line.pri)}>1 ${field(line.time, 64)} ${field(hostname, 255)} ${field(line.source, 48)} ${field(line.ps, 128)} -` +
    (shape === 'rfc5424' ? ' - ' : ' ');
  const len = Buffer.byteLength(head) + Buffer.byteLength(line.msg);
  return Buffer.from(`${len} ${head}${line.msg}`);
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

/** Bytes a line takes framed (close upper bound), for the 1 MiB batch limit. */
export function framedSize(line: LogLine): number {
  return 96 + line.time.length + line.source.length + line.ps.length + Buffer.byteLength(line.msg);
}
