// Each Logplex node runs one scheduler (design.md §Drains: one node per drain at a time).
// Every tick (LOGPLEX_DRAIN_RENEW_MS) it renews the leases it holds under their epochs
// (stopping a runner whose lease went elsewhere or whose drain was deleted) and tries to take
// up to `perTick` more drains, walking the drain index a slice at a time. On stop it lets each
// runner finish its attempt, then releases.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../shared/log';
import { errorFields } from '../../shared/log';
import type { NewLine } from '../lines';
import type { BackoffPolicy } from './backoff';
import { fullJitter } from './backoff';
import { keepLine } from './filter';
import { createTransport, targetOf } from './index';
import { HeldLease } from './lease';
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

/** leaseMs and tickMs come from LOGPLEX_DRAIN_LEASE_MS and LOGPLEX_DRAIN_RENEW_MS on a node. */
export const DRAIN_DEFAULTS = { leaseMs: 10_000, tickMs: 1_000, perTick: 100, pollMs: 250 } as const;

interface Owned {
  runner: DrainRunner;
  lease: HeldLease;
  unwatch: () => void;
  drain: DrainRecord;
}

export class DrainScheduler {
  readonly node: string;
  #o: SchedulerOptions & { leaseMs: number; tickMs: number; perTick: number; pollMs: number };
  #runners = new Map<string, Owned>();
  /** Runners told to stop (finishing the attempt in flight) without holding up the tick. */
  #stopping = new Set<Promise<void>>();
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
        if (this.#runners.has(key(d))) continue;
        const sentAt = performance.now();
        const epoch = await store.acquire(d.channel, d.id, this.node, this.#o.leaseMs);
        if (epoch > 0) this.#startRunner(d, new HeldLease(epoch, this.#o.leaseMs, sentAt));
      }
    } catch (err) {
      if (this.#o.storeUp?.() !== false) log.warn('drain scheduler tick failed', errorFields(err));
    }
    this.#o.metrics?.owned.set(this.#runners.size);
  }

  async #renew(): Promise<void> {
    const restart: { drain: DrainRecord; lease: HeldLease }[] = [];
    for (const [k, r] of this.#runners) {
      const [channel, id] = k.split(':').map(Number) as [number, number];
      const sentAt = performance.now();
      const exists = await this.#o.store.get(channel, id);
      const epoch = exists ? await this.#o.store.acquire(channel, id, this.node, this.#o.leaseMs, r.lease.epoch) : 0;
      const held = epoch === r.lease.epoch;
      if (held) r.lease.renewed(sentAt);
      else r.lease.lost();
      // A changed record (secret rotated) restarts its runner under the same lease: the old one
      // finishes its batch in flight, the new one reads on from the acked position.
      const changed = held && !sameRecord(exists!, r.drain);
      if (held && !changed) continue;
      this.#runners.delete(k);
      this.#o.log.info('drain released', {
        drain: id,
        epoch: r.lease.epoch,
        reason: changed ? 'changed' : exists ? 'lease lost' : 'deleted',
      });
      r.unwatch();
      const stopped = r.runner.stop().then(() => {
        this.#stopping.delete(stopped);
        this.#o.metrics?.forget(id);
        this.#o.log.info('drain runner stopped', { drain: id, epoch: r.lease.epoch });
      });
      this.#stopping.add(stopped);
      // One runner per epoch: the new one starts once the old one stopped. A lease that went
      // elsewhere does not hold up the tick: the attempt in flight may take the transport's
      // timeout, and the other leases are renewed meanwhile.
      if (changed) {
        await stopped;
        restart.push({ drain: exists!, lease: r.lease });
      }
    }
    for (const { drain, lease } of restart) if (!this.#stopped) this.#startRunner(drain, lease);
  }

  #startRunner(d: DrainRecord, lease: HeldLease): void {
    const transport = createTransport(targetOf(d), { ...DEFAULT_TRANSPORT_OPTIONS, ...this.#o.transport });
    const keep = keepLine(d.filter);
    const report = this.#o.report;
    const runner = new DrainRunner({
      drain: d,
      store: this.#o.store,
      lease,
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
    this.#runners.set(key(d), { runner, lease, unwatch, drain: d });
    this.#o.log.info('drain acquired', { drain: d.id, channel: d.channel, node: this.node, epoch: lease.epoch });
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
        await this.#o.store.release(channel, id, this.node, r.lease.epoch).catch(() => undefined);
      }),
    );
    this.#runners.clear();
    await Promise.all(this.#stopping);
  }
}

const key = (d: DrainRecord): string => `${d.channel}:${d.id}`;

const sameRecord = (a: DrainRecord, b: DrainRecord): boolean =>
  a.url === b.url &&
  a.secret === b.secret &&
  JSON.stringify(a.headers) === JSON.stringify(b.headers) &&
  JSON.stringify(a.filter) === JSON.stringify(b.filter);
