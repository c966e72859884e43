// Splits a child's output stream into lines for Logplex. A line is bounded (MAX_LINE_BYTES,
// Logplex's 10 KiB frame limit, design.md §Ingest): a longer run without a newline is cut there and
// sent in pieces, so a process that never writes '\n' cannot grow our memory.
import type { Readable } from 'node:stream';

export const MAX_LINE_BYTES = 10 * 1024;

export function readLines(stream: Readable, onLine: (line: string) => void): void {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const emit = (buf: Buffer): void => {
    const s = buf.toString('utf8').replace(/\r$/, '');
    if (s.length) onLine(s);
  };
  stream.on('data', (chunk: Buffer) => {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      emit(pendingBytes ? Buffer.concat([...pending, piece]) : piece);
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
    }
    let rest = chunk.subarray(start);
    while (pendingBytes + rest.length >= MAX_LINE_BYTES) {
      const take = MAX_LINE_BYTES - pendingBytes;
      emit(Buffer.concat([...pending, rest.subarray(0, take)]));
      pending = [];
      pendingBytes = 0;
      rest = rest.subarray(take);
    }
    if (rest.length) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  });
  stream.on('end', () => {
    if (pendingBytes) emit(Buffer.concat(pending));
    pending = [];
    pendingBytes = 0;
  });
}
