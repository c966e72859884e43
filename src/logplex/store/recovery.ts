// A Redis that comes back empty, seen from Logplex (design.md §Scale-out; the router's
// table/reseed.ts is the same idea for routes). The first node to find the store without a
// `channels:generation` gives it one (SET NX) and every node remembers the one it found; a node
// that later finds another (or none) while the store lacks channels or drains it knows reports
// the store reset (metric, log line, /readyz) instead of letting every token turn unknown in
// silence, and `switchyard logplex --reseed` writes what it knows (known.ts) back. A node's reset
// ends once the store holds everything it knows again, whoever wrote it back; it then adopts the
// store's generation. Meanwhile a background walk reads every channel a slice at a time, so a
// node knows channels that never passed through it and forgets those deleted elsewhere.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../shared/log';
import { errorFields } from '../../shared/log';
import { bySlot, type RedisClient } from '../../shared/redis';
import { parseRecord, recordJson } from '../drains/store/redis';
import type { Known, KnownChannel } from './known';
import { throwFirst } from './redis';

/** How often the generation is read and a slice of channels walked. */
export const RECOVERY_TICK_MS = 1_000;
/** Channels read per walk step: a node learns 100 channels a second. */
const WALK_CHANNELS = 100;
/** While the store lacks what this node knows, how often that is counted again (one EXISTS per channel). */
const MISSING_CHECK_MS = 5_000;
/** Known channels checked per pipeline. */
const CHUNK = 1_000;

// KEYS: channel hash, tokens hash, drains hash, then each drain's status hash. ARGV: name, created,
// seq, tokens as JSON {name: token}, drains as JSON [[id, record JSON], …] in KEYS order. Writes back
// what is missing and never overwrites: a channel of the same id with another name (made after
// the reset) is a conflict (-1). Returns {tokens added, drains added}.
const RESEED_LUA = `
local name = redis.call('HGET', KEYS[1], 'name')
if name and name ~= ARGV[1] then return -1 end
if not name then redis.call('HSET', KEYS[1], 'name', ARGV[1], 'created', ARGV[2]) end
if tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'seq', ARGV[3])
end
local nt = 0
for n, t in pairs(cjson.decode(ARGV[4])) do nt = nt + redis.call('HSETNX', KEYS[2], n, t) end
local nd = 0
for i, d in ipairs(cjson.decode(ARGV[5])) do
  if redis.call('HSETNX', KEYS[3], d[1], d[2]) == 1 then
    nd = nd + 1
    redis.call('HSETNX', KEYS[3 + i], 'seq', redis.call('HGET', KEYS[1], 'seq'))
  end
end
return { nt, nd }
`;
// KEYS: the id counter. ARGV: the highest id known. Ids are never handed out twice.
const RAISE_LUA = `
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`;

interface Scripted {
  sylogReseed(numKeys: number, ...args: (string | number)[]): Promise<number | [number, number]>;
  sylogRaiseId(key: string, max: number): Promise<number>;
}

export interface ReseedResult {
  channels: number;
  tokens: number;
  drains: number;
  /** Channel ids another channel took meanwhile, or tokens another channel holds: left to them. */
  conflicts: string[];
}

/** The store lost what this node knows: what /readyz and the log line say. */
export interface StoreLoss {
  /** The generation this node had, and the one the store holds now (none: an empty store). */
  expected: string;
  found: string | undefined;
  /** Known channels and drains the store lacks. */
  missing: number;
}

export interface RecoveryEvents {
  log: Logger;
  /** The store was found without what this node knows (once per reset). */
  onReset: () => void;
  /** The store holds everything this node knows again. */
  onWhole: () => void;
}

export class StoreRecovery {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly known: Known;
  readonly #up: () => boolean;
  #generation: string | undefined;
  #loss: StoreLoss | undefined;
  #lastMissingCheck = 0;
  #walkFrom = 0;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #events: RecoveryEvents | undefined;
  #warnedBound = false;

  constructor(redis: RedisClient, opts: { prefix: string; known: Known; up: () => boolean }) {
    this.#redis = redis;
    this.#prefix = opts.prefix;
    this.known = opts.known;
    this.#up = opts.up;
    redis.defineCommand('sylogReseed', { lua: RESEED_LUA });
    redis.defineCommand('sylogRaiseId', { numberOfKeys: 1, lua: RAISE_LUA });
  }

