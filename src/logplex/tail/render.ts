// How a session writes one line (design.md §Tail sessions): as text (`TIME SOURCE[PS]: MSG`) or
// as JSON (every field, with router lines' logfmt keys parsed), framed plain (one line per `\n`
// or per WebSocket message) or as Server-Sent Events, where the line's stream id (its seq in the
// channel log) is the event `id:` a reconnecting client sends back as `Last-Event-ID`
// (WHATWG HTML §9.2 "Server-sent events"). In-band lines (L11, L17) have no stream id.
import type { NewLine } from '../lines';
import { formatTailLine } from '../lines';
import { logfmtPairs } from './logfmt';

export type TailFormat = 'text' | 'json';
export type TailFraming = 'plain' | 'sse';

/** A line to show: stored (with its seq) or in-band (seq 0 or absent). */
export type ShownLine = NewLine & { seq?: number };

export type Render = (l: ShownLine) => string;

/** Router lines are `heroku[router]`: their MSG is logfmt (design.md §Router line). */
const isRouterLine = (l: ShownLine): boolean => l.ps === 'router' && l.source === 'heroku';

export function jsonLine(l: ShownLine): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: l.seq ? String(l.seq) : null,
    time: l.time,
    pri: l.pri,
    source: l.source,
    ps: l.ps,
    msgid: l.msgid ?? null,
    sd: l.sd ? Object.fromEntries(l.sd.map((e) => [e.id, Object.fromEntries(e.params)])) : {},
    msg: l.msg,
  };
  if (isRouterLine(l)) out.fields = Object.fromEntries(logfmtPairs(l.msg));
  return out;
}

export function renderer(format: TailFormat, framing: TailFraming): Render {
  const body: Render = format === 'json' ? (l) => JSON.stringify(jsonLine(l)) : formatTailLine;
  if (framing === 'plain') return body;
  return (l) => {
    // An event's data may not hold a newline: each line of it is its own `data:` field.
    const data = 'data: ' + body(l).replace(/\r\n|\r|\n/g, '\ndata: ');
    return l.seq ? `id: ${l.seq}\n${data}\n` : `${data}\n`;
  };
}

/**
 * An event with an id and no data: not dispatched, but it moves the reader's last event id
 * (WHATWG HTML §9.2.6), so a client resuming after a quiet or filtered stretch starts from where
 * the session had read, not from its last shown line.
 */
export function positionEvent(seq: number): string {
  return `id: ${seq}\n`;
}

/** The seq of a stored line as a stream id; what `Last-Event-ID` and `since_id` carry back. */
export function parseStreamId(raw: string): number | undefined {
  return /^[0-9]{1,15}$/.test(raw) ? Number(raw) : undefined;
}
