// The shape of one channel-log entry in Redis (design.md §Redis keys) and of a batch on its way
// to the append script. A line is usually two fields: `h` (`TIME PRI SOURCE PS`, PS last as the
// one part that may hold spaces) and `m`. Redis spends its time per field of an XADD, so two
// fields instead of four or more per line is most of what a stored line costs it. A line with a
// MSGID or STRUCTURED-DATA, or (never from our ingest) a space in its time or source, keeps the
// explicit fields `t p s d m i x`; readers take either shape, and older entries' `n`.
import type { LogLine, NewLine } from '../lines';

/** Explicit fields of a line that cannot go as `h`: t, p, s, d, MSGID, SD as JSON ('' when absent). */
export type ExplicitFields = [string, number, string, string, string, string];

/**
 * A batch for the append script and for `tail:{C}`: `flat` is JSON `[h1, m1, h2, m2, …]` (h ''
 * for an explicit line) and `explicit` JSON `{"i": ExplicitFields}` by 1-based line, or ''.
 */
export function encodeBatch(lines: readonly NewLine[]): { flat: string; explicit: string } {
  const flat = new Array<string>(2 * lines.length);
  let explicit: Record<number, ExplicitFields> | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.msgid === undefined && l.sd === undefined && !l.time.includes(' ') && !l.source.includes(' ')) {
      flat[2 * i] = `${l.time} ${l.pri} ${l.source} ${l.ps}`;
    } else {
      flat[2 * i] = '';
      (explicit ??= {})[i + 1] = [l.time, l.pri, l.source, l.ps, l.msgid ?? '', l.sd ? JSON.stringify(l.sd) : ''];
    }
    flat[2 * i + 1] = l.msg;
  }
  return { flat: JSON.stringify(flat), explicit: explicit ? JSON.stringify(explicit) : '' };
}

/** The fields `h` carries. */
export interface Head {
  time: string;
  pri: number;
  source: string;
  ps: string;
}

/** `h` of an entry: `TIME PRI SOURCE PS`; undefined when it has fewer parts. */
export function parseHead(h: string): Head | undefined {
  const a = h.indexOf(' ');
  const b = h.indexOf(' ', a + 1);
  const c = h.indexOf(' ', b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  return { time: h.slice(0, a), pri: Number(h.slice(a + 1, b)), source: h.slice(b + 1, c), ps: h.slice(c + 1) };
}

/** parseHead on the entry's bytes (the drain reader keeps entries as Buffers). */
export function parseHeadBytes(h: Buffer): Head | undefined {
  const a = h.indexOf(0x20);
  const b = h.indexOf(0x20, a + 1);
  const c = h.indexOf(0x20, b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  return {
    time: h.toString('latin1', 0, a),
    pri: Number(h.toString('latin1', a + 1, b)),
    source: h.toString('utf8', b + 1, c),
    ps: h.toString('utf8', c + 1),
  };
}

/**
 * Adds MSGID and STRUCTURED-DATA (JSON) when an explicit entry stored them; a malformed SD is dropped,
 * never thrown. For the lines history reads and the drain cursor's lines (MSG as bytes) alike.
 */
export function withExtras<L extends Pick<LogLine, 'msgid' | 'sd'>>(
  line: L,
  msgid: string | undefined,
  sd: string | undefined,
): L {
  if (msgid) line.msgid = msgid;
  if (sd) {
    try {
      line.sd = JSON.parse(sd) as LogLine['sd'];
    } catch {
      /* not ours: leave it out */
    }
  }
  return line;
}
