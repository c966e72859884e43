// The route table (DESIGN §3 "Route table"): an immutable snapshot host → app → dynos,
// built whole when the store changes and swapped in at once. The request path only
// calls `lookup` (two Map.get at most); nothing here touches the network.

export type Balancer = 'p2c' | 'round-robin' | 'random';
export const BALANCERS: readonly Balancer[] = ['p2c', 'round-robin', 'random'];

export type DynoState = 'up' | 'starting' | 'crashed';
export const DYNO_STATES: readonly DynoState[] = ['up', 'starting', 'crashed'];

export interface DynoRecord {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly state: DynoState;
  /** ms since epoch; from the `app:{a}:leases` zset. */
  readonly leaseExpiresAt: number;
}

/** One app as the store holds it (DESIGN §2 `app:{a}`, `:domains`, `:dynos`, `:leases`). */
export interface AppRecord {
  readonly name: string;
  readonly maintenance: boolean;
  readonly balancer: Balancer;
  readonly affinity: boolean;
  /** Logplex channel id, once the platform created one. */
  readonly channel?: string;
  /** Token the router writes the app's `heroku[router]` lines with. */
  readonly routerToken?: string;
  readonly domains: readonly string[];
  readonly dynos: readonly DynoRecord[];
  /** Grows with every change to the app (store/index.ts `RouteEvent`); sync.ts orders reloads by it. */
  readonly version?: number;
}

/** What the request path needs of an app, precomputed when the snapshot is built. */
export interface AppEntry {
  readonly app: AppRecord;
  /** Dynos with a live lease and state `up`, sorted by name: the only ones that get new requests. */
  readonly routable: readonly DynoRecord[];
  /** True when the app has dynos but every one of them is crashed (H10). */
  readonly allCrashed: boolean;
}

export interface RouteTableStats {
  apps: number;
  domains: number;
  dynos: number;
  routable: number;
}

export class RouteTable {
  readonly #byHost: Map<string, AppEntry>;
  readonly #byApp: Map<string, AppEntry>;
  /** ms since epoch when this snapshot was built. */
  readonly builtAt: number;
  /** Earliest lease expiry among routable dynos: the snapshot must be rebuilt by then. */
  readonly nextExpiry: number;

  private constructor(
    byApp: Map<string, AppEntry>,
    byHost: Map<string, AppEntry>,
    builtAt: number,
    nextExpiry: number,
  ) {
    this.#byApp = byApp;
    this.#byHost = byHost;
    this.builtAt = builtAt;
    this.nextExpiry = nextExpiry;
  }

  static empty(): RouteTable {
    return new RouteTable(new Map(), new Map(), Date.now(), Infinity);
  }

  /**
   * Builds a snapshot. `now` decides which leases are live; a node that cannot see Redis
   * passes the time it last could, so leases do not expire while heartbeats are invisible.
   */
  static build(apps: Iterable<AppRecord>, now: number): RouteTable {
    const byApp = new Map<string, AppEntry>();
    const byHost = new Map<string, AppEntry>();
    let nextExpiry = Infinity;
    for (const app of apps) {
      const entry = entryFor(app, now);
      byApp.set(app.name, entry);
      for (const host of app.domains) byHost.set(host, entry);
      for (const d of entry.routable) nextExpiry = Math.min(nextExpiry, d.leaseExpiresAt);
    }
    return new RouteTable(byApp, byHost, now, nextExpiry);
  }

  /**
   * A copy with several apps replaced (undefined removes one), rebuilding only their entries.
   * Unchanged entries stay valid while `now` is before `nextExpiry`; past it, everything is rebuilt.
   */
  withApps(changes: ReadonlyMap<string, AppRecord | undefined>, now: number): RouteTable {
    if (now >= this.nextExpiry) {
      const apps = new Map<string, AppRecord>();
      for (const [n, e] of this.#byApp) apps.set(n, e.app);
      for (const [n, app] of changes) {
        if (app) apps.set(n, app);
        else apps.delete(n);
      }
      return RouteTable.build(apps.values(), now);
    }
    const byApp = new Map(this.#byApp);
    const byHost = new Map(this.#byHost);
    let nextExpiry = this.nextExpiry;
    for (const [name, app] of changes) {
      const old = byApp.get(name);
      if (old) for (const host of old.app.domains) if (byHost.get(host) === old) byHost.delete(host);
      if (!app) {
        byApp.delete(name);
        continue;
      }
      const entry = entryFor(app, now);
      byApp.set(name, entry);
      for (const host of app.domains) byHost.set(host, entry);
      for (const d of entry.routable) nextExpiry = Math.min(nextExpiry, d.leaseExpiresAt);
    }
    return new RouteTable(byApp, byHost, now, nextExpiry);
  }

  /** `host` must already be normalised (lower case, no port, no trailing dot): see resolve.ts. */
  lookup(host: string): AppEntry | undefined {
    const exact = this.#byHost.get(host);
    if (exact) return exact;
    // Wildcards cover exactly one label, as in TLS certificates: *.example.com matches
    // a.example.com, not example.com nor a.b.example.com.
    const dot = host.indexOf('.');
    return dot > 0 ? this.#byHost.get('*' + host.slice(dot)) : undefined;
  }

  app(name: string): AppEntry | undefined {
    return this.#byApp.get(name);
  }

  apps(): IterableIterator<AppEntry> {
    return this.#byApp.values();
  }

  stats(): RouteTableStats {
    let dynos = 0;
    let routable = 0;
    for (const e of this.#byApp.values()) {
      dynos += e.app.dynos.length;
      routable += e.routable.length;
    }
    return { apps: this.#byApp.size, domains: this.#byHost.size, dynos, routable };
  }
}

function entryFor(app: AppRecord, now: number): AppEntry {
  const routable = app.dynos
    .filter((d) => d.state === 'up' && d.leaseExpiresAt > now)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const allCrashed = app.dynos.length > 0 && app.dynos.every((d) => d.state === 'crashed');
  return { app, routable, allCrashed };
}
