// The RouteStore contract (design.md §Stores): where apps, domains and dynos live. Two
// implementations pass the same suite (test/router/store.contract.ts): redis.ts for
// production and memory.ts for `dev`. The data plane never sees this: it reads the
// RouteTable snapshot that table/sync.ts builds from it.
import type { AppRecord, Balancer, DynoState } from '../table/route-table';

/** Fields of the `app:{a}` hash a caller may set; absent fields keep their value (or the default on create). */
export interface AppSettings {
  maintenance?: boolean;
  balancer?: Balancer;
  affinity?: boolean;
  channel?: string;
  router_token?: string;
  /** Plain-HTTP requests get a 308 to https (tls/force-https.ts). */
  force_https?: boolean;
}

export interface DynoInput {
  host: string;
  port: number;
  /** Lease length in seconds (1–3600, validated by the API). */
  ttl_s: number;
  state: DynoState;
}

/** Published after every change to an app; `version` grows with every change, across delete and re-create. */
export interface RouteEvent {
  app: string;
  version: number;
  /** Set when the app's certificates changed (store/certs.ts): nodes reload them too. */
  certs?: boolean;
}

export type StoreErrorCode = 'SY_APP_NOT_FOUND' | 'SY_DOMAIN_TAKEN' | 'SY_DOMAIN_NOT_FOUND';

/** A refused write, matched on `code`; `owner` names the app holding a taken domain. */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly owner?: string,
  ) {
    super(message);
  }
}

export interface RouteStore {
  /** Every app name, sorted. */
  listApps(): Promise<string[]>;
  /** One app with its domains and dynos, or undefined. */
  loadApp(name: string): Promise<AppRecord | undefined>;
  /** Every app; the route table's full load and resync. */
  loadAll(): Promise<AppRecord[]>;
  /** Create or update; defaults on create: maintenance off, balancer p2c, affinity off. */
  putApp(name: string, settings: AppSettings): Promise<{ app: AppRecord; created: boolean }>;
  /** Removes the app with its domains and dynos; false when there was no such app. */
  deleteApp(name: string): Promise<boolean>;
  /** Attaches `host` (already validated and lower-cased). Throws SY_APP_NOT_FOUND or SY_DOMAIN_TAKEN. */
  attachDomain(app: string, host: string): Promise<{ created: boolean }>;
  /** False when the app does not have that host. Throws SY_APP_NOT_FOUND. */
  detachDomain(app: string, host: string): Promise<boolean>;
  /** Register or heartbeat: the lease runs `ttl_s` from now. Throws SY_APP_NOT_FOUND. */
  putDyno(app: string, dyno: string, input: DynoInput): Promise<{ leaseExpiresAt: number; created: boolean }>;
  /** False when the app has no such dyno. Throws SY_APP_NOT_FOUND. */
  deleteDyno(app: string, dyno: string): Promise<boolean>;
  /**
   * The store's generation (design.md §Redis keys `generation`): an id set once, when a router
   * first loads an empty store. A store that comes back without it, or with another, has lost
   * its data (a Redis restarted empty): routers keep their table instead of applying it.
   */
  generation(): Promise<string | undefined>;
  /** Sets the generation to `id` when none is set (`force`: always); returns the one now held. */
  claimGeneration(id: string, force?: boolean): Promise<string>;
  /** Change notifications; returns the unsubscribe function. */
  subscribe(onEvent: (event: RouteEvent) => void): () => void;
  /** Whether the store can be reached now (memory: always). */
  readonly up: boolean;
  /**
   * Reachability changes, with when they happened (for a store that stopped answering, when it
   * last answered); returns the unsubscribe function.
   */
  onHealth(listener: (up: boolean, at: number) => void): () => void;
  /** Commands sent to the store and not answered yet (Redis; a gauge). */
  commandsInFlight?(): number;
  close(): Promise<void>;
}

export const APP_DEFAULTS = { maintenance: false, balancer: 'p2c' as Balancer, affinity: false };
