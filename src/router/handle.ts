// THE request path (design.md §Request path), read top to bottom:
//   1 client engine (client/) → 2 resolve Host → 3 admit → 4 pick → 5–7 forward (retry on recorded
//   progress) → 9 log; upgrades take step 8 (upgrade.ts) after step 3.
// It sees a client only through ClientRequest and ClientSide (client/exchange.ts), so HTTP/1.1 on
// TCP or TLS and an HTTP/2 stream take the same path. Every failure is a RouterError rendered by
// the one exit (exit.ts). design.md §Request path has the picture with the H codes.
import type { Duplex } from 'node:stream';
import type { Config } from '../shared/config';
import { errorFields, type Logger } from '../shared/log';
import type { AccessLogSink, LineWriter } from './access-log';
import { admit } from './admit';
import type { DynoLoad, Ejections, Pick, Pickers } from './balance';
import type { ClientProto, ClientRequest, ClientSide } from './client/exchange';
import { H_CODES, RouterError } from './errors';
import { fail, NO_SUCH_APP, record, redirectToHttps } from './exit';
import { forward, requestHead, type Attempt, type ClientWatch } from './forward';
import { requestIdFor, upstreamFields } from './headers';
import type { DataPlaneMetrics } from './metrics';
import type { Pools } from './pools';
import { mayReplayAfterRace } from './replay';
import { normaliseHost, resolve } from './resolve';
import type { AppEntry } from './table/route-table';
import type { RouteTable } from './table/route-table';
import { mustRedirect } from './tls/client-side';
import { handleUpgrade } from './upgrade';

/** design.md §Request path step 5: at most 3 attempts in all, on different dynos, only while nothing was sent. */
export const MAX_ATTEMPTS = 3;

/** Everything the request path needs, built once by server.ts and passed explicitly. */
export interface PlaneDeps {
  readonly config: Config;
  readonly table: () => RouteTable;
  readonly pools: Pools;
  readonly pickers: Pickers;
  readonly load: DynoLoad;
  readonly ejections: Ejections;
  /** In-flight requests per app, for H11. */
  readonly appInFlight: Map<string, number>;
  readonly metrics: DataPlaneMetrics;
  readonly accessLog: AccessLogSink | undefined;
  readonly writeLine: LineWriter;
  readonly log: Logger;
  /** Upgraded client sockets still piping, closed at shutdown after the grace period. */
  readonly pipes: Set<Duplex>;
  /** The TLS listener's port once it listens: where `force_https` redirects to. */
  readonly tls: { port: number | undefined };
}

/** Per-request state, made here and passed along; nothing is stashed on sockets. */
export interface RequestContext {
  readonly acceptedAt: number;
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  host: string;
  readonly fwd: string;
  /** `method`, `path` and `host` are known safe to log as they are (ClientRequest.headChecked). */
  readonly headChecked: boolean;
  readonly protocol: ClientProto;
  /** `2.0` for an HTTP/2 client (the router line's `http_version=`); HTTP/1.x leaves it out. */
  readonly httpVersion: '2.0' | undefined;
  /** The client's Accept, for the error page's format. */
  readonly accept: string | undefined;
  /** The client's Cookie, for affinity (balance.ts). */
  readonly cookie: string | undefined;
  app: string | undefined;
  dyno: string;
  readonly tried: string[];
  connectMs: number | undefined;
  serviceMs: number | undefined;
  bytes: number | undefined;
  status: number;
}

export function newContext(req: ClientRequest): RequestContext {
  // The three fields the path reads, found in one pass (the first of each, as sent); only a name of
  // their lengths is lower-cased.
  const raw = req.rawHeaders;
  let id: string | undefined;
  let accept: string | undefined;
  let cookie: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 6) {
      const lower = name.toLowerCase();
      if (lower === 'accept') accept ??= raw[i + 1];
      else if (lower === 'cookie') cookie ??= raw[i + 1];
    } else if (name.length === 12 && id === undefined && name.toLowerCase() === 'x-request-id') {
      id = raw[i + 1];
    }
  }
  return {
    acceptedAt: req.receivedAt,
    requestId: requestIdFor(id),
    method: req.method,
    path: req.target,
    host: normaliseHost(req.authority) ?? req.authority,
    fwd: req.remoteAddress,
    // normaliseHost's answer, or the authority itself: from the HTTP/1 parser, a valid Host either way.
    headChecked: req.headChecked === true,
    protocol: req.proto,
    httpVersion: req.version === 'HTTP/2' ? '2.0' : undefined,
    accept,
    cookie,
    app: undefined,
    dyno: '',
    tried: [],
    connectMs: undefined,
    serviceMs: undefined,
    bytes: undefined,
    status: 0,
  };
}

/** The entry point for every front (client/exchange.ts ServeExchange); never throws. */
export function serveExchange(p: PlaneDeps, req: ClientRequest, side: ClientSide): void {
  handle(p, req, side).catch((err: unknown) => {
    // handle() answers every failure itself; a throw that escapes it is a bug, and must cost one
    // connection, never the process.
    p.log.error('request path threw', errorFields(err));
    side.abort();
  });
}

