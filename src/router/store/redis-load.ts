// Reading apps out of Redis for the route table (DESIGN §2 keys): one pipeline of four
// commands per app (HGETALL app, SMEMBERS domains, HGETALL dynos, ZRANGE leases), in chunks,
// so a full load of 100,000 apps costs a few hundred round trips, not 400,000.
import type { RedisClient } from '../../shared/redis';
import { BALANCERS, DYNO_STATES, type AppRecord, type Balancer, type DynoRecord, type DynoState } from '../table/route-table';

export interface AppKeys {
  app: string;
  domains: string;
  dynos: string;
  leases: string;
}

export const appKeys = (prefix: string, app: string): AppKeys => {
  const base = `${prefix}app:{${app}}`;
  return { app: base, domains: `${base}:domains`, dynos: `${base}:dynos`, leases: `${base}:leases` };
};

/** Apps per pipeline: large enough to amortise round trips, small enough to bound one reply. */
export const LOAD_CHUNK = 1000;

type Reply = [Error | null, unknown][] | null;

/** Loads `names` in one pipeline; apps whose `app:{a}` hash is missing (deleted meanwhile) are left out. */
export async function loadApps(client: RedisClient, prefix: string, names: readonly string[]): Promise<AppRecord[]> {
  const p = client.pipeline();
  for (const name of names) {
    const k = appKeys(prefix, name);
    p.hgetall(k.app).smembers(k.domains).hgetall(k.dynos).zrange(k.leases, 0, -1, 'WITHSCORES');
  }
  const replies: Reply = await p.exec();
  if (!replies) throw Object.assign(new Error('pipeline aborted'), { code: 'SY_REDIS_UNREACHABLE' });
  const out: AppRecord[] = [];
  for (let i = 0; i < names.length; i++) {
    const r = replies.slice(i * 4, i * 4 + 4);
    for (const [err] of r) if (err) throw err;
    const app = parseApp(names[i]!, r[0]![1] as Record<string, string>, r[1]![1] as string[], r[2]![1] as Record<string, string>, r[3]![1] as string[]);
    if (app) out.push(app);
  }
  return out;
}

/** Every member of the `apps` set, by SSCAN (never one huge SMEMBERS reply). */
export async function scanAppNames(client: RedisClient, key: string): Promise<string[]> {
  const names = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await client.sscan(key, cursor, 'COUNT', 5000);
    cursor = next;
    for (const n of batch) names.add(n);
  } while (cursor !== '0');
  return [...names];
}

export function parseApp(
  name: string,
  hash: Record<string, string>,
  domains: string[],
  dynoHash: Record<string, string>,
  leases: string[],
): AppRecord | undefined {
  if (!hash || Object.keys(hash).length === 0) return undefined;
  const expiry = new Map<string, number>();
  for (let i = 0; i + 1 < leases.length; i += 2) expiry.set(leases[i]!, Number(leases[i + 1]));
  const dynos: DynoRecord[] = [];
  for (const [dyno, json] of Object.entries(dynoHash)) {
    const d = parseDyno(dyno, json, expiry.get(dyno) ?? 0);
    if (d) dynos.push(d);
  }
  dynos.sort((a, b) => (a.name < b.name ? -1 : 1));
  const balancer = (BALANCERS as readonly string[]).includes(hash.balancer ?? '') ? (hash.balancer as Balancer) : 'p2c';
  return {
    name,
    maintenance: hash.maintenance === '1',
    balancer,
    affinity: hash.affinity === '1',
    ...(hash.channel ? { channel: hash.channel } : {}),
    ...(hash.router_token ? { routerToken: hash.router_token } : {}),
    domains: domains.sort(),
    dynos,
    version: Number(hash.version ?? 0),
  };
}

/** A dyno entry written by someone else may be anything: an unreadable one is left out, not fatal. */
function parseDyno(name: string, json: string, leaseExpiresAt: number): DynoRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { host, port, state } = v as Record<string, unknown>;
  if (typeof host !== 'string' || typeof port !== 'number' || !(DYNO_STATES as readonly unknown[]).includes(state)) return undefined;
  return { name, host, port, state: state as DynoState, leaseExpiresAt };
}
