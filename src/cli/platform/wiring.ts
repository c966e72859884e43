// How the router and Logplex meet (design.md §How the parts meet), shared by `dev` and `switchyard router`/`logplex`:
// a new app gets a Logplex channel with tokens `app` (its dynos) and `heroku` (the platform and
// the router). The channel is named after the app, so `GET /v2/channels?name=APP` finds it.
import type { OnAppCreated, OnAppDeleted } from '../../router/admin/api';
import { ApiCallError, logplex, tokenNamed, type Endpoint } from './api';

export const CHANNEL_TOKENS = ['app', 'heroku'] as const;

/** The control API's hook: POST /v2/channels on Logplex; the `heroku` token becomes the router token. */
export function channelHook(ep: Endpoint): OnAppCreated {
  return async (app) => {
    const c = await logplex.createChannel(ep, app, CHANNEL_TOKENS);
    const routerToken = tokenNamed(c, 'heroku');
    if (!routerToken) throw Object.assign(new Error('Logplex returned no heroku token'), { code: 'SY_NO_TOKEN' });
    return { channel: String(c.channel_id), router_token: routerToken };
  };
}

/** The control API's DELETE hook: DELETE /v2/channels/:id on Logplex (its drains go with it); gone already is fine. */
export function channelDeleteHook(ep: Endpoint): OnAppDeleted {
  return async (_app, channel) => {
    try {
      await logplex.deleteChannel(ep, channel);
    } catch (err) {
      if (err instanceof ApiCallError && err.status === 404) return;
      throw err;
    }
  };
}

/** How long `switchyard router` waits for LOGPLEX_URL to answer as Logplex before it refuses to start. */
export const LOGPLEX_PROBE = { tries: 10, intervalMs: 500 } as const;

/**
 * Asks LOGPLEX_URL what Logplex would answer (`GET /v2/channels?name=…`, with the API token): undefined
 * when it answers as Logplex (a 503 counts: Logplex is there, its store is not), else why not.
 */
export async function probeLogplex(ep: Endpoint, probe = LOGPLEX_PROBE): Promise<string | undefined> {
  let why = '';
  for (let i = 0; i < probe.tries; i++) {
    if (i) await new Promise((r) => setTimeout(r, probe.intervalMs));
    try {
      const list = await logplex.listChannels(ep, 'switchyard-probe');
      if (Array.isArray(list)) return undefined;
      why = 'it answered, but not as Logplex';
    } catch (err) {
      const e = err as ApiCallError;
      if (e.status >= 500) return undefined;
      why =
        e.status === 0
          ? `nothing answers (${e.message})`
          : e.status === 401
            ? 'it refuses SWITCHYARD_API_TOKEN (router and Logplex need the same token)'
            : `it answered HTTP ${e.status}: not a Logplex`;
      if (e.status === 401) break;
    }
  }
  return why;
}
