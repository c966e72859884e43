// How the router and Logplex meet (design.md §How the parts meet), shared by `dev` and `switchyard router`/`logplex`:
// a new app gets a Logplex channel with tokens `app` (its dynos) and `heroku` (the platform and
// the router). The channel is named after the app, so `GET /v2/channels?name=APP` finds it.
import type { OnAppCreated } from '../../router/admin/api';
import { logplex, tokenNamed, type Endpoint } from './api';

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
