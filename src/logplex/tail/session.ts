// One live reader of a channel (design.md §Tail sessions): history first, then live lines,
// those the session's query matches (search.ts). A slow reader never slows ingest: lines go straight
// to the socket while it takes them, into a bounded drop-oldest buffer while it does not,
// and the loss comes back as an L11 line (heroku/logplex:src/logplex_tail.erl).
import type { LogLine, NewLine } from '../lines';
import { overflowLine } from '../lines';
import { LineBuffer } from './line-buffer';
import type { Render } from './render';
import { matches, type LineQuery } from './search';

/** Where a session's text goes: a text/plain or event-stream response, or a WebSocket. */
export interface TailSink {
  /** Writes rendered lines (without a final newline); false when the transport's buffer is full: wait for the drain. */
  write(lines: string[]): boolean;
  onDrain(cb: () => void): void;
  /** Called once when the reader goes away or the sink is ended. */
  onClose(cb: () => void): void;
  end(): void;
}

export interface SessionCounters {
  sent(n: number): void;
  dropped(n: number): void;
}

/** Lines written per flush step, so one session cannot hog the event loop. */
const FLUSH_STEP = 512;

export class TailSession {
  #sink: TailSink;
  #query: LineQuery;
  #render: Render;
  #position: ((seq: number) => string) | undefined;
  #buffer: LineBuffer<LogLine>;
  #counters: SessionCounters;
  #formatTime: (ms: number) => string;
  /** Live lines wait in the buffer until the history is written. */
  #started = false;
  #blocked = false;
  #closed = false;
  /** Highest seq written from history (or the resume point): live lines at or below it are duplicates. */
  #afterSeq = 0;

  constructor(opts: {
    sink: TailSink;
    query: LineQuery;
    render: Render;
    /** How the session tells its reader how far it has read (SSE: an id-only event); absent: not told. */
    position?: (seq: number) => string;
    bufferLines: number;
    counters: SessionCounters;
    formatTime: (ms: number) => string;
  }) {
    this.#sink = opts.sink;
    this.#query = opts.query;
    this.#render = opts.render;
    this.#position = opts.position;
    this.#buffer = new LineBuffer(opts.bufferLines);
    this.#counters = opts.counters;
    this.#formatTime = opts.formatTime;
    this.#sink.onDrain(() => {
      this.#blocked = false;
      this.#flush();
    });
    this.#sink.onClose(() => {
      this.#closed = true;
    });
  }

  get buffered(): number {
    return this.#buffer.size;
  }
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Writes in-band lines (a resume gap), then the history (matching lines, bounded by `num` or
   * the retention, so written whole), then whatever arrived meanwhile. `afterSeq`: the last seq
   * the history covers, read or skipped (live lines up to it were in the history's range).
   */
  start(history: LogLine[], afterSeq: number, preface: NewLine[] = [], position = afterSeq): void {
    if (this.#closed) return;
    const texts: string[] = preface.map(this.#render);
    for (const l of history) if (matches(this.#query, l)) texts.push(this.#render(l));
    const shownTo = history.length ? history[history.length - 1]!.seq : 0;
    this.#afterSeq = Math.max(afterSeq, shownTo);
    const readTo = Math.max(this.#afterSeq, position);
    if (this.#position && readTo > 0 && readTo !== lastShown(history, this.#query)) texts.push(this.#position(readTo));
    this.#started = true;
    if (texts.length) this.#write(texts);
    this.#flush();
  }

  /** Hub listener: live lines. Never blocks, never throws at the caller. */
  deliver(lines: LogLine[]): void {
    if (this.#closed) return;
    let texts: string[] | undefined;
    for (const l of lines) {
      if (l.seq <= this.#afterSeq || !matches(this.#query, l)) continue;
      if (!this.#started || this.#blocked || this.#buffer.size > 0) {
        if (!this.#buffer.push(l, Date.now())) this.#counters.dropped(1);
      } else {
        (texts ??= []).push(this.#render(l));
      }
    }
    if (texts) this.#write(texts);
  }

  /** Ends a history-only session once its history is out. */
  end(): void {
    if (!this.#closed) this.#sink.end();
    this.#closed = true;
  }

  #write(texts: string[]): void {
    this.#counters.sent(texts.length);
    if (!this.#sink.write(texts)) this.#blocked = true;
  }

  #flush(): void {
    while (this.#started && !this.#blocked && !this.#closed && this.#buffer.size > 0) {
      const { lost, since, items } = this.#buffer.take(FLUSH_STEP);
      const texts: string[] = [];
      if (lost > 0)
        texts.push(this.#render(overflowLine('L11', lost, this.#formatTime(since), this.#formatTime(Date.now()))));
      // Lines that arrived while the history was read may be in it: the seq tells.
      for (const l of items) if (l.seq > this.#afterSeq) texts.push(this.#render(l));
      if (texts.length === 0) continue;
      this.#write(texts);
    }
  }
}

/** The seq of the last history line the query shows (0 when none). */
function lastShown(history: LogLine[], query: LineQuery): number {
  for (let i = history.length - 1; i >= 0; i--) if (matches(query, history[i]!)) return history[i]!.seq;
  return 0;
}
