// One live reader of a channel (design.md §Tail sessions): history first, then live lines,
// filtered by dyno prefix and source. A slow reader never slows ingest: lines go straight
// to the socket while it takes them, into a bounded drop-oldest buffer while it does not,
// and the loss comes back as an L11 line (heroku/logplex:src/logplex_tail.erl).
import type { LogLine } from '../lines';
import { formatTailLine, overflowLine } from '../lines';
import { LineBuffer } from './line-buffer';

/** Where a session's text goes: a text/plain response or a WebSocket. */
export interface TailSink {
  /** Writes lines (without newlines); false when the transport's buffer is full: wait for the drain. */
  write(lines: string[]): boolean;
  onDrain(cb: () => void): void;
  /** Called once when the reader goes away or the sink is ended. */
  onClose(cb: () => void): void;
  end(): void;
}

export interface TailFilter {
  /** Dyno prefix: `web` matches `web.1`, `web.1` matches only `web.1`. */
  ps?: string;
  source?: string;
}

export interface SessionCounters {
  sent(n: number): void;
  dropped(n: number): void;
}

/** Lines written per flush step, so one session cannot hog the event loop. */
const FLUSH_STEP = 512;

export function matches(filter: TailFilter, l: LogLine): boolean {
  if (filter.source !== undefined && l.source !== filter.source) return false;
  if (
    filter.ps !== undefined &&
    l.ps !== filter.ps &&
    !l.ps.startsWith(filter.ps.endsWith('.') ? filter.ps : filter.ps + '.')
  )
    return false;
  return true;
}

export class TailSession {
  #sink: TailSink;
  #filter: TailFilter;
  #buffer: LineBuffer<LogLine>;
  #counters: SessionCounters;
  #formatTime: (ms: number) => string;
  /** Live lines wait in the buffer until the history is written. */
  #started = false;
  #blocked = false;
  #closed = false;
  /** Highest seq written from history: live lines at or below it are duplicates. */
  #afterSeq = 0;

  constructor(opts: {
    sink: TailSink;
    filter: TailFilter;
    bufferLines: number;
    counters: SessionCounters;
    formatTime: (ms: number) => string;
  }) {
    this.#sink = opts.sink;
    this.#filter = opts.filter;
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

  /** Writes the history (bounded by `num`, so written whole), then whatever arrived meanwhile. */
  start(history: LogLine[]): void {
    if (this.#closed) return;
    const texts: string[] = [];
    for (const l of history) if (matches(this.#filter, l)) texts.push(formatTailLine(l));
    if (history.length) this.#afterSeq = history[history.length - 1]!.seq;
    this.#started = true;
    if (texts.length) this.#write(texts);
    this.#flush();
  }

  /** Hub listener: live lines. Never blocks, never throws at the caller. */
  deliver(lines: LogLine[]): void {
    if (this.#closed) return;
    let texts: string[] | undefined;
    for (const l of lines) {
      if (l.seq <= this.#afterSeq || !matches(this.#filter, l)) continue;
      if (!this.#started || this.#blocked || this.#buffer.size > 0) {
        if (!this.#buffer.push(l, Date.now())) this.#counters.dropped(1);
      } else {
        (texts ??= []).push(formatTailLine(l));
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
        texts.push(formatTailLine(overflowLine('L11', lost, this.#formatTime(since), this.#formatTime(Date.now()))));
      for (const l of items) texts.push(formatTailLine(l));
      this.#write(texts);
    }
  }
}
