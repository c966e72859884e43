// One HTTP POST of a drain batch, shared by https:// and the OTLP/HTTP drains (design.md §Drain
// delivery): the operator's headers, then ours, then the signature of this send (./sign.ts).
// 2xx: accepted. 429, 5xx and network errors: retry the byte-identical body, no sooner than the
// receiver's Retry-After (RFC 9110 §10.2.3). Any other status: refused for good. Certificates
// are verified against the system roots plus an optional extra CA.
import { rootCertificates } from 'node:tls';
import { Client } from 'undici';
import { signedHeaders } from './sign';
import type { DrainTarget, Outcome, TransportOptions } from './transport';
import { failure } from './transport';

/** The start of a receiver's body kept for the drain test endpoint; the rest is read and dropped. */
const REPLY_BYTES = 1024;
/** A Retry-After longer than this is capped: the backoff cap applies to a receiver's wish too. */
const MAX_RETRY_AFTER_MS = 300_000;

export class DrainPoster {
  #client: Client | undefined;
  #origin: string;
  #connect: Client.Options;
  #target: DrainTarget;
  readonly path: string;
  #base: Record<string, string>;

  constructor(target: DrainTarget, origin: string, path: string, ours: Record<string, string>, opts: TransportOptions) {
    this.#target = target;
    this.#origin = origin;
    this.path = path;
    // The operator's headers cannot replace ours (validated at creation; ours win here as well).
    this.#base = { ...target.headers, ...ours };
    const ca = opts.ca ? [...rootCertificates, opts.ca.toString()] : undefined;
    this.#connect = {
      connect: { timeout: opts.connectTimeoutMs, rejectUnauthorized: true, ...(ca ? { ca } : {}) },
      headersTimeout: opts.responseTimeoutMs,
      bodyTimeout: opts.responseTimeoutMs,
      keepAliveTimeout: 4_000,
      pipelining: 1,
    };
  }

  async post(body: Buffer, headers: Record<string, string>, signal?: AbortSignal): Promise<Outcome> {
    const secret = this.#target.secret;
    try {
      this.#client ??= new Client(this.#origin, this.#connect);
      const res = await this.#client.request({
        method: 'POST',
        path: this.path,
        headers: { ...this.#base, ...headers, ...(secret ? signedHeaders(secret, body) : {}) },
        body,
        ...(signal ? { signal } : {}),
      });
      const reply = await readReply(res.body);
      const status = res.statusCode;
      if (status >= 200 && status < 300) return { kind: 'ok', status, reply };
      const code = `HTTP_${status}`;
      const message = `${this.#target.url.host} answered ${status}`;
      if (status === 429 || status >= 500 || status < 200) {
        const retryAfterMs = retryAfter(res.headers['retry-after']);
        return { kind: 'retry', code, message, status, reply, ...(retryAfterMs ? { retryAfterMs } : {}) };
      }
      return { kind: 'reject', code, message, status, reply };
    } catch (err) {
      // A fresh client for the next attempt: a client whose connect failed (TLS, refused,
      // timeout) does not always settle the next request on its own.
      const old = this.#client;
      this.#client = undefined;
      void old?.destroy().catch(() => undefined);
      return failure(err);
    }
  }

  async close(): Promise<void> {
    await this.#client?.destroy().catch(() => undefined);
    this.#client = undefined;
  }
}

/** The first REPLY_BYTES of the body as text; reading the rest (bounded by bodyTimeout) frees the connection. */
async function readReply(body: AsyncIterable<Buffer> & { dump(o: { limit: number }): Promise<void> }): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      if (size < REPLY_BYTES) parts.push(chunk.subarray(0, REPLY_BYTES - size));
      size += chunk.length;
      if (size > 64 * 1024) break;
    }
  } catch {
    // A body cut short still leaves the status, which is what decides.
  }
  await body.dump({ limit: 0 }).catch(() => undefined);
  return Buffer.concat(parts).toString('utf8');
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms; undefined when absent or unreadable. */
export function retryAfter(raw: string | string[] | undefined, nowMs = Date.now()): number | undefined {
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (!v) return undefined;
  const ms = /^\s*[0-9]{1,9}\s*$/.test(v) ? Number(v) * 1000 : Date.parse(v) - nowMs;
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}
