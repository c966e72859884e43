// RouteStore in one process (DESIGN §2 "memory"): `dev` runs on it, so it keeps the whole
// contract — domain ownership, leases, versions, change events — not just a Map of fixtures.
import { EventEmitter } from 'node:events';
import type { AppRecord, DynoRecord } from '../table/route-table';
import { APP_DEFAULTS, StoreError, type AppSettings, type DynoInput, type RouteEvent, type RouteStore } from './index';

interface MemApp {
  settings: Required<Pick<AppSettings, 'maintenance' | 'balancer' | 'affinity'>> &
    Pick<AppSettings, 'channel' | 'router_token'>;
  domains: Set<string>;
  dynos: Map<string, DynoRecord>;
  version: number;
}

export class MemoryRouteStore implements RouteStore {
  readonly #apps = new Map<string, MemApp>();
  /** domain → owning app: the `domain:HOST` keys. */
  readonly #domains = new Map<string, string>();
  readonly #events = new EventEmitter();
  readonly #now: () => number;
  /** One counter for every app, so versions keep growing across delete and re-create. */
  #version = 0;

  constructor(opts: { now?: () => number } = {}) {
    this.#now = opts.now ?? Date.now;
    this.#events.setMaxListeners(0);
  }

  readonly up = true;
  #generation: string | undefined;

  async generation(): Promise<string | undefined> {
    return this.#generation;
  }

  async claimGeneration(id: string, force = false): Promise<string> {
    if (force || this.#generation === undefined) this.#generation = id;
    return this.#generation;
  }

  async listApps(): Promise<string[]> {
    return [...this.#apps.keys()].sort();
  }

  async loadApp(name: string): Promise<AppRecord | undefined> {
    const a = this.#apps.get(name);
    return a && record(name, a);
  }

  async loadAll(): Promise<AppRecord[]> {
    return [...this.#apps].map(([name, a]) => record(name, a));
  }

  async putApp(name: string, settings: AppSettings): Promise<{ app: AppRecord; created: boolean }> {
    let a = this.#apps.get(name);
    const created = a === undefined;
    if (!a) {
      a = { settings: { ...APP_DEFAULTS }, domains: new Set(), dynos: new Map(), version: 0 };
      this.#apps.set(name, a);
    }
    for (const [k, v] of Object.entries(settings)) if (v !== undefined) (a.settings as Record<string, unknown>)[k] = v;
    this.#changed(name, a);
    return { app: record(name, a), created };
  }

  async deleteApp(name: string): Promise<boolean> {
    const a = this.#apps.get(name);
    if (!a) return false;
    this.#apps.delete(name);
    for (const host of a.domains) if (this.#domains.get(host) === name) this.#domains.delete(host);
    this.#changed(name, a);
    return true;
  }

  async attachDomain(app: string, host: string): Promise<{ created: boolean }> {
    const a = this.#must(app);
    const owner = this.#domains.get(host);
    if (owner !== undefined && owner !== app) {
      throw new StoreError('SY_DOMAIN_TAKEN', `domain ${host} belongs to app ${owner}`, owner);
    }
    this.#domains.set(host, app);
    if (a.domains.has(host)) return { created: false };
    a.domains.add(host);
    this.#changed(app, a);
    return { created: true };
  }

  async detachDomain(app: string, host: string): Promise<boolean> {
    const a = this.#must(app);
    if (!a.domains.delete(host)) return false;
    if (this.#domains.get(host) === app) this.#domains.delete(host);
    this.#changed(app, a);
    return true;
  }

  async putDyno(app: string, dyno: string, input: DynoInput): Promise<{ leaseExpiresAt: number; created: boolean }> {
    const a = this.#must(app);
    const leaseExpiresAt = this.#now() + input.ttl_s * 1000;
    const created = !a.dynos.has(dyno);
    a.dynos.set(dyno, { name: dyno, host: input.host, port: input.port, state: input.state, leaseExpiresAt });
    this.#changed(app, a);
    return { leaseExpiresAt, created };
  }

  async deleteDyno(app: string, dyno: string): Promise<boolean> {
    const a = this.#must(app);
    if (!a.dynos.delete(dyno)) return false;
    this.#changed(app, a);
    return true;
  }

  subscribe(onEvent: (event: RouteEvent) => void): () => void {
    this.#events.on('route-event', onEvent);
    return () => this.#events.off('route-event', onEvent);
  }

  onHealth(_listener: (up: boolean) => void): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {
    this.#events.removeAllListeners();
  }

  #must(app: string): MemApp {
    const a = this.#apps.get(app);
    if (!a) throw new StoreError('SY_APP_NOT_FOUND', `no app ${app}`);
    return a;
  }

  #changed(app: string, a: MemApp): void {
    a.version = ++this.#version;
    const event: RouteEvent = { app, version: a.version };
    // Delivered after the write returns, as Redis pub/sub would: a listener never runs inside a write.
    setImmediate(() => this.#events.emit('route-event', event));
  }
}

function record(name: string, a: MemApp): AppRecord {
  const { maintenance, balancer, affinity, channel, router_token } = a.settings;
  return {
    name,
    maintenance,
    balancer,
    affinity,
    ...(channel ? { channel } : {}),
    ...(router_token ? { routerToken: router_token } : {}),
    domains: [...a.domains].sort(),
    dynos: [...a.dynos.values()].sort((x, y) => (x.name < y.name ? -1 : 1)),
    version: a.version,
  };
}
