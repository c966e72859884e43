// Writes a router's last table back into a store that lost its data (design.md §Route table):
// `switchyard router --reseed` asks a running node to do it through the control API. Every app
// with its settings, domains and dynos goes back; each dyno gets at least RESEED_MIN_LEASE_S of
// lease, so dynos have time to heartbeat before anything expires. The generation goes back last:
// only then do the other routers apply the store again.
import { StoreError, type RouteStore } from '../store/index';
import type { RouteTable } from './route-table';

/** Lease a reseeded dyno gets at least: a couple of heartbeats of the dyno agent. */
export const RESEED_MIN_LEASE_S = 30;
/** The control API's bound on ttl_s. */
const MAX_LEASE_S = 3600;

export interface ReseedResult {
  apps: number;
  domains: number;
  dynos: number;
  /** Domains another app claimed in the store meanwhile: left to it. */
  conflicts: string[];
}

export async function reseed(
  store: RouteStore,
  table: RouteTable,
  generation: string,
  now = Date.now(),
): Promise<ReseedResult> {
  const out: ReseedResult = { apps: 0, domains: 0, dynos: 0, conflicts: [] };
  for (const { app } of table.apps()) {
    await store.putApp(app.name, {
      maintenance: app.maintenance,
      balancer: app.balancer,
      affinity: app.affinity,
      ...(app.channel ? { channel: app.channel } : {}),
      ...(app.routerToken ? { router_token: app.routerToken } : {}),
    });
    out.apps++;
    for (const host of app.domains) {
      try {
        await store.attachDomain(app.name, host);
        out.domains++;
      } catch (err) {
        if (!(err instanceof StoreError) || err.code !== 'SY_DOMAIN_TAKEN') throw err;
        out.conflicts.push(host);
      }
    }
    for (const d of app.dynos) {
      const left = Math.ceil((d.leaseExpiresAt - now) / 1000);
      const ttl_s = Math.min(MAX_LEASE_S, Math.max(RESEED_MIN_LEASE_S, left));
      await store.putDyno(app.name, d.name, { host: d.host, port: d.port, state: d.state, ttl_s });
      out.dynos++;
    }
  }
  await store.claimGeneration(generation, true);
  return out;
}
