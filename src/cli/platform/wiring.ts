// How the router and Logplex meet (DESIGN §5), shared by `dev` and `switchyard router`/`logplex`:
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
