// Keeps this node's RouteTable in step with the store (design.md §Route table): a full load at
// start, one app reloaded per route-event, a full resync every ROUTER_RESYNC_MS, a rebuild when
// the next lease expires. While the store is unreachable the last table stays, built with the
// last time the store was seen so no lease expires on heartbeats we cannot see, and the node
// reports itself degraded; when the store returns, a full resync catches up, and for as long as
// the outage lasted leases are judged that much earlier (every lease extended by the outage), so
// dynos get to heartbeat before any of them expires: no H14 burst after an outage. A store that
// comes back with another generation (it lost its data) is not applied: the node keeps its table
// and says so until `switchyard router --reseed` writes the table back (reseed.ts).
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../shared/log';
import { errorFields } from '../../shared/log';
import type { RouterMetrics } from '../metrics';
import type { RouteEvent, RouteStore } from '../store/index';
import { RouteTable, type AppRecord } from './route-table';
import { LeaseClock } from './lease-clock';
import { reseed, type ReseedResult } from './reseed';

/** Apps queued for a reload; past this a full resync is cheaper than the queue. */
const MAX_PENDING = 10_000;
/** Apps reloaded in parallel per batch. */
const RELOAD_BATCH = 500;
/** Retry delay of a failed first load or reload batch. */
const RETRY_MS = 1_000;
/** A lease runs out only after the store answered a read this long before (#armExpiry). */
const EXPIRY_CHECK_LEAD_MS = 1_000;

export type DegradedReason = 'loading' | 'store_unreachable' | 'store_reset' | 'resync_failed';

export interface SyncState {
  ready: boolean;
  degraded: boolean;
  reason?: DegradedReason;
  ageSeconds: number;
  staleSeconds: number;
}

export interface TableSyncOptions {
  store: RouteStore;
  resyncMs: number;
  log: Logger;
  metrics: RouterMetrics;
}

export class TableSync {
  readonly #o: TableSyncOptions;
  #table = RouteTable.empty();
  #loaded = false;
  #closed = false;
  /** Newest version applied per app (kept for deleted apps until the next full resync). */
  #versions = new Map<string, number>();
  /** Local sequence of applied reloads: a resync must not undo a reload that finished after it began. */
  #seq = 0;
  #appliedAt = new Map<string, number>();
  #pending = new Map<string, number>();
  #flushing = false;
  readonly #clock = new LeaseClock();
  #graceTimer: NodeJS.Timeout | undefined;
  /** The store generation this table belongs to (undefined until the first load). */
  #generation: string | undefined;
  /** Set while the store holds another generation than ours: its data is not applied. */
  #reset: { found: string | undefined; storeApps: number } | undefined;
  #resetPoll = false;
  #lastFull = 0;
  #resyncFailed = false;
  #resyncing: Promise<void> | undefined;
  #resyncAgain = false;
  #timers = new Set<NodeJS.Timeout>();
  #expiry: NodeJS.Timeout | undefined;
  #interval: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void)[] = [];

  constructor(opts: TableSyncOptions) {
    this.#o = opts;
    opts.metrics.tableSource.read = () => this.state;
  }

  /** The current snapshot: what the data plane routes on. */
  get table(): RouteTable {
    return this.#table;
  }

  get state(): SyncState {
    const now = Date.now();
    const downSince = this.#clock.downSince;
    const down = downSince !== undefined;
    const reason: DegradedReason | undefined = !this.#loaded
      ? 'loading'
      : down
        ? 'store_unreachable'
        : this.#reset
          ? 'store_reset'
          : this.#resyncFailed
            ? 'resync_failed'
            : undefined;
    return {
      ready: reason === undefined,
      degraded: this.#loaded && reason !== undefined,
      ...(reason ? { reason } : {}),
      ageSeconds: this.#loaded ? (now - this.#lastFull) / 1000 : 0,
      staleSeconds: down ? (now - downSince) / 1000 : 0,
    };
  }

  /** Subscribes, then loads everything once (a failure leaves the node not ready and retrying). */
  async start(): Promise<void> {
    const { store } = this.#o;
    this.#unsubscribe.push(store.subscribe((e) => this.#onEvent(e)));
    this.#unsubscribe.push(store.onHealth((up, at) => this.#onHealth(up, at)));
    this.#interval = setInterval(() => void this.resync(), this.#o.resyncMs);
    await this.resync();
  }

