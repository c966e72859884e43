// This node's live readers per channel (design.md §A line's journey: fan out to this node's tail sessions).
// accept.ts publishes the lines this node appended; lines other nodes appended arrive
// through the store (Redis pub/sub on `tail:{C}`). Listeners are tail sessions and, on the
// memory store, drains that want waking when lines arrive.
import type { LogLine } from '../lines';
import type { LogStore } from '../store/index';

/** At most this long a new session waits for the store to confirm its subscription. */
const LISTEN_WAIT_MS = 2000;

export type LinesListener = (lines: LogLine[]) => void;

export class TailHub {
  #store: LogStore;
  #listeners = new Map<number, { set: Set<LinesListener>; unwatch: () => void }>();
  constructor(store: LogStore) {
    this.#store = store;
  }

  /** Delivers lines appended on this node to this node's listeners of `channel`. Synchronous. */
  publish(channel: number, lines: LogLine[]): void {
    const entry = this.#listeners.get(channel);
    if (entry) this.#deliver(entry.set, lines);
  }

  /** Listens to every line appended to `channel` on any node; returns the unsubscribe function. */
  subscribe(channel: number, listener: LinesListener): () => void {
    let entry = this.#listeners.get(channel);
    if (!entry) {
      const set = new Set<LinesListener>();
      entry = { set, unwatch: this.#store.watchRemote(channel, (lines) => this.#deliver(set, lines)) };
      this.#listeners.set(channel, entry);
    }
    entry.set.add(listener);
    return () => {
      const e = this.#listeners.get(channel);
      if (!e?.set.delete(listener) || e.set.size > 0) return;
      e.unwatch();
      this.#listeners.delete(channel);
    };
  }

  /** Settles once this node hears every line appended to `channel` from now on (after subscribe). */
  listening(channel: number): Promise<void> {
    const watching = this.#store.watching?.(channel);
    if (!watching) return Promise.resolve();
    // Bounded: with the store away the history read fails on its own and the session says so.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, LISTEN_WAIT_MS)));
    return Promise.race([watching, bound]).finally(() => clearTimeout(timer));
  }

  /** Channels with at least one listener on this node. */
  get channels(): number {
    return this.#listeners.size;
  }

  #deliver(set: Set<LinesListener>, lines: LogLine[]): void {
    // A listener that throws must not starve the others (or the ingest path that called us).
    for (const l of set) {
      try {
        l(lines);
      } catch {
        /* a session's own error handling closes it */
      }
    }
  }

  close(): void {
    for (const e of this.#listeners.values()) e.unwatch();
    this.#listeners.clear();
  }
}
