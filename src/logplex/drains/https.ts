// https:// (and http://) drains (design.md §Drains): POST a batch of logplex-1 frames with
// Logplex-Msg-Count, Logplex-Frame-Id (the same on every retry of the batch) and
// Logplex-Drain-Token. 2xx is success; 429, 5xx and network errors retry the byte-identical
// body; any other 4xx means the receiver will never take it. Certificates are verified
// (Logplex never did): the system roots plus an optional extra CA.
import { Client } from 'undici';
import type { DrainLine } from './store/index';
import { frameBatch } from './frames';
import type { DrainTarget, Outcome, Payload, Transport, TransportOptions } from './transport';
import { failure, trustedCa } from './transport';

export const USER_AGENT = 'switchyard-logplex';

export class HttpsTransport implements Transport {
  #client: Client | undefined;
  #connect: Client.Options;
  #target: DrainTarget;
  #path: string;
  #headers: Record<string, string>;

  constructor(target: DrainTarget, opts: TransportOptions) {
    this.#target = target;
    const u = target.url;
    this.#path = (u.pathname || '/') + u.search;
    this.#headers = {
      'content-type': 'application/logplex-1',
      'user-agent': USER_AGENT,
      'logplex-drain-token': target.token,
    };
    // Credentials in the URL (https://user:pass@host/) become Basic auth, as Logplex does.
    if (u.username || u.password) {
      const cred = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
      this.#headers.authorization = `Basic ${Buffer.from(cred).toString('base64')}`;
    }
    const ca = trustedCa(opts);
    this.#connect = {
      connect: { timeout: opts.connectTimeoutMs, rejectUnauthorized: true, ...(ca ? { ca } : {}) },
      headersTimeout: opts.responseTimeoutMs,
      bodyTimeout: opts.responseTimeoutMs,
      keepAliveTimeout: 4_000,
      pipelining: 1,
    };
  }

  encode(lines: readonly DrainLine[], frameId: string): Payload {
    return { body: frameBatch(lines, 'logplex', 'host'), count: lines.length, frameId };
  }

  async send(payload: Payload, signal?: AbortSignal): Promise<Outcome> {
    try {
      this.#client ??= new Client(this.#target.url.origin, this.#connect);
      const res = await this.#client.request({
        method: 'POST',
        path: this.#path,
        headers: { ...this.#headers, 'logplex-msg-count': String(payload.count), 'logplex-frame-id': payload.frameId },
        body: payload.body,
        ...(signal ? { signal } : {}),
      });
      // The body is not ours to keep; reading it (bounded by bodyTimeout) frees the connection.
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      const s = res.statusCode;
      if (s >= 200 && s < 300) return { kind: 'ok' };
      const code = `HTTP_${s}`;
      const message = `${this.#target.url.host} answered ${s}`;
      return s === 429 || s >= 500 || s < 200 ? { kind: 'retry', code, message } : { kind: 'reject', code, message };
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
