// What this node has seen of the log store (design.md §Scale-out): channels with their tokens,
// their last seq and their drains. Redis is the only copy of channels and tokens; when it comes
// back empty (a restart without persistence) every dyno's lines would be refused for good, so each
// node keeps what it saw and `switchyard logplex --reseed` writes it back (recovery.ts). The
// stores tell it what passes through them; recovery.ts walks every channel in the background so a
// node also learns channels nobody used through it, and forgets what was deleted elsewhere.
import type { DrainRecord } from '../drains/store/index';
import type { Channel, TokenInfo, TokenRecord } from './index';

/** Channels one node remembers at most (the token cache's bound); beyond it, new ones are not kept. */
export const MAX_KNOWN_CHANNELS = 100_000;

export interface KnownChannel {
  id: number;
  name: string;
  createdAt: string;
  /** Token name → token. */
  tokens: Map<string, string>;
  /** The highest seq seen in the channel: a reseeded channel numbers on from here. */
  seq: number;
  drains: Map<number, DrainRecord>;
  /** The walk pass that last saw the channel in the store (or learned it otherwise). */
  pass: number;
}

export class Known {
  readonly #channels = new Map<number, KnownChannel>();
  readonly #tokens = new Map<string, TokenInfo>();
  #pass = 0;
  #drains = 0;
  /** Channels not kept because the bound was reached (said once in a log line by recovery.ts). */
  refused = 0;

  get channels(): number {
    return this.#channels.size;
  }
  get drains(): number {
    return this.#drains;
  }

  all(): IterableIterator<KnownChannel> {
    return this.#channels.values();
  }

  channel(id: number): KnownChannel | undefined {
    return this.#channels.get(id);
  }

  /** The channel and source of a token this node saw. */
  token(token: string): TokenInfo | undefined {
    return this.#tokens.get(token);
  }

  /**
   * The channel as the store has it now: name, tokens and, when given, drains replace what was
   * known (a token or drain deleted elsewhere is forgotten); the seq only grows.
   */
  learnChannel(c: Channel, extra: { seq?: number; drains?: readonly DrainRecord[] } = {}): void {
    let k = this.#channels.get(c.id);
    if (!k) {
      if (this.#channels.size >= MAX_KNOWN_CHANNELS) {
        this.refused++;
        return;
      }
      k = { id: c.id, name: c.name, createdAt: c.createdAt, tokens: new Map(), seq: 0, drains: new Map(), pass: 0 };
      this.#channels.set(c.id, k);
    }
    k.name = c.name;
    k.createdAt = c.createdAt;
    for (const token of k.tokens.values()) this.#tokens.delete(token);
    k.tokens = new Map(c.tokens.map((t) => [t.name, t.token]));
    for (const [name, token] of k.tokens) this.#tokens.set(token, { channel: c.id, name });
    if (extra.seq !== undefined) k.seq = Math.max(k.seq, extra.seq);
    if (extra.drains) {
      this.#drains -= k.drains.size;
      k.drains = new Map(extra.drains.map((d) => [d.id, d]));
      this.#drains += k.drains.size;
    }
    k.pass = this.#pass;
  }

  learnToken(channel: number, t: TokenRecord): void {
    const k = this.#channels.get(channel);
    if (!k) return;
    k.tokens.set(t.name, t.token);
    this.#tokens.set(t.token, { channel, name: t.name });
  }

  /** Lines up to `seq` were appended to `channel`. */
  advance(channel: number, seq: number): void {
    const k = this.#channels.get(channel);
    if (k && seq > k.seq) k.seq = seq;
  }

  learnDrain(d: DrainRecord): void {
    const k = this.#channels.get(d.channel);
    if (!k) return;
    if (!k.drains.has(d.id)) this.#drains++;
    k.drains.set(d.id, d);
  }

  forgetDrain(channel: number, id: number): void {
    if (this.#channels.get(channel)?.drains.delete(id)) this.#drains--;
  }

  forgetChannel(id: number): void {
    const k = this.#channels.get(id);
    if (!k) return;
    for (const token of k.tokens.values()) this.#tokens.delete(token);
    this.#drains -= k.drains.size;
    this.#channels.delete(id);
  }

  /**
   * A walk over every channel ended: what it did not see (and nothing taught since it began) was
   * deleted on some node. Called only while the store holds this node's generation.
   */
  endPass(): void {
    for (const k of [...this.#channels.values()]) if (k.pass < this.#pass) this.forgetChannel(k.id);
    this.#pass++;
  }
}