  /** Loads every app and swaps in a fresh snapshot; concurrent calls share one run plus one more. */
  resync(): Promise<void> {
    if (this.#resyncing) {
      this.#resyncAgain = true;
      return this.#resyncing;
    }
    this.#resyncing = this.#resyncOnce().finally(() => {
      this.#resyncing = undefined;
      if (this.#resyncAgain && !this.#closed) {
        this.#resyncAgain = false;
        void this.resync();
      }
    });
    return this.#resyncing;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const u of this.#unsubscribe) u();
    clearInterval(this.#interval);
    clearTimeout(this.#expiry);
    clearTimeout(this.#graceTimer);
    for (const t of this.#timers) clearTimeout(t);
    delete this.#o.metrics.tableSource.read;
    await this.#resyncing?.catch(() => undefined);
  }

  async #resyncOnce(): Promise<void> {
    const { store, log, metrics } = this.#o;
    const seq0 = this.#seq;
    let apps: AppRecord[];
    let generation: string | undefined;
    try {
      generation = await store.generation();
      apps = await store.loadAll();
      // First load on this node: adopt the store's generation, or give a store without one its first.
      this.#generation ??= generation ?? (await store.claimGeneration(randomUUID()));
    } catch (err) {
      metrics.resyncs.inc({ result: 'error' });
      this.#resyncFailed = true;
      // A store that is away says so itself, once per interval (shared/redis.ts): one line, not one per retry.
      if (store.up) log.warn('route table resync failed', { ...errorFields(err), loaded: this.#loaded });
      // Store away: the resync on reconnect catches up; otherwise retry soon instead of at the interval.
      if (!this.#loaded || this.#clock.downSince === undefined) this.#later(() => void this.resync(), RETRY_MS);
      return;
    }
    if (this.#closed) return;
    if (generation !== undefined && generation !== this.#generation) return this.#onReset(generation, apps.length);
    if (generation === undefined && this.#loaded) return this.#onReset(undefined, apps.length);
    if (this.#reset) {
      log.info('route store generation is ours again; applying the store', { generation: this.#generation });
      this.#reset = undefined;
    }
    const merged = new Map<string, AppRecord>();
    const versions = new Map<string, number>();
    for (const app of apps) {
      const applied = this.#versions.get(app.name) ?? -1;
      // A reload that finished while loadAll ran may hold newer data than loadAll read.
      const keep = (app.version ?? 0) < applied ? this.#table.app(app.name)?.app : app;
      if (keep) merged.set(app.name, keep);
      versions.set(app.name, Math.max(app.version ?? 0, applied));
    }
    for (const [name, seq] of this.#appliedAt) {
      if (seq <= seq0 || merged.has(name)) continue;
      const entry = this.#table.app(name);
      if (entry) merged.set(name, entry.app);
      versions.set(name, this.#versions.get(name) ?? 0);
    }
    this.#versions = versions;
    this.#appliedAt = new Map([...this.#appliedAt].filter(([, seq]) => seq > seq0));
    this.#lastFull = Date.now();
    this.#resyncFailed = false;
    this.#loaded = true;
    metrics.resyncs.inc({ result: 'ok' });
    this.#set(RouteTable.build(merged.values(), this.#now()));
  }

  /** The store lost its data: keep routing on the last table and say so (once per reset). */
  #onReset(found: string | undefined, storeApps: number): void {
    const { log, metrics } = this.#o;
    metrics.resyncs.inc({ result: 'store_reset' });
    if (!this.#reset) {
      metrics.storeResets.inc();
      log.error(
        'route store lost its data (generation changed); keeping the last table; run switchyard router --reseed',
        {
          expected: this.#generation,
          found: found ?? 'none',
          store_apps: storeApps,
          table_apps: this.#table.stats().apps,
        },
      );
    }
    this.#reset = { found, storeApps };
    // The reseed writes the generation last and publishes nothing for it: look again soon (one poll at a time).
    if (this.#resetPoll) return;
    this.#resetPoll = true;
    this.#later(() => {
      this.#resetPoll = false;
      void this.resync();
    }, RETRY_MS);
  }

  /**
   * Writes this node's table back into a store that lost its data, then applies the store again.
   * Undefined when there is nothing to reseed (the store holds our generation).
   */
  async reseed(): Promise<ReseedResult | undefined> {
    if (!this.#reset || this.#generation === undefined) return undefined;
    const result = await reseed(this.#o.store, this.#table, this.#generation);
    this.#o.log.warn('route store reseeded from this node’s table', {
      ...result,
      conflicts: result.conflicts.join(','),
    });
    await this.resync();
    return result;
  }

  #onEvent(e: RouteEvent): void {
    // A store that lost its data publishes changes of data we do not apply (heartbeats of apps it no longer has).
    if (this.#closed || this.#reset) return;
    if (e.version <= (this.#versions.get(e.app) ?? -1)) {
      this.#o.metrics.eventsApplied.inc({ result: 'stale' });
      return;
    }
    this.#pending.set(e.app, Math.max(e.version, this.#pending.get(e.app) ?? 0));
    if (this.#pending.size > MAX_PENDING) {
      this.#pending.clear();
      void this.resync();
    }
    this.#o.metrics.reloadQueue.set(this.#pending.size);
    if (!this.#flushing) {
      this.#flushing = true;
      setImmediate(() => void this.#flush());
    }
  }

  /** Reloads pending apps in batches and applies each batch as one new snapshot. */
  async #flush(): Promise<void> {
    const { store, metrics, log } = this.#o;
    try {
      while (this.#pending.size > 0 && !this.#closed) {
        const batch = [...this.#pending].slice(0, RELOAD_BATCH);
        for (const [app] of batch) this.#pending.delete(app);
        metrics.reloadQueue.set(this.#pending.size);
        const loaded = await Promise.all(batch.map(async ([app, v]) => [app, v, await store.loadApp(app)] as const));
        if (this.#closed) return;
        const seq = ++this.#seq;
        const changes = new Map<string, AppRecord | undefined>();
        for (const [app, eventVersion, record] of loaded) {
          const version = record?.version ?? eventVersion;
          if (version <= (this.#versions.get(app) ?? -1)) {
            metrics.eventsApplied.inc({ result: 'stale' });
            continue;
          }
          this.#versions.set(app, version);
          this.#appliedAt.set(app, seq);
          changes.set(app, record);
          metrics.eventsApplied.inc({ result: 'applied' });
        }
        if (changes.size > 0) this.#set(this.#table.withApps(changes, this.#now()));
      }
    } catch (err) {
      metrics.eventsApplied.inc({ result: 'error' });
      log.warn('route reload failed; a full resync will catch up', errorFields(err));
      // Store away: the resync on reconnect heals it. Otherwise retry soon rather than wait for the interval.
      if (this.#clock.downSince === undefined) this.#later(() => void this.resync(), RETRY_MS);
    } finally {
      this.#flushing = false;
      if (this.#pending.size > 0 && !this.#closed) {
        this.#flushing = true;
        setImmediate(() => void this.#flush());
      }
    }
  }

  #onHealth(up: boolean, at: number): void {
    const { log } = this.#o;
    if (!up) {
      this.#clock.down(at);
      log.warn('store unreachable; routing on the last table, leases frozen', { apps: this.#table.stats().apps });
      return;
    }
    // The first connection is not a recovery: start() loads (and retries) on its own. After an
    // outage every lease is extended by it (lease-clock.ts); when that ends, rebuild on real time.
    const back = this.#clock.up();
    if (!back) return;
    clearTimeout(this.#graceTimer);
    this.#graceTimer = setTimeout(() => {
      if (this.#closed || this.#clock.downSince !== undefined) return;
      this.#set(
        RouteTable.build(
          [...this.#table.apps()].map((e) => e.app),
          this.#now(),
        ),
      );
    }, back.graceMs + 1);
    log.info('store reachable again; resyncing, leases extended by the outage', { down_ms: back.downFor });
    void this.resync();
  }

  /** The time leases are judged at (lease-clock.ts). */
  #now(): number {
    return this.#clock.now();
  }

  #set(table: RouteTable): void {
    this.#table = table;
    const s = table.stats();
    const g = this.#o.metrics.tableSize;
    g.set({ kind: 'apps' }, s.apps);
    g.set({ kind: 'domains' }, s.domains);
    g.set({ kind: 'dynos' }, s.dynos);
    g.set({ kind: 'routable' }, s.routable);
    this.#armExpiry(table);
  }

  /**
   * Rebuilds when the next lease runs out — unless the store is away, which freezes leases. A
   * lease runs out only on a store that answered a read just before: a node with no other
   * traffic would not notice a hung Redis (heartbeats failing on other nodes) before its dynos
   * expired, while a read that goes unanswered reports the store away since then (lease-clock.ts).
   */
  #armExpiry(table: RouteTable): void {
    clearTimeout(this.#expiry);
    if (!Number.isFinite(table.nextExpiry) || this.#closed) return;
    const current = (): boolean => this.#clock.downSince === undefined && this.#table === table && !this.#closed;
    const rebuild = (): void => {
      if (current())
        this.#set(
          RouteTable.build(
            [...table.apps()].map((e) => e.app),
            this.#now(),
          ),
        );
    };
    const until = (at: number): number => Math.min(Math.max(at - this.#now(), 0), 2 ** 31 - 1);
    const expiresAt = table.nextExpiry + 1;
    this.#expiry = setTimeout(
      () => {
        if (!current()) return;
        this.#o.store.generation().then(
          () => {
            if (current()) this.#expiry = setTimeout(rebuild, until(expiresAt));
          },
          // The store's health says why (a resync retries); the lease waits for a store that answers.
          () => undefined,
        );
      },
      until(expiresAt - EXPIRY_CHECK_LEAD_MS),
    );
  }

  #later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#closed) fn();
    }, ms);
    this.#timers.add(t);
  }
}
