// The router's control API (design.md §Control API): apps, domains, dynos, and what this
// node would do for a Host. Writes go to the RouteStore; /v1/routes answers from this node's
// table, exactly as the data plane would see it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ApiError,
  readJsonObject,
  rejectUnknown,
  RouteTable as ApiRoutes,
  sendJson,
  type Params,
} from '../../shared/json-api';
import type { Logger } from '../../shared/log';
import { errorFields } from '../../shared/log';
import { admit } from '../admit';
import { normaliseHost } from '../resolve';
import { StoreError, type RouteStore } from '../store/index';
import type { ReseedResult } from '../table/reseed';
import type { AppRecord, RouteTable } from '../table/route-table';
import * as v from './validate';

/** Live per-dyno stats from the data plane; the default knows of nothing in flight. */
export interface RouteInspector {
  inFlight(app: string, dyno: string): number;
  /**
   * The app's count that H11 is decided on (requests plus open WebSocket pipes); a source that
   * does not know it leaves it out, and the sum of its dynos' counts stands in.
   */
  appInFlight?(app: string): number;
}

export const IDLE_INSPECTOR: RouteInspector = { inFlight: () => 0 };

/** Creates the app's Logplex channel (wired by the composition root); the result is stored on the app. */
export type OnAppCreated = (app: string) => Promise<{ channel: string; router_token: string } | void>;

/**
 * Removes the app's Logplex channel, its drains and their runners on every node (wired by the
 * composition root). Throws when Logplex could not be told: the app is then kept, and the
 * DELETE can be sent again.
 */
export type OnAppDeleted = (app: string, channel: string) => Promise<void>;

export interface AdminApiOptions {
  store: RouteStore;
  table: () => RouteTable;
  routerDomain: string;
  maxInFlightPerDyno: number;
  inspector: RouteInspector;
  onAppCreated?: OnAppCreated;
  onAppDeleted?: OnAppDeleted;
  log: Logger;
  /** Writes this node's table back into a store that lost its data; undefined: nothing to do. */
  reseed?: () => Promise<ReseedResult | undefined>;
}

/** StoreError codes as API errors (matched on code, never on a message). */
async function stored<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof StoreError) {
      switch (err.code) {
        case 'SY_APP_NOT_FOUND':
          throw new ApiError('not_found', err.message);
        case 'SY_DOMAIN_TAKEN':
          throw new ApiError('conflict', err.message);
      }
    }
    throw err;
  }
}

async function emptyBody(req: IncomingMessage): Promise<void> {
  rejectUnknown(await readJsonObject(req), []);
}

export function appView(app: AppRecord, inspector: RouteInspector, now = Date.now()): Record<string, unknown> {
  return {
    name: app.name,
    maintenance: app.maintenance,
    balancer: app.balancer,
    affinity: app.affinity,
    channel: app.channel ?? null,
    domains: app.domains,
    dynos: app.dynos.map((d) => ({
      name: d.name,
      host: d.host,
      port: d.port,
      state: d.state,
      lease_expires_at: new Date(d.leaseExpiresAt).toISOString(),
      lease_live: d.leaseExpiresAt > now,
      in_flight: inspector.inFlight(app.name, d.name),
    })),
  };
}

