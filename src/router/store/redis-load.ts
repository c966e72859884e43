// Reading apps out of Redis for the route table (design.md §Redis keys): the LOAD_APPS script reads
// each app's four keys (HGETALL app, SMEMBERS domains, HGETALL dynos, ZRANGE leases) for a
// chunk of apps per call, with a few chunks in flight: 100,000 apps cost 200 calls.
import type { RedisClient } from '../../shared/redis';
import { Cluster } from 'ioredis';
import { LOAD_APPS } from './redis-scripts';
import {
  BALANCERS,
  DYNO_STATES,
  type AppRecord,
  type Balancer,
  type DynoRecord,
  type DynoState,
} from '../table/route-table';

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
export const LOAD_CHUNK = 500;
/** Pipelines in flight during a full load. */
export const LOAD_PARALLEL = 3;

type AppReply = [string[], string[], string[], string[]] | false;
type Loader = { syLoadApps(numKeys: number, ...keys: string[]): Promise<string> };

/** Lua's cjson encodes an empty table as {}: anything but an array is empty here. */
const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

/** Defines `syLoadApps` (redis-scripts.ts LOAD_APPS) on a client; loadApps needs it. */
export function defineLoadCommand(client: RedisClient): void {
  client.defineCommand('syLoadApps', { lua: LOAD_APPS.lua });
}

/**
 * Loads `names` (apps whose `app:{a}` hash is missing are left out): one script call for the
 * whole chunk on a single node or Sentinel, one call per app on Cluster.
 */
export async function loadApps(client: RedisClient, prefix: string, names: readonly string[]): Promise<AppRecord[]> {
  const replies =
    client instanceof Cluster ? await perApp(client, prefix, names) : await wholeChunk(client, prefix, names);
  const out: AppRecord[] = [];
  for (let i = 0; i < names.length; i++) {
    const r = replies[i];
    const app = r ? parseApp(names[i]!, list(r[0]), list(r[1]), list(r[2]), list(r[3])) : undefined;
    if (app) out.push(app);
  }
  return out;
}

function keysOf(prefix: string, name: string): string[] {
  const k = appKeys(prefix, name);
  return [k.app, k.domains, k.dynos, k.leases];
}

async function wholeChunk(client: RedisClient, prefix: string, names: readonly string[]): Promise<AppReply[]> {
  const keys = names.flatMap((n) => keysOf(prefix, n));
  return JSON.parse(await (client as unknown as Loader).syLoadApps(keys.length, ...keys)) as AppReply[];
}

/** Cluster: one call per app (one slot each); ioredis routes each to its node. */
async function perApp(client: RedisClient, prefix: string, names: readonly string[]): Promise<AppReply[]> {
  const loader = client as unknown as Loader;
  const replies = await Promise.all(names.map((n) => loader.syLoadApps(4, ...keysOf(prefix, n))));
  return replies.map((r) => (JSON.parse(r) as AppReply[])[0] ?? false);
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

/** Builds an AppRecord from the flat replies of LOAD_APP (HGETALL, SMEMBERS, HGETALL, ZRANGE WITHSCORES). */
export function parseApp(
  name: string,
  hashPairs: string[],
  domains: string[],
  dynoPairs: string[],
  leases: string[],
): AppRecord | undefined {
  if (hashPairs.length === 0) return undefined;
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < hashPairs.length; i += 2) hash[hashPairs[i]!] = hashPairs[i + 1]!;
  const expiry = new Map<string, number>();
  for (let i = 0; i + 1 < leases.length; i += 2) expiry.set(leases[i]!, Number(leases[i + 1]));
  const dynos: DynoRecord[] = [];
  for (let i = 0; i + 1 < dynoPairs.length; i += 2) {
    const d = parseDyno(dynoPairs[i]!, dynoPairs[i + 1]!, expiry.get(dynoPairs[i]!) ?? 0);
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
    ...(hash.force_https === '1' ? { forceHttps: true } : {}),
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
  if (typeof host !== 'string' || typeof port !== 'number' || !(DYNO_STATES as readonly unknown[]).includes(state))
    return undefined;
  return { name, host, port, state: state as DynoState, leaseExpiresAt };
}
