// RouteStore in one process (design.md §Stores): `dev` runs on it, so it keeps the whole
// contract — domain ownership, leases, versions, change events — not just a Map of fixtures.
import { EventEmitter } from 'node:events';
import type { AppRecord, DynoRecord } from '../table/route-table';
import { randomBytes } from 'node:crypto';
import { TICKET_KEY_BYTES, type CertStore, type StoredCert } from './certs';
import { APP_DEFAULTS, StoreError, type AppSettings, type DynoInput, type RouteEvent, type RouteStore } from './index';

interface MemApp {
  settings: Required<Pick<AppSettings, 'maintenance' | 'balancer' | 'affinity'>> &
    Pick<AppSettings, 'channel' | 'router_token' | 'force_https'>;
  domains: Set<string>;
  dynos: Map<string, DynoRecord>;
  version: number;
}

export class MemoryRouteStore implements RouteStore, CertStore {
  readonly #apps = new Map<string, MemApp>();
  /** domain → owning app: the `domain:HOST` keys. */
  readonly #domains = new Map<string, string>();
  readonly #events = new EventEmitter();
  /** app → host → certificate: the `app:{a}:certs` hashes. */
  readonly #certs = new Map<string, Map<string, StoredCert>>();
  readonly #ticketKeys = new Map<number, { key: Buffer; expiresAt: number }>();
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
    this.#certs.delete(name);
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
    this.#certs.get(app)?.delete(host);
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

  async putCert(cert: StoredCert): Promise<{ created: boolean }> {
    const a = this.#must(cert.app);
    if (!a.domains.has(cert.host)) throw noDomain(cert.app, cert.host);
    let certs = this.#certs.get(cert.app);
    if (!certs) this.#certs.set(cert.app, (certs = new Map<string, StoredCert>()));
    const created = !certs.has(cert.host);
    certs.set(cert.host, { ...cert });
    this.#changed(cert.app, a, true);
    return { created };
  }

  async getCert(app: string, host: string): Promise<StoredCert | undefined> {
    const c = this.#certs.get(app)?.get(host);
    return c && { ...c };
  }

  async deleteCert(app: string, host: string): Promise<boolean> {
    const a = this.#must(app);
    if (!this.#certs.get(app)?.delete(host)) return false;
    this.#changed(app, a, true);
    return true;
  }

  async loadCerts(app: string): Promise<StoredCert[]> {
    return [...(this.#certs.get(app)?.values() ?? [])].map((c) => ({ ...c }));
  }

  async loadAllCerts(): Promise<StoredCert[]> {
    return [...this.#certs.values()].flatMap((m) => [...m.values()].map((c) => ({ ...c })));
  }

  async ticketKey(epoch: number, ttlMs: number): Promise<Buffer> {
    const now = this.#now();
    for (const [e, k] of this.#ticketKeys) if (k.expiresAt <= now) this.#ticketKeys.delete(e);
    let k = this.#ticketKeys.get(epoch);
    if (!k) this.#ticketKeys.set(epoch, (k = { key: randomBytes(TICKET_KEY_BYTES), expiresAt: now + ttlMs }));
    return Buffer.from(k.key);
  }

  subscribe(onEvent: (event: RouteEvent) => void): () => void {
    this.#events.on('route-event', onEvent);
    return () => this.#events.off('route-event', onEvent);
  }

  onHealth(_listener: (up: boolean, at: number) => void): () => void {
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

  #changed(app: string, a: MemApp, certs = false): void {
    a.version = ++this.#version;
    const event: RouteEvent = certs ? { app, version: a.version, certs } : { app, version: a.version };
    // Delivered after the write returns, as Redis pub/sub would: a listener never runs inside a write.
    setImmediate(() => this.#events.emit('route-event', event));
  }
}

const noDomain = (app: string, host: string): StoreError =>
  new StoreError('SY_DOMAIN_NOT_FOUND', `app ${app} has no domain ${host}`);

function record(name: string, a: MemApp): AppRecord {
  const { maintenance, balancer, affinity, channel, router_token, force_https } = a.settings;
  return {
    name,
    maintenance,
    balancer,
    affinity,
    ...(channel ? { channel } : {}),
    ...(router_token ? { routerToken: router_token } : {}),
    ...(force_https ? { forceHttps: true } : {}),
    domains: [...a.domains].sort(),
    dynos: [...a.dynos.values()].sort((x, y) => (x.name < y.name ? -1 : 1)),
    version: a.version,
  };
}
