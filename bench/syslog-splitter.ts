// Lines/s of FrameSplitter + parseSyslog on 200-byte octet-counted lines: the bare-codec baseline
// that the Logplex ingest bench compares against. Run:
//   npx tsc -p tsconfig.test.json && taskset -c 1 node build/bench/syslog-splitter.js [lines]
import { encodeFrame, FrameSplitter } from '../src/shared/syslog/frame';
import { formatSyslog, formatTimestamp, parseSyslog, SyslogParseError } from '../src/shared/syslog/rfc5424';
import { printReport } from './lib/report';

export interface SplitterResult {
  lines: number;
  /** FrameSplitter + parseSyslog */
  linesPerSec: number;
  /** FrameSplitter alone */
  splitOnlyLinesPerSec: number;
  /** bytes per framed line (200) */
  frameBytes: number;
}

const FRAME_BYTES = 200;
const CHUNK = 64 * 1024;

/** `lines` framed lines of exactly 200 bytes each, in 64 KiB chunks as a TCP socket would hand them over. */
function workload(lines: number): Buffer[] {
  const time = formatTimestamp(Date.UTC(2026, 10, 26, 10, 0, 0, 123), 456);
  const head = formatSyslog({
    pri: 190,
    timestamp: time,
    hostname: 'host',
    appName: 't.0c6a3bd0-0e8f-4a3c-9f3b-1d3e5f7a9b1c',
    procId: 'web.1',
    msg: '',
  });
  const prefixLen = 4; // "196 "
  const msg = 'at=info method=GET path="/" status=200 '.padEnd(FRAME_BYTES - prefixLen - head.length - 1, 'x');
  const frame = encodeFrame(
    formatSyslog({
      pri: 190,
      timestamp: time,
      hostname: 'host',
      appName: 't.0c6a3bd0-0e8f-4a3c-9f3b-1d3e5f7a9b1c',
      procId: 'web.1',
      msg,
    }),
  );
  if (frame.length !== FRAME_BYTES) throw new Error(`workload frame is ${frame.length} bytes, expected ${FRAME_BYTES}`);
  const all = Buffer.alloc(frame.length * lines);
  for (let i = 0; i < lines; i++) frame.copy(all, i * frame.length);
  const chunks: Buffer[] = [];
  for (let i = 0; i < all.length; i += CHUNK) chunks.push(all.subarray(i, i + CHUNK));
  return chunks;
}

function run(chunks: Buffer[], parse: boolean): { seconds: number; frames: number } {
  let frames = 0;
  let bad = 0;
  const splitter = new FrameSplitter({
    onFrame: parse
      ? (f) => {
          frames++;
          if (parseSyslog(f) instanceof SyslogParseError) bad++;
        }
      : () => {
          frames++;
        },
    onError: () => bad++,
  });
  const start = process.hrtime.bigint();
  for (const c of chunks) splitter.push(c);
  splitter.end();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (bad > 0) throw new Error(`${bad} frames failed in the benchmark workload`);
  return { seconds, frames };
}

/** Best of 3 runs each (after a warm-up), splitter + parser and splitter alone, measured in the same run. */
export function measureSplitter(lines: number): SplitterResult {
  const chunks = workload(lines);
  run(chunks, true);
  let parseBest = Infinity;
  let splitBest = Infinity;
  for (let i = 0; i < 3; i++) {
    const p = run(chunks, true);
    const s = run(chunks, false);
    if (p.frames !== lines || s.frames !== lines)
      throw new Error(`expected ${lines} frames, got ${p.frames}/${s.frames}`);
    parseBest = Math.min(parseBest, p.seconds);
    splitBest = Math.min(splitBest, s.seconds);
  }
  return {
    lines,
    linesPerSec: Math.round(lines / parseBest),
    splitOnlyLinesPerSec: Math.round(lines / splitBest),
    frameBytes: FRAME_BYTES,
  };
}

if (require.main === module) {
  const lines = Math.min(Number(process.argv[2] ?? 200_000) || 200_000, 2_000_000);
  const r = measureSplitter(lines);
  const mb = (n: number): string => ((n * r.frameBytes) / 1e6).toFixed(1);
  printReport({
    title: 'Syslog codec: FrameSplitter + parseSyslog',
    setup: [
      `${r.lines.toLocaleString('en-US')} octet-counted RFC 5424 lines of ${r.frameBytes} bytes in 64 KiB chunks;` +
        ' best of 3 runs after a warm-up.',
    ],
    columns: ['path', 'lines/s', 'MB/s'],
    rows: [
      ['FrameSplitter + parseSyslog', r.linesPerSec, mb(r.linesPerSec)],
      ['FrameSplitter alone', r.splitOnlyLinesPerSec, mb(r.splitOnlyLinesPerSec)],
    ],
    ratios: [`splitter + parse / bare splitter: ${(r.linesPerSec / r.splitOnlyLinesPerSec).toFixed(2)}x`],
  });
}
