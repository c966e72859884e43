// Composition root of one router node (design.md §Router): config → store → table sync → admin API
// (+ ops endpoints) → data plane. The store belongs to the caller (`switchyard router` makes a
// Redis one, `dev` a memory one) and outlives the node.
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Config } from '../shared/config';
import type { Logger } from '../shared/log';
import { createRegistry } from '../shared/metrics';
import { closeServer, listen } from '../shared/ops-http';
import type { OnAppCreated, OnAppDeleted, RouteInspector } from './admin/api';
import type { AccessLogSink, LineWriter } from './access-log';
import { createAdminServer } from './admin/server';
import { createRouterMetrics, createTlsMetrics, type RouterMetrics } from './metrics';
import { startDataPlane, type DataPlane } from './server';
import type { CertStore } from './store/certs';
import type { RouteStore } from './store/index';
import { TableSync } from './table/sync';
import { startTlsPlane, type TlsPlane } from './tls/index';

export interface StartRouterOptions {
  config: Config;
  store: RouteStore & CertStore;
  /** Bind address of every listener. */
  host: string;
  /** Bearer token of the control API; undefined = no auth (`dev` on loopback only). */
  apiToken: string | undefined;
  log: Logger;
  /** Creates the Logplex channel of a new app (design.md §Control API, `PUT /v1/apps/:app`). */
  onAppCreated?: OnAppCreated;
  /** Removes the Logplex channel of a deleted app (design.md §Control API DELETE /v1/apps/:app). */
  onAppDeleted?: OnAppDeleted;
  /** Live in-flight counts for GET /v1/apps/:app and /v1/routes/:host (the data plane's). */
  inspector?: RouteInspector;
  /** Gets every router line of a known app (the platform points it at Logplex). */
  accessLog?: AccessLogSink;
  /** Where router lines go besides the sink; default stdout. */
  writeLine?: LineWriter;
  /** Defaults to a fresh registry with the default process metrics. */
  registry?: Registry;
  /** Overrides ROUTER_TLS_PORT (where 0 = off): here 0 is an ephemeral port (tests). */
  tlsPort?: number;
}

export interface RouterNode {
  adminPort: number;
  /** The data plane's port (ROUTER_PORT, or the ephemeral one for 0). */
  port: number;
  table: TableSync;
  registry: Registry;
  metrics: RouterMetrics;
  /** The TLS listener, unless ROUTER_TLS_PORT=0. */
  tls: TlsPlane | undefined;
  close(): Promise<void>;
}

export async function startRouter(opts: StartRouterOptions): Promise<RouterNode> {
  const { config, store, log } = opts;
  const registry = opts.registry ?? createRegistry('router');
  const metrics = createRouterMetrics(registry);
  if (store.commandsInFlight) metrics.storeSource.inFlight = () => store.commandsInFlight?.() ?? 0;
  const table = new TableSync({ store, resyncMs: config.ROUTER_RESYNC_MS, log, metrics });
  await table.start();

  // Data plane on ROUTER_PORT; its in-flight counts feed the admin API's live stats.
  let dataPlane: DataPlane;
  try {
    dataPlane = await startDataPlane({
      config,
      table: () => table.table,
      registry,
      log,
      host: opts.host,
      ...(opts.accessLog ? { accessLog: opts.accessLog } : {}),
      ...(opts.writeLine ? { writeLine: opts.writeLine } : {}),
    });
  } catch (err) {
    await table.close();
    throw err;
  }

  // TLS on ROUTER_TLS_PORT: decrypted connections go to the same HTTP engine as the plain port.
  const tlsPort = opts.tlsPort ?? (config.ROUTER_TLS_PORT === 0 ? undefined : config.ROUTER_TLS_PORT);
  let tls: TlsPlane | undefined;
  try {
    tls =
      tlsPort === undefined
        ? undefined
        : await startTlsPlane({
            config,
            store,
            host: opts.host,
            port: tlsPort,
            metrics: createTlsMetrics(registry),
            log,
            http1: (socket, port) => dataPlane.serveConnection(socket, { proto: 'https', port }),
            serve: dataPlane.serveExchange,
          });
  } catch (err) {
    await dataPlane.close(0);
    await table.close();
    throw err;
  }
  if (tls) dataPlane.setTlsPort(tls.port);

  const admin: Server = createAdminServer({
    store,
    table: () => table.table,
    routerDomain: config.ROUTER_DOMAIN,
    maxInFlightPerDyno: config.ROUTER_APP_MAX_INFLIGHT,
    inspector: opts.inspector ?? dataPlane.inspector,
    ...(opts.onAppCreated ? { onAppCreated: opts.onAppCreated } : {}),
    ...(opts.onAppDeleted ? { onAppDeleted: opts.onAppDeleted } : {}),
    reseed: () => table.reseed(),
    log,
    apiToken: opts.apiToken,
    metrics,
    ops: {
      registry,
      readiness: () => {
        const s = table.state;
        return {
          ready: s.ready,
          detail: {
            ...(s.reason ? { reason: s.reason } : {}),
            degraded: s.degraded,
            stale_seconds: Math.round(s.staleSeconds * 10) / 10,
            table_age_seconds: Math.round(s.ageSeconds * 10) / 10,
            ...table.table.stats(),
          },
        };
      },
    },
  });
  let adminPort: number;
  try {
    adminPort = await listen(admin, config.ROUTER_ADMIN_PORT, opts.host);
  } catch (err) {
    await tls?.close();
    await dataPlane.close(0);
    await table.close();
    throw err;
  }
  log.info('router admin listening', { host: opts.host, admin_port: adminPort });

  let closing: Promise<void> | undefined;
  return {
    adminPort,
    port: dataPlane.port,
    table,
    registry,
    metrics,
    tls,
    close: () =>
      (closing ??= (async () => {
        await Promise.all([tls?.close(), dataPlane.close()]);
        await closeServer(admin, config.SWITCHYARD_GRACE_MS);
        await table.close();
      })()),
  };
}