  /** Set while the store lacks what this node knows. */
  get loss(): StoreLoss | undefined {
    return this.#loss;
  }

  /** A token this node knows while the store lost it: its lines are held back as a store failure, not refused. */
  lostToken(token: string): { channel: number; name: string } | undefined {
    return this.#loss ? this.known.token(token) : undefined;
  }

  lostChannel(id: number): boolean {
    return this.#loss !== undefined && this.known.channel(id) !== undefined;
  }

  start(events: RecoveryEvents): void {
    this.#events = events;
    const loop = (): void => {
      this.#ticking = this.tick().finally(() => {
        this.#ticking = undefined;
        if (this.#events) this.#timer = setTimeout(loop, RECOVERY_TICK_MS);
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.#events = undefined;
    clearTimeout(this.#timer);
    await this.#ticking;
  }

  /** Reads the generation, then either walks a slice of channels or checks what the store lacks. */
  async tick(): Promise<void> {
    if (!this.#up()) return;
    try {
      const found = (await this.#redis.get(this.#key('channels:generation'))) ?? undefined;
      if (this.#generation === undefined) {
        this.#generation = found ?? (await this.#claim(randomUUID()));
        return;
      }
      if (found === this.#generation && !this.#loss) return await this.#walk();
      if (this.#loss && Date.now() - this.#lastMissingCheck < MISSING_CHECK_MS) return;
      await this.#compare(found);
    } catch (err) {
      if (this.#up()) this.#events?.log.warn('log store generation check failed', errorFields(err));
    }
  }

  /** The generation changed (or a loss is known): lost while the store lacks anything known. */
  async #compare(found: string | undefined): Promise<void> {
    const missing = await this.#missing();
    this.#lastMissingCheck = Date.now();
    const log = this.#events?.log;
    if (missing > 0) {
      const first = !this.#loss;
      this.#loss = { expected: this.#generation!, found, missing };
      if (first) {
        log?.error(
          'log store lost its data (generation changed); keeping what this node knows; run switchyard logplex --reseed',
          {
            expected: this.#generation,
            found: found ?? 'none',
            known_channels: this.known.channels,
            known_drains: this.known.drains,
            missing,
          },
        );
        this.#events?.onReset();
      }
      return;
    }
    const was = this.#loss;
    this.#generation = found ?? (await this.#claim(this.#generation!));
    this.#loss = undefined;
    this.#walkFrom = 0;
    if (was) {
      log?.info('log store holds what this node knows again; generation adopted', { generation: this.#generation });
      this.#events?.onWhole();
    }
  }

  /**
   * Writes every channel (tokens, seq) and drain this node knows back into the store, then the
   * id counter past every known id and the generation; undefined when the store lacks nothing.
   */
  async reseed(): Promise<ReseedResult | undefined> {
    if (!this.#loss) return undefined;
    const out: ReseedResult = { channels: 0, tokens: 0, drains: 0, conflicts: [] };
    let maxId = 0;
    for (const k of [...this.known.all()]) {
      maxId = Math.max(maxId, k.id, ...k.drains.keys());
      if (!(await this.#reseedTokens(k, out))) continue;
      const drains = [...k.drains.values()];
      const res = await (this.#redis as unknown as Scripted).sylogReseed(
        3 + drains.length,
        this.#ch(k.id),
        this.#ch(k.id, ':tokens'),
        this.#ch(k.id, ':drains'),
        ...drains.map((d) => `${this.#prefix}drain:{${k.id}}:${d.id}:status`),
        k.name,
        k.createdAt,
        k.seq,
        JSON.stringify(Object.fromEntries(k.tokens)),
        JSON.stringify(drains.map((d) => [String(d.id), recordJson(d)])),
      );
      if (res === -1) {
        out.conflicts.push(`channel ${k.id}`);
        continue;
      }
      const [tokens, added] = res as [number, number];
      out.channels++;
      out.tokens += tokens;
      out.drains += added;
      await this.#redis.zadd(this.#key('channels'), 'NX', k.id, String(k.id));
      if (drains.length) await this.#redis.sadd(this.#key('drains'), ...drains.map((d) => `${k.id}:${d.id}`));
    }
    await (this.#redis as unknown as Scripted).sylogRaiseId(this.#key('channels:next-id'), maxId);
    await this.#claim(this.#generation!);
    await this.#compare((await this.#redis.get(this.#key('channels:generation'))) ?? undefined);
    this.#events?.log.warn('log store reseeded from this node’s memory', {
      ...out,
      conflicts: out.conflicts.join(','),
    });
    return out;
  }

  /** `token:T` of each of the channel's tokens (other slots, so first); false when one belongs to another channel. */
  async #reseedTokens(k: KnownChannel, out: ReseedResult): Promise<boolean> {
    const tokens = [...k.tokens];
    const keys = tokens.map(([, t]) => this.#key(`token:${t}`));
    const set = throwFirst(
      await bySlot(this.#redis, keys, (p, key, i) =>
        p.set(key, JSON.stringify({ channel: k.id, name: tokens[i]![0] }), 'NX'),
      ),
    );
    const taken = keys.filter((_, i) => set[i] === null);
    if (taken.length === 0) return true;
    const held = throwFirst(await bySlot(this.#redis, taken, (p, key) => p.get(key))) as (string | null)[];
    const other = held.find((v) => v !== null && (JSON.parse(v) as { channel: number }).channel !== k.id);
    if (other === undefined) return true;
    out.conflicts.push(`channel ${k.id} (a token is another channel's)`);
    return false;
  }

  /** Known channels and drains the store does not hold. */
  async #missing(): Promise<number> {
    const probes: { key: string; drain?: number }[] = [];
    for (const k of this.known.all()) {
      probes.push({ key: this.#ch(k.id) });
      for (const id of k.drains.keys()) probes.push({ key: this.#ch(k.id, ':drains'), drain: id });
    }
    let missing = 0;
    for (let i = 0; i < probes.length; i += CHUNK) {
      const chunk = probes.slice(i, i + CHUNK);
      const res = throwFirst(
        await bySlot(
          this.#redis,
          chunk.map((p) => p.key),
          (p, key, j) => (chunk[j]!.drain === undefined ? p.exists(key) : p.hexists(key, String(chunk[j]!.drain))),
        ),
      );
      missing += res.filter((v) => v === 0).length;
    }
    return missing;
  }

  /** One slice of the walk over `channels`: what the store holds replaces what is known of each. */
  async #walk(): Promise<void> {
    const ids = (
      await this.#redis.zrangebyscore(this.#key('channels'), `(${this.#walkFrom}`, '+inf', 'LIMIT', 0, WALK_CHANNELS)
    ).map(Number);
    if (ids.length === 0) {
      // A wipe between two slices also reads as the end: forget only while the store is still ours.
      if ((await this.#redis.get(this.#key('channels:generation'))) === this.#generation) {
        this.known.endPass();
      }
      this.#walkFrom = 0;
      return;
    }
    const keys = ids.flatMap((id) => [this.#ch(id), this.#ch(id, ':tokens'), this.#ch(id, ':drains')]);
    const res = throwFirst(await bySlot(this.#redis, keys, (p, key) => p.hgetall(key))) as Record<string, string>[];
    ids.forEach((id, i) => {
      const [hash, tokens, drains] = [res[3 * i]!, res[3 * i + 1]!, res[3 * i + 2]!];
      if (hash.name === undefined) return; // deleted since the ZRANGE
      this.known.learnChannel(
        {
          id,
          name: hash.name,
          createdAt: hash.created ?? '',
          tokens: Object.entries(tokens).map(([name, token]) => ({ name, token })),
        },
        {
          seq: Number(hash.seq ?? 0),
          drains: Object.entries(drains).map(([d, json]) => parseRecord(id, Number(d), json)),
        },
      );
    });
    this.#walkFrom = ids[ids.length - 1]!;
    if (this.known.refused > 0 && !this.#warnedBound) {
      this.#warnedBound = true;
      this.#events?.log.warn('known channels at their bound; further channels are not remembered for a reseed', {
        known_channels: this.known.channels,
      });
    }
  }

  async #claim(id: string): Promise<string> {
    const key = this.#key('channels:generation');
    await this.#redis.set(key, id, 'NX');
    return (await this.#redis.get(key)) ?? id;
  }

  #key(k: string): string {
    return this.#prefix + k;
  }
  #ch(id: number, rest = ''): string {
    return `${this.#prefix}channel:{${id}}${rest}`;
  }
}