export async function handle(p: PlaneDeps, req: ClientRequest, side: ClientSide): Promise<void> {
  const ctx = newContext(req);
  try {
    const entry = route(p, ctx);
    if (entry === undefined) return fail(p, side, ctx, NO_SUCH_APP);
    if (mustRedirect(entry.app, req.proto)) return redirectToHttps(p, side, ctx);
    if (req.upgrade !== undefined) return await handleUpgrade(p, entry, req, side, ctx);
    const app = entry.app.name;
    p.appInFlight.set(app, (p.appInFlight.get(app) ?? 0) + 1);
    p.metrics.live.inFlight++;
    try {
      await proxy(p, entry, req, side, ctx);
    } finally {
      const n = p.appInFlight.get(app)! - 1;
      if (n === 0) p.appInFlight.delete(app);
      else p.appInFlight.set(app, n);
      p.metrics.live.inFlight--;
    }
    record(p, ctx, undefined);
  } catch (err) {
    fail(p, side, ctx, err);
  }
}

/**
 * Steps 2–3: Host → app, app checks. Throws the RouterError of a refusal; undefined means no app
 * owns the Host (404).
 */
export function route(p: PlaneDeps, ctx: RequestContext): AppEntry | undefined {
  const table = p.table();
  p.pools.follow(table);
  const entry = resolve(table, ctx.host);
  if (entry === undefined) return undefined;
  ctx.app = entry.app.name;
  const refused = admit(entry, p.appInFlight.get(ctx.app) ?? 0, p.config.ROUTER_APP_MAX_INFLIGHT);
  if (refused !== undefined) throw new RouterError(refused);
  return entry;
}

/** Steps 4–7 for a plain request: stream the response through `side`. */
function proxy(
  p: PlaneDeps,
  entry: AppEntry,
  req: ClientRequest,
  side: ClientSide,
  ctx: RequestContext,
): Promise<void> {
  const watch: ClientWatch = { current: undefined };
  side.onGone((reason) => watch.current?.clientGone(reason === 'gone' ? 'H27' : reason));
  const body = req.body.kind !== 'none';
  // A body of known length keeps its Content-Length; one of unknown length goes on chunked.
  const chunked = req.body.kind === 'stream';
  return attempts(p, entry, req, ctx, (headers, pick) =>
    forward(
      {
        pool: p.pools.get(pick.dyno.host, pick.dyno.port),
        side,
        method: req.method,
        head: requestHead(req.method, req.target, headers, chunked),
        hasBody: body,
        chunked,
        setCookie: pick.setCookie,
        timeouts: p.pools.timeouts,
        deadlines: p.pools.deadlines,
      },
      watch,
    ),
  );
}

/** Runs one attempt; `fields` is the header section for the dyno (headers.ts upstreamFields). */
export type RunAttempt = (fields: string, pick: Pick) => Promise<Attempt>;

/**
 * Steps 4–5 and their retries, for plain and upgrade requests alike: pick a dyno, run one attempt,
 * and retry only on recorded progress: on another dyno after a connect failure (a code whose
 * `eject` is set) while nothing was sent and fewer than 3 attempts ran, or once on the same dyno
 * after a keep-alive race, for an idempotent method only (replay.ts).
 */
export async function attempts(
  p: PlaneDeps,
  entry: AppEntry,
  req: ClientRequest,
  ctx: RequestContext,
  run: RunAttempt,
): Promise<void> {
  const picker = p.pickers.for(entry);
  let connectMs = 0;
  let replay = false;
  let pick: Pick | undefined;
  let last: RouterError | undefined;
  for (;;) {
    if (!replay) {
      pick = picker.pick(p.load, p.ejections, Date.now(), ctx.tried, ctx.cookie);
      if (pick === undefined) throw last ?? new RouterError('H14');
    }
    ctx.tried.push(pick!.dyno.name);
    ctx.dyno = pick!.dyno.name;
    const headers = upstreamFields(
      req.rawHeaders,
      req.passThrough,
      {
        requestId: ctx.requestId,
        remote: req.remoteAddress,
        proto: req.proto,
        port: req.port,
        acceptedAt: ctx.acceptedAt,
        connectMs,
      },
      Date.now(),
    );
    p.load.add(pick!.key, 1);
    const a = await run(headers, pick!);
    p.load.add(pick!.key, -1);
    connectMs += a.connectMs;
    ctx.connectMs = connectMs;
    ctx.serviceMs = a.serviceMs;
    ctx.bytes = a.bytes;
    p.metrics.connectSeconds.observe(a.connectMs / 1000);
    if (a.ok) {
      ctx.status = a.status;
      p.metrics.serviceSeconds.observe(a.serviceMs / 1000);
      return;
    }
    const e = (last = a.error);
    const info = H_CODES[e.code];
    if (info.eject) {
      // Outlier ejection (step 4): this dyno sits out a short back-off.
      p.ejections.eject(pick!.key, Date.now());
      p.metrics.ejections.inc();
      if (e.progress === 'not-sent' && ctx.tried.length < MAX_ATTEMPTS) {
        p.metrics.retries.labels('connect').inc();
        replay = false;
        continue;
      }
    }
    if (a.replayable && !replay && mayReplayAfterRace(req.method)) {
      // Step 5, keep-alive race: once more on the same dyno; its pool opens a fresh connection.
      p.metrics.retries.labels('keepalive-race').inc();
      replay = true;
      continue;
    }
    throw e;
  }
}
