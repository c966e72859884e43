// POST /v2/reseed (design.md §Logplex API): this node writes the channels, tokens and drains it
// knows back into a store that came back empty (`switchyard logplex --reseed`, store/recovery.ts).
import { ApiError, sendJson, type ApiRoutes } from '../../shared/json-api';
import { authed, type RouteModule } from '../server';
import type { StoreRecovery } from '../store/recovery';

export function reseedRoutes(deps: { recovery: StoreRecovery | undefined; apiToken: string | undefined }): RouteModule {
  return (table: ApiRoutes) => {
    table.add(
      'POST',
      '/v2/reseed',
      authed(deps.apiToken, async (_req, res) => {
        const done = await deps.recovery?.reseed();
        if (!done) throw new ApiError('conflict', 'the log store holds what this node knows: nothing to reseed');
        sendJson(res, 200, done);
      }),
    );
  };
}