/** The control API's route table; every handler names its route pattern for the metrics. */
export function adminRoutes(o: AdminApiOptions, onRoute: (req: IncomingMessage, pattern: string) => void): ApiRoutes {
  const routes = new ApiRoutes();
  const add = (
    method: string,
    pattern: string,
    fn: (req: IncomingMessage, res: ServerResponse, p: Params) => Promise<void>,
  ): void => {
    routes.add(method, pattern, async (req, res, p) => {
      onRoute(req, pattern);
      try {
        await fn(req, res, p);
      } catch (err) {
        if (err instanceof ApiError) throw err;
        // The store failed (Redis away or erroring): a clear 503 the caller may retry, never a 500 page.
        // While it is away the store's own line says so once per interval; one per request would flood.
        if (o.store.up) o.log.error('control API store call failed', { method, route: pattern, ...errorFields(err) });
        throw new ApiError('unavailable', 'the route store is unreachable or failed; retry later');
      }
    });
  };

  add('GET', '/v1/apps', async (_req, res) => {
    sendJson(res, 200, { apps: await o.store.listApps() });
  });

  add('PUT', '/v1/apps/:app', async (req, res, p) => {
    const name = v.appName(p.app!);
    const settings = v.appSettings(await readJsonObject(req));
    const { app, created } = await stored(o.store.putApp(name, settings));
    if (created) {
      try {
        await stored(o.store.attachDomain(name, `${name}.${o.routerDomain}`));
      } catch (err) {
        // Someone already holds APP.ROUTER_DOMAIN: refuse the app rather than create it half-routable.
        await o.store.deleteApp(name);
        throw err;
      }
    }
    let current = app;
    if (o.onAppCreated && !app.channel) current = await createChannel(o, name, app);
    const fresh = (await o.store.loadApp(name)) ?? current;
    sendJson(res, created ? 201 : 200, appView(fresh, o.inspector));
  });

  add('GET', '/v1/apps/:app', async (_req, res, p) => {
    const app = await o.store.loadApp(v.appName(p.app!));
    if (!app) throw new ApiError('not_found', `no app ${p.app}`);
    sendJson(res, 200, appView(app, o.inspector));
  });

  add('DELETE', '/v1/apps/:app', async (_req, res, p) => {
    const name = v.appName(p.app!);
    const app = o.onAppDeleted ? await o.store.loadApp(name) : undefined;
    if (app?.channel) {
      // The channel goes first: an app whose channel could not be removed stays, so the DELETE can be retried.
      try {
        await o.onAppDeleted!(name, app.channel);
      } catch (err) {
        o.log.warn('channel deletion failed; the app is kept', { app: name, ...errorFields(err) });
        throw new ApiError('unavailable', `could not delete the Logplex channel of ${name}; retry`);
      }
    }
    if (!(await o.store.deleteApp(name))) throw new ApiError('not_found', `no app ${p.app}`);
    sendJson(res, 204, undefined);
  });

  add('PUT', '/v1/apps/:app/domains/:host', async (req, res, p) => {
    const app = v.appName(p.app!);
    const host = v.hostname(p.host!);
    await emptyBody(req);
    const { created } = await stored(o.store.attachDomain(app, host));
    sendJson(res, created ? 201 : 200, { app, host });
  });

  add('DELETE', '/v1/apps/:app/domains/:host', async (_req, res, p) => {
    const app = v.appName(p.app!);
    const host = v.hostname(p.host!);
    if (!(await stored(o.store.detachDomain(app, host))))
      throw new ApiError('not_found', `app ${app} has no domain ${host}`);
    sendJson(res, 204, undefined);
  });

  add('PUT', '/v1/apps/:app/dynos/:dyno', async (req, res, p) => {
    const app = v.appName(p.app!);
    const dyno = v.dynoName(p.dyno!);
    const input = v.dynoInput(await readJsonObject(req));
    const { leaseExpiresAt, created } = await stored(o.store.putDyno(app, dyno, input));
    sendJson(res, created ? 201 : 200, {
      app,
      dyno,
      ...input,
      lease_expires_at: new Date(leaseExpiresAt).toISOString(),
    });
  });

  add('DELETE', '/v1/apps/:app/dynos/:dyno', async (_req, res, p) => {
    const app = v.appName(p.app!);
    const dyno = v.dynoName(p.dyno!);
    if (!(await stored(o.store.deleteDyno(app, dyno))))
      throw new ApiError('not_found', `app ${app} has no dyno ${dyno}`);
    sendJson(res, 204, undefined);
  });

  // `switchyard router --reseed` (design.md §Route table): only a node that saw the store lose its
  // data holds a table to write back; any other answers 409.
  add('POST', '/v1/table/reseed', async (_req, res) => {
    const done = await o.reseed?.();
    if (!done) throw new ApiError('conflict', 'the route store holds this node’s generation: nothing to reseed');
    sendJson(res, 200, done);
  });

  add('GET', '/v1/routes/:host', async (_req, res, p) => {
    // Normalised exactly as the data plane does (step 2), so the answer is what a request would get.
    const host = normaliseHost(p.host);
    if (host === undefined) throw new ApiError('invalid_params', `host ${JSON.stringify(p.host)} is not a hostname`);
    const entry = o.table().lookup(host);
    if (!entry) throw new ApiError('not_found', `no app for host ${host}`);
    const name = entry.app.name;
    let appInFlight = o.inspector.appInFlight?.(name);
    if (appInFlight === undefined) {
      appInFlight = 0;
      for (const d of entry.app.dynos) appInFlight += o.inspector.inFlight(name, d.name);
    }
    const code = admit(entry, appInFlight, o.maxInFlightPerDyno);
    sendJson(res, 200, {
      host,
      app: name,
      routable: entry.routable.map((d) => ({
        dyno: d.name,
        host: d.host,
        port: d.port,
        in_flight: o.inspector.inFlight(name, d.name),
      })),
      ...(code ? { code } : {}),
    });
  });

  return routes;
}

/**
 * Runs the platform's hook. A failure is an error, never `"channel": null` in a 2xx: the app stays
 * (its routes work), and the next PUT tries the channel again.
 */
async function createChannel(o: AdminApiOptions, name: string, app: AppRecord): Promise<AppRecord> {
  let made: Awaited<ReturnType<OnAppCreated>>;
  try {
    made = await o.onAppCreated!(name);
  } catch (err) {
    o.log.warn('channel creation failed; the next PUT retries it', { app: name, ...errorFields(err) });
    const e = err as { message?: string; code?: string };
    throw new ApiError(
      'unavailable',
      `app ${name} exists, but its Logplex channel could not be made (${e.message ?? e.code ?? String(err)}); check LOGPLEX_URL on the router, then PUT /v1/apps/${name} again`,
    );
  }
  if (!made) return app;
  return (await o.store.putApp(name, { channel: made.channel, router_token: made.router_token })).app;
}
