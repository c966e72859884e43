// https:// (and http://) drains (design.md §Drain delivery): POST a batch of logplex-1 frames
// with Logplex-Msg-Count, Logplex-Frame-Id (the same on every retry of the batch) and
// Logplex-Drain-Token, signed when the drain has a secret (./http-post.ts does the POST and
// decides what the answer means).
import { frameBatch } from './frames';
import { DrainPoster } from './http-post';
import type { DrainLine } from './store/index';
import type { DrainKind, DrainTarget, Outcome, Payload, Transport, TransportOptions } from './transport';

export const USER_AGENT = 'switchyard-logplex';

export class HttpsTransport implements Transport {
  #poster: DrainPoster;

  constructor(target: DrainTarget, opts: TransportOptions) {
    const u = target.url;
    const ours: Record<string, string> = {
      'content-type': 'application/logplex-1',
      'user-agent': USER_AGENT,
      'logplex-drain-token': target.token,
    };
    // Credentials in the URL (https://user:pass@host/) become Basic auth, as Logplex does.
    if (u.username || u.password) {
      const cred = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
      ours.authorization = `Basic ${Buffer.from(cred).toString('base64')}`;
    }
    this.#poster = new DrainPoster(target, u.origin, (u.pathname || '/') + u.search, ours, opts);
  }

  encode(lines: readonly DrainLine[], frameId: string): Payload {
    return { body: frameBatch(lines, 'logplex', 'host'), count: lines.length, frameId };
  }

  send(payload: Payload, signal?: AbortSignal): Promise<Outcome> {
    return this.#poster.post(
      payload.body,
      { 'logplex-msg-count': String(payload.count), 'logplex-frame-id': payload.frameId },
      signal,
    );
  }

  close(): Promise<void> {
    return this.#poster.close();
  }
}

/** The registry's row for https:// and http:// (./index.ts). */
export const HTTPS_DRAIN: DrainKind = {
  schemes: ['https:', 'http:'],
  http: true,
  problem: (u) => (u.hash ? 'a fragment is not allowed' : undefined),
  canonical: (u) => u.href,
  create: (t, o) => new HttpsTransport(t, o),
};
