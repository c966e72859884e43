// POST /logs (design.md §Ingest): `application/logplex-1` bodies of octet-counted RFC 5424
// frames, Basic auth `token:` + a channel token, at most 1 MiB (after gunzip, too). Bad frames
// are counted and answered 400 with how many were accepted; the good frames of the same body
// are kept (Logplex rejects the whole body; we are kinder).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { ApiError, basicCredentials, readBody, sendJson, type ApiRoutes } from '../../shared/json-api';
import { splitBody } from '../../shared/syslog/frame';
import type { Acceptor } from '../accept';
import type { LogplexMetrics } from '../metrics';
import type { RouteModule } from '../server';
import type { TokenCache } from '../tokens';
import type { TokenInfo } from '../store/index';

/** design.md §Ingest: a request body is at most 1 MiB. */
export const BODY_LIMIT = 1024 * 1024;
const CONTENT_TYPES = new Set(['application/logplex-1', 'application/x-logplex-1']);
const gunzipAsync = promisify(gunzip);

export interface HttpIngestDeps {
  acceptor: Acceptor;
  tokens: TokenCache;
  metrics: LogplexMetrics;
}

export function httpIngestRoutes(deps: HttpIngestDeps): RouteModule {
  // RFC 9110 §11.6.1: a 401 names the scheme and realm that would be accepted (Logplex's own).
  return ingestRoute('/logs', deps, ingest, 'Basic realm="Logplex"');
}

/**
 * An ingest route (POST /logs, POST /v1/logs): every refusal is counted by its status, then
 * answered by the API as any other; with `challenge`, a 401 is answered here with that
 * WWW-Authenticate, the unread body drained so the connection stays usable.
 */
export function ingestRoute(
  path: string,
  deps: HttpIngestDeps,
  ingest: (deps: HttpIngestDeps, req: IncomingMessage, res: ServerResponse) => Promise<void>,
  challenge?: string,
): RouteModule {
  return (table: ApiRoutes) => {
    table.add('POST', path, async (req, res) => {
      try {
        await ingest(deps, req, res);
      } catch (err) {
        deps.metrics.ingestRequests.inc({ status: err instanceof ApiError ? err.status : 500 });
        if (challenge !== undefined && err instanceof ApiError && err.status === 401) {
          req.resume();
          sendJson(res, 401, { id: err.id, message: err.message }, { 'www-authenticate': challenge });
          return;
        }
        throw err;
      }
    });
  };
}

/** The Content-Type's media type, lower-cased, without parameters ('' when none). */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

async function ingest(deps: HttpIngestDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // Who is asking comes before what they sent (Logplex authenticates first): a stranger learns nothing.
  const info = await authenticate(deps.tokens, req);
  const type = mediaType(req);
  if (!CONTENT_TYPES.has(type)) {
    throw new ApiError(
      'unsupported_media_type',
      `Content-Type must be application/logplex-1, not ${JSON.stringify(type || '(none)')}`,
    );
  }
  const count = msgCount(req.headers['logplex-msg-count']);
  const body = await readInflated(req);
  const { frames, error } = splitBody(body);
  // A framing error leaves the rest of the body unreadable, so the count cannot be checked.
  if (!error && count !== undefined && count !== frames.length) {
    throw new ApiError('invalid_params', `Logplex-Msg-Count is ${count} but the body has ${frames.length} frames`);
  }
  const report = await deps.acceptor.forToken(
    info,
    frames,
    error ? 1 : 0,
    error && `after frame ${frames.length}: ${error.code}: ${error.message}`,
  );
  if (report.storeFailed) throw new ApiError('unavailable', 'log store unavailable; retry');
  if (report.rejected > 0) {
    deps.metrics.ingestRequests.inc({ status: 400 });
    sendJson(res, 400, {
      id: 'invalid_params',
      message: report.firstError ?? 'bad frames',
      accepted: report.accepted,
      rejected: report.rejected,
      first_error: report.firstError ?? null,
    });
    return;
  }
  deps.metrics.ingestRequests.inc({ status: 204 });
  res.writeHead(204).end();
}

/** Basic `token:t.…` (Heroku's shape: the user is `token`, the password the channel token). */
async function authenticate(tokens: TokenCache, req: IncomingMessage): Promise<TokenInfo> {
  const basic = basicCredentials(req.headers.authorization);
  if (!basic) throw new ApiError('unauthorized', 'missing Authorization: Basic token:<channel token>');
  // Logplex reads only the user `token` as a channel token; any other user is not a token at all.
  if (basic.user !== 'token')
    throw new ApiError('unauthorized', 'Basic user must be "token" (Authorization: Basic token:<channel token>)');
  return channelToken(tokens, basic.password);
}

/** A channel token → its channel and source: 401 when unknown, 503 when the store cannot say. */
export async function channelToken(tokens: TokenCache, token: string): Promise<TokenInfo> {
  let info: TokenInfo | undefined;
  try {
    info = token ? await tokens.resolve(token) : undefined;
  } catch {
    throw new ApiError('unavailable', 'log store unavailable; retry');
  }
  if (!info) throw new ApiError('unauthorized', 'unknown token');
  return info;
}

function msgCount(raw: string | string[] | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^[0-9]{1,9}$/.test(raw.trim()))
    throw new ApiError('invalid_params', 'Logplex-Msg-Count must be a non-negative integer');
  return Number(raw.trim());
}

/** The body, gunzipped when sent so; both the wire and the inflated size are capped (no gzip bombs). */
export async function readInflated(req: IncomingMessage): Promise<Buffer> {
  const raw = await readBody(req, BODY_LIMIT);
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity') return raw;
  if (encoding !== 'gzip')
    throw new ApiError(
      'unsupported_media_type',
      `Content-Encoding ${JSON.stringify(encoding)} is not supported (gzip is)`,
    );
  try {
    return await gunzipAsync(raw, { maxOutputLength: BODY_LIMIT });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new ApiError('payload_too_large', `inflated body exceeds the limit of ${BODY_LIMIT} bytes`);
    throw new ApiError('invalid_params', 'body is not valid gzip');
  }
}
