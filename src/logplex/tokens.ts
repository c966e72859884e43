// Token → {channel, name} for ingest (design.md §A line's journey). The hot
// path reads a Map; a miss goes to the store once however many frames wait for it. Unknown
// tokens are cached briefly too, so a sender with a bad token cannot hammer the store.
// A channel deleted on any node is noticed when the store refuses an append (accept.ts calls
// invalidateChannel); entries also expire, so a cache never outlives a change by long.
import type { LogStore, TokenInfo } from './store/index';

interface Entry {
  info: TokenInfo | undefined;
  expires: number;
}

export interface TokenCacheOptions {
  /** Bound on cached tokens; the oldest entry goes first. */
  max: number;
  ttlMs: number;
  negativeTtlMs: number;
}

export const TOKEN_CACHE_DEFAULTS: TokenCacheOptions = { max: 100_000, ttlMs: 60_000, negativeTtlMs: 5_000 };

export class TokenCache {
  #store: LogStore;
  #opts: TokenCacheOptions;
  #entries = new Map<string, Entry>();
  #pending = new Map<string, Promise<TokenInfo | undefined>>();

  /**
   * `lost`: a token the store no longer knows but this node does (the store came back empty,
   * recovery.ts). Its lines then reach the append, which reports a store failure instead of an
   * unknown token; it is cached as briefly as an unknown one, so a reseed takes effect at once.
   */
  constructor(
    store: LogStore,
    opts: TokenCacheOptions = TOKEN_CACHE_DEFAULTS,
    readonly lost?: (token: string) => TokenInfo | undefined,
  ) {
    this.#store = store;
    this.#opts = opts;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Synchronous lookup: the info, `null` for a token known not to exist, undefined when not cached. */
  peek(token: string, now = Date.now()): TokenInfo | null | undefined {
    const e = this.#entries.get(token);
    if (!e) return undefined;
    if (e.expires <= now) {
      this.#entries.delete(token);
      return undefined;
    }
    return e.info ?? null;
  }

  /** Cached, or one store lookup shared by every concurrent caller. Store errors reject. */
  resolve(token: string): Promise<TokenInfo | undefined> {
    const hit = this.peek(token);
    if (hit !== undefined) return Promise.resolve(hit ?? undefined);
    let p = this.#pending.get(token);
    if (!p) {
      p = this.#store.resolveToken(token).then(
        (found) => {
          this.#pending.delete(token);
          const info = found ?? this.lost?.(token);
          this.#remember(token, info, found !== undefined);
          return info;
        },
        (err: unknown) => {
          this.#pending.delete(token);
          throw err;
        },
      );
      this.#pending.set(token, p);
    }
    return p;
  }

  /** Forgets every token of `channel` (deleted here, or found deleted by a refused append). */
  invalidateChannel(channel: number): void {
    for (const [token, e] of this.#entries) if (e.info?.channel === channel) this.#entries.delete(token);
  }

  #remember(token: string, info: TokenInfo | undefined, stored: boolean): void {
    if (this.#entries.size >= this.#opts.max) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(token, { info, expires: Date.now() + (stored ? this.#opts.ttlMs : this.#opts.negativeTtlMs) });
  }
}
