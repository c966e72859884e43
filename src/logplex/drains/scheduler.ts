// Each Logplex node runs one scheduler (design.md §Drains: one node per drain at a time).
// Every tick it renews the leases it holds (stopping a runner whose lease went elsewhere or
// whose drain was deleted) and tries to take up to `perTick` more drains, walking the drain
// index a slice at a time. On stop it lets each runner finish its attempt, then releases.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../shared/log';
import { errorFields } from '../../shared/log';
import type { NewLine } from '../lines';
import type { BackoffPolicy } from './backoff';
import { fullJitter } from './backoff';
import { keepLine } from './filter';
import { createTransport, targetOf } from './index';
import type { DrainMetrics } from './metrics';
import { DrainRunner } from './runner';
import type { DrainRecord, DrainStore } from './store/index';
import type { TransportOptions } from './transport';
import { DEFAULT_TRANSPORT_OPTIONS } from './transport';

export interface SchedulerOptions {
  store: DrainStore;
  log: Logger;
  metrics?: DrainMetrics;
  node?: string;
  leaseMs?: number;
  tickMs?: number;
  /** Drains looked at per tick (bounded work). */
  perTick?: number;
  pollMs?: number;
  transport?: Partial<TransportOptions>;
  backoff?: BackoffPolicy;
  /** Lines per batch (LOGPLEX_DRAIN_BATCH_LINES). */
  batchLines?: number;
  /** Appends in-band L13/L14 lines to a channel. */
  report?: (channel: number, line: NewLine) => void;
  /** Calls `wake` when lines arrive on `channel` (any node); returns the unsubscribe function. */
  watch?: (channel: number, wake: () => void) => () => void;
  /** Store reachable: while it is not, a failed tick is expected and the store's own line says so. */
  storeUp?: () => boolean;
}

export const DRAIN_DEFAULTS = { leaseMs: 10_000, tickMs: 2_000, perTick: 100, pollMs: 250 } as const;

export class DrainScheduler {
  readonly node: string;
  #o: SchedulerOptions & { leaseMs: number; tickMs: number; perTick: number; pollMs: number };
  #runners = new Map<string, { runner: DrainRunner; unwatch: () => void; drain: DrainRecord }>();
  #cursor = '0';
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopped = false;
  #again = false;

  constructor(opts: SchedulerOptions) {
    this.#o = { ...DRAIN_DEFAULTS, ...opts };
    this.node = opts.node ?? randomUUID();
  }

  start(): void {
    this.#loop();
  }

  /** Ticks now (a drain was just created) instead of waiting for the timer. */
  kick(): void {
    this.#loop();
  }

  /** One tick at a time: a kick during a tick runs another right after it. */
  #loop(): void {
    if (this.#stopped) return;
    if (this.#ticking) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#ticking = this.tick().finally(() => {
      this.#ticking = undefined;
      if (this.#stopped) return;
      if (this.#again) {
        this.#again = false;
        this.#loop();
      } else this.#timer = setTimeout(() => this.#loop(), this.#o.tickMs);
    });
  }

  /** Drains this node delivers now, by `channel:id`. */
  get owned(): string[] {
    return [...this.#runners.keys()];
  }

  async tick(): Promise<void> {
    const { store, log } = this.#o;
    try {
      await this.#renew();
      const { next, drains } = await store.scan(this.#cursor, this.#o.perTick);
      this.#cursor = next;
      for (const d of drains) {
        if (this.#stopped) return;
        if (this.#runners.has(key(d)) || !(await store.acquire(d.channel, d.id, this.node, this.#o.leaseMs))) continue;
        this.#startRunner(d);
      }
    } catch (err) {
      if (this.#o.storeUp?.() !== false) log.warn('drain scheduler tick failed', errorFields(err));
    }
    this.#o.metrics?.owned.set(this.#runners.size);
  }

  async #renew(): Promise<void> {
    const restart: DrainRecord[] = [];
    for (const [k, r] of this.#runners) {
      const [channel, id] = k.split(':').map(Number) as [number, number];
      const exists = await this.#o.store.get(channel, id);
      const held = exists !== undefined && (await this.#o.store.acquire(channel, id, this.node, this.#o.leaseMs));
      // A changed record (secret rotated) restarts its runner under the same lease: the old one
      // finishes its batch in flight, the new one reads on from the acked position.
      const changed = held && !sameRecord(exists, r.drain);
      if (held && !changed) continue;
      this.#runners.delete(k);
      this.#o.log.info('drain released', {
        drain: id,
        reason: changed ? 'changed' : exists ? 'lease lost' : 'deleted',
      });
      r.unwatch();
      await r.runner.stop();
      this.#o.metrics?.forget(id);
      if (changed) restart.push(exists);
    }
    for (const d of restart) if (!this.#stopped) this.#startRunner(d);
  }

  #startRunner(d: DrainRecord): void {
    const transport = createTransport(targetOf(d), { ...DEFAULT_TRANSPORT_OPTIONS, ...this.#o.transport });
    const keep = keepLine(d.filter);
    const report = this.#o.report;
    const runner = new DrainRunner({
      drain: d,
      store: this.#o.store,
      transport,
      backoff: this.#o.backoff ?? fullJitter(),
      log: this.#o.log,
      pollMs: this.#o.pollMs,
      ...(this.#o.batchLines ? { batchLines: this.#o.batchLines } : {}),
      ...(keep ? { keep } : {}),
      ...(this.#o.metrics ? { metrics: this.#o.metrics } : {}),
      ...(report ? { report: (line: NewLine) => report(d.channel, line) } : {}),
    });
    const unwatch = this.#o.watch?.(d.channel, () => runner.wake()) ?? ((): void => undefined);
    this.#runners.set(key(d), { runner, unwatch, drain: d });
    this.#o.log.info('drain acquired', { drain: d.id, channel: d.channel, node: this.node });
    runner.start();
  }

  /** Stops taking drains, lets each runner finish its attempt, releases every lease. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#ticking;
    await Promise.all(
      [...this.#runners].map(async ([k, r]) => {
        r.unwatch();
        await r.runner.stop();
        const [channel, id] = k.split(':').map(Number) as [number, number];
        await this.#o.store.release(channel, id, this.node).catch(() => undefined);
      }),
    );
    this.#runners.clear();
  }
}

const key = (d: DrainRecord): string => `${d.channel}:${d.id}`;

const sameRecord = (a: DrainRecord, b: DrainRecord): boolean =>
  a.url === b.url &&
  a.secret === b.secret &&
  JSON.stringify(a.headers) === JSON.stringify(b.headers) &&
  JSON.stringify(a.filter) === JSON.stringify(b.filter);
