// The JSON API discipline both control planes share: bounded bodies, Bearer/Basic auth,
// strict fields, and one error shape `{id, message}` (design.md §Control API).
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export type ApiErrorId =
  | 'invalid_params'
  | 'not_found'
  | 'conflict'
  | 'unauthorized'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unprocessable_entity'
  | 'method_not_allowed'
  | 'unavailable';

const STATUS: Record<ApiErrorId, number> = {
  invalid_params: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable_entity: 422,
  unavailable: 503,
};

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly id: ApiErrorId,
    message: string,
  ) {
    super(message);
    this.status = STATUS[id];
  }
}

/** 64 KiB: the control API's body limit (bodies over it are 413 without being read whole). */
export const API_BODY_LIMIT = 64 * 1024;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}),
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Seconds a client waits before retrying a 503 (RFC 9110 §10.2.3). */
export const RETRY_AFTER_S = 1;

export function sendError(res: ServerResponse, err: ApiError): void {
  // A request whose body we refused to read: close the connection rather than drain it.
  const headers: Record<string, string> | undefined =
    err.status === 413
      ? { connection: 'close' }
      : err.status === 503
        ? { 'retry-after': String(RETRY_AFTER_S) }
        : undefined;
  sendJson(res, err.status, { id: err.id, message: err.message }, headers);
}

/**
 * The store behind an API (design.md §Control API, §Logplex API): while it is away, a request
 * that needs it is a 503 with Retry-After within `deadlineMs`, never a 500 and never a wait on
 * ioredis' reconnect attempts.
 */
export interface StoreGuard {
  /** Why the store cannot be used now, in our words naming it; undefined while it is up. */
  down(): string | undefined;
  deadlineMs?: number;
}

/** How long an API request waits on a store that has gone away before answering 503. */
export const STORE_DEADLINE_MS = 1_000;
/** After the deadline, how often a request still waiting looks at the store again. */
const STORE_RECHECK_MS = 250;

/** Reads a body of at most `limit` bytes; past that, rejects with 413 and stops reading. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    return Promise.reject(new ApiError('payload_too_large', `body is ${declared} bytes; the limit is ${limit}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.pause();
        reject(new ApiError('payload_too_large', `body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks, size));
      done = true;
    });
    req.on('error', (err) => {
      if (!done) reject(err);
      done = true;
    });
  });
}

/** Parses a JSON object body; an empty body is `{}`. */
export async function readJsonObject(req: IncomingMessage, limit = API_BODY_LIMIT): Promise<Record<string, unknown>> {
  const raw = await readBody(req, limit);
  if (raw.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new ApiError('invalid_params', `body is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ApiError('invalid_params', 'body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/** Unknown fields are refused, not ignored (design.md §Control API). */
export function rejectUnknown(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw new ApiError('invalid_params', `unknown field "${key}"; allowed: ${allowed.join(', ') || 'none'}`);
    }
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** The user and password of an `Authorization: Basic` header (RFC 7617 §2: user-id ":" password), or undefined. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0
    ? { user: decoded, password: '' }
    : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The password of an `Authorization: Basic` header, or undefined. */
export function basicPassword(header: string | undefined): string | undefined {
  return basicCredentials(header)?.password;
}

/**
 * `Authorization: Bearer TOKEN`, or Basic with TOKEN as the password (Logplex's clients).
 * `token === undefined` means no auth (dev on loopback). Compared in constant time.
 */
export function checkAuth(req: IncomingMessage, token: string | undefined): void {
  if (token === undefined) return;
  const header = req.headers.authorization ?? '';
  const presented = /^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? basicPassword(header);
  if (presented === undefined || !timingSafeEqual(digest(presented), digest(token))) {
    throw new ApiError('unauthorized', header ? 'invalid API token' : 'missing Authorization header (Bearer token)');
  }
}

export type Params = Record<string, string>;
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, params: Params) => Promise<void> | void;

interface Route {
  method: string;
  parts: string[];
  handler: RouteHandler;
}

/**
 * A tiny method+path table: `/v1/apps/:app/dynos/:dyno`. Unknown path → 404,
 * known path with another method → 405. Parameters are URI-decoded.
 */
export class ApiRoutes {
  #routes: Route[] = [];
  add(method: string, path: string, handler: RouteHandler): this {
    this.#routes.push({ method, parts: path.split('/').filter(Boolean), handler });
    return this;
  }
  match(method: string, pathname: string): { handler: RouteHandler; params: Params } | ApiError {
    const segs = pathname.split('/').filter(Boolean);
    let pathMatched = false;
    for (const r of this.#routes) {
      if (r.parts.length !== segs.length) continue;
      const params: Params = {};
      let ok = true;
      for (let i = 0; i < segs.length && ok; i++) {
        const p = r.parts[i]!;
        if (p.startsWith(':')) {
          try {
            params[p.slice(1)] = decodeURIComponent(segs[i]!);
          } catch {
            ok = false;
          }
        } else ok = p === segs[i];
      }
      if (!ok) continue;
      pathMatched = true;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { handler: r.handler, params };
    }
    return pathMatched
      ? new ApiError('method_not_allowed', `${method} is not allowed on ${pathname}`)
      : new ApiError('not_found', `no route ${method} ${pathname}`);
  }
}

/** Runs a matched handler and renders any thrown ApiError; anything else is a 500 without details. */
export async function serveApi(
  table: ApiRoutes,
  req: IncomingMessage,
  res: ServerResponse,
  onUnexpected: (err: unknown) => void,
  guard?: StoreGuard,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const m = table.match(req.method ?? 'GET', url.pathname);
  // A store that went away while the handler waits on it: answer at the deadline, or as soon
  // after it as the store is found away (a hung one is noticed only once a command waited
  // SILENCE_MS); the handler's late reply then finds the response sent and is dropped.
  let deadline: NodeJS.Timeout | undefined;
  const check = (): void => {
    if (res.headersSent || !guard) return;
    const why = guard.down();
    if (why !== undefined) sendError(res, new ApiError('unavailable', why));
    else deadline = setTimeout(check, STORE_RECHECK_MS);
  };
  if (guard) deadline = setTimeout(check, guard.deadlineMs ?? STORE_DEADLINE_MS);
  try {
    if (m instanceof ApiError) throw m;
    await m.handler(req, res, m.params);
  } catch (err) {
    if (res.headersSent) {
      if (!res.writableEnded) res.destroy();
      return;
    }
    if (err instanceof ApiError) return sendError(res, err);
    const why = guard?.down();
    if (why !== undefined) return sendError(res, new ApiError('unavailable', why));
    onUnexpected(err);
    sendJson(res, 500, { id: 'internal', message: 'internal error' });
  } finally {
    clearTimeout(deadline);
  }
}
