// Keeps this node's CertTable in step with the store, as table/sync.ts does for routes: a full
// load at start and every ROUTER_RESYNC_MS, and one app's certificates reloaded on a route event
// that says `certs: true` or names an app that holds certificates here (a deleted app or
// detached domain takes its certificate along). The TLS listener reads `table` on each
// handshake, so a change is served on the next handshake; open connections keep theirs.
import type { Logger } from '../../shared/log';
import { errorFields } from '../../shared/log';
import type { CertStore, StoredCert } from '../store/certs';
import type { RouteEvent, RouteStore } from '../store/index';
import { CertTable } from './cert-table';

/** Retry delay of a failed load. */
const RETRY_MS = 1_000;

export interface CertSyncOptions {
  store: CertStore & Pick<RouteStore, 'subscribe' | 'onHealth'>;
  resyncMs: number;
  log: Logger;
}

export class CertSync {
  readonly #o: CertSyncOptions;
  #table = CertTable.empty();
  #pending = new Set<string>();
  #flushing = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #interval: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void)[] = [];

  constructor(opts: CertSyncOptions) {
    this.#o = opts;
  }

  get table(): CertTable {
    return this.#table;
  }

  /** Subscribes, then loads every certificate (a failure is logged and retried; TLS serves the default meanwhile). */
  async start(): Promise<void> {
    const { store } = this.#o;
    this.#unsubscribe.push(store.subscribe((e) => this.#onEvent(e)));
    this.#unsubscribe.push(store.onHealth((up) => up && void this.resync()));
    this.#interval = setInterval(() => void this.resync(), this.#o.resyncMs);
    await this.resync();
  }

  async resync(): Promise<void> {
    try {
      const certs = await this.#o.store.loadAllCerts();
      if (!this.#closed) this.#table = CertTable.build(certs, (c) => this.#skipped(c));
    } catch (err) {
      this.#o.log.warn('certificate load failed; serving the last table', errorFields(err));
      clearTimeout(this.#timer);
      if (!this.#closed) this.#timer = setTimeout(() => void this.resync(), RETRY_MS);
    }
  }

  close(): void {
    this.#closed = true;
    for (const u of this.#unsubscribe) u();
    clearInterval(this.#interval);
    clearTimeout(this.#timer);
  }

  #onEvent(e: RouteEvent): void {
    if (this.#closed || (!e.certs && !this.#table.hasApp(e.app))) return;
    this.#pending.add(e.app);
    if (!this.#flushing) {
      this.#flushing = true;
      setImmediate(() => void this.#flush());
    }
  }

  async #flush(): Promise<void> {
    try {
      while (this.#pending.size > 0 && !this.#closed) {
        const apps = [...this.#pending];
        this.#pending.clear();
        const loaded = await Promise.all(apps.map((a) => this.#o.store.loadCerts(a)));
        if (this.#closed) return;
        this.#table = this.#table.withApps(apps, loaded.flat(), (c) => this.#skipped(c));
      }
    } catch (err) {
      this.#o.log.warn('certificate reload failed; a full load will catch up', errorFields(err));
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.resync(), RETRY_MS);
    } finally {
      this.#flushing = false;
    }
  }

  #skipped(c: StoredCert): void {
    this.#o.log.warn('stored certificate does not parse; not served', { app: c.app, host: c.host });
  }
}
