// The HTTP contracts the platform commands speak (design.md §Control API, §Logplex API):
// small typed calls over undici. A non-2xx answer becomes an ApiCallError carrying the
// server's `{id, message}`, matched on `id` by the callers.
import { request } from 'undici';

export class ApiCallError extends Error {
  readonly code = 'SY_API_CALL';
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Endpoint {
  /** Base URL, e.g. http://127.0.0.1:8081 */
  url: string;
  /** Bearer token; undefined for `dev` (no auth on loopback). */
  token: string | undefined;
}

const TIMEOUT_MS = 10_000;

export async function call<T>(ep: Endpoint, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (ep.token) headers.authorization = `Bearer ${ep.token}`;
  let res;
  try {
    res = await request(new URL(path, ep.url), {
      method: method as 'GET',
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'ERR';
    throw new ApiCallError(0, 'unreachable', `${method} ${new URL(path, ep.url).href}: ${code}`);
  }
  const text = await res.body.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (res.statusCode >= 200 && res.statusCode < 300) return parsed as T;
  const e = (parsed ?? {}) as { id?: string; message?: string };
  throw new ApiCallError(res.statusCode, e.id ?? 'http_' + res.statusCode, e.message ?? `HTTP ${res.statusCode}`);
}

export interface AppView {
  name: string;
  channel: string | null;
}

export interface ChannelView {
  channel_id: number;
  name: string;
  tokens: { name: string; token: string }[];
}

export interface ChannelRef {
  name: string;
  channel_id: number;
}

/** Control API (design.md §Control API). */
export const control = {
  getApp: (ep: Endpoint, app: string) => call<AppView>(ep, 'GET', `/v1/apps/${encodeURIComponent(app)}`),
  putApp: (ep: Endpoint, app: string) => call<AppView>(ep, 'PUT', `/v1/apps/${encodeURIComponent(app)}`, {}),
  putDyno: (
    ep: Endpoint,
    app: string,
    dyno: string,
    body: { host: string; port: number; ttl_s: number; state: 'up' | 'starting' | 'crashed' },
  ) =>
    call<{ lease_expires_at: number }>(
      ep,
      'PUT',
      `/v1/apps/${encodeURIComponent(app)}/dynos/${encodeURIComponent(dyno)}`,
      body,
    ),
  deleteDyno: (ep: Endpoint, app: string, dyno: string) =>
    call<unknown>(ep, 'DELETE', `/v1/apps/${encodeURIComponent(app)}/dynos/${encodeURIComponent(dyno)}`),
};

/** Logplex API (design.md §Logplex API). */
export const logplex = {
  createChannel: (ep: Endpoint, name: string, tokens: readonly string[]) =>
    call<ChannelView>(ep, 'POST', '/v2/channels', { name, tokens: tokens.map((n) => ({ name: n })) }),
  deleteChannel: (ep: Endpoint, id: number | string) =>
    call<unknown>(ep, 'DELETE', `/v2/channels/${encodeURIComponent(String(id))}`),
  getChannel: (ep: Endpoint, id: number | string) =>
    call<ChannelView>(ep, 'GET', `/v2/channels/${encodeURIComponent(String(id))}`),
  /** Every channel, or those named `name` (a channel is named after its app). */
  listChannels: (ep: Endpoint, name?: string) =>
    call<ChannelRef[]>(ep, 'GET', '/v2/channels' + (name ? `?name=${encodeURIComponent(name)}` : '')),
  createSession: (ep: Endpoint, body: SessionRequest) =>
    call<{ id: string; url: string }>(ep, 'POST', '/v2/sessions', body),
};

/** The body of `POST /v2/sessions` (design.md §Logplex API). */
export interface SessionRequest {
  channel_id: number;
  num: number;
  tail: boolean;
  dyno?: string;
  source?: string;
  q?: string;
  since?: string;
  until?: string;
  since_id?: number;
  format?: 'json';
}

/** The channel's token of that name (`app`, `heroku`). */
export function tokenNamed(c: ChannelView, name: string): string | undefined {
  return c.tokens.find((t) => t.name === name)?.token;
}
