// /v2/channels and tokens (design.md §Logplex API), shaped after Heroku's Logplex v2 API.
import { ApiError, readJsonObject, rejectUnknown, sendJson } from '../../shared/json-api';
import type { RouteTable } from '../../shared/json-api';
import { authed, type RouteModule } from '../server';
import type { Channel, LogStore } from '../store/index';
import type { TokenCache } from '../tokens';
import { channelIdParam, nameField, tokenNames } from './validate';

export interface ChannelRoutesDeps {
  store: LogStore;
  tokens: TokenCache;
  apiToken: string | undefined;
  /** The channel's drains as GET /v2/channels/:id shows them (the drains module fills this in). */
  drainsOf?: (channel: number) => Promise<unknown[]>;
}

/** GET /v2/channels lists at most this many channels (oldest first). */
export const LIST_LIMIT = 10_000;

export function channelView(c: Channel, drains: unknown[]): Record<string, unknown> {
  return { channel_id: c.id, name: c.name, tokens: c.tokens.map((t) => ({ name: t.name, token: t.token })), drains };
}

export function channelRoutes(deps: ChannelRoutesDeps): RouteModule {
  const { store, apiToken } = deps;
  const find = async (raw: string): Promise<Channel> => {
    const c = await store.getChannel(channelIdParam(raw));
    if (!c) throw new ApiError('not_found', `no channel ${raw}`);
    return c;
  };
  return (table: RouteTable) => {
    table.add(
      'POST',
      '/v2/channels',
      authed(apiToken, async (req, res) => {
        const body = await readJsonObject(req);
        rejectUnknown(body, ['name', 'tokens']);
        const name = nameField(body, 'name', true);
        const c = await store.createChannel(name, tokenNames(body));
        sendJson(res, 201, channelView(c, []));
      }),
    );
    table.add(
      'GET',
      '/v2/channels',
      authed(apiToken, async (req, res) => {
        const q = new URL(req.url ?? '/', 'http://x').searchParams;
        const unknown = [...q.keys()].find((k) => k !== 'name');
        if (unknown !== undefined)
          throw new ApiError('invalid_params', `unknown query parameter "${unknown}"; allowed: name`);
        const name = q.get('name');
        const all = await store.listChannels(LIST_LIMIT);
        sendJson(
          res,
          200,
          all.filter((c) => name === null || c.name === name).map((c) => ({ channel_id: c.id, name: c.name })),
        );
      }),
    );
    table.add(
      'GET',
      '/v2/channels/:id',
      authed(apiToken, async (_req, res, p) => {
        const c = await find(p.id!);
        sendJson(res, 200, channelView(c, (await deps.drainsOf?.(c.id)) ?? []));
      }),
    );
    table.add(
      'DELETE',
      '/v2/channels/:id',
      authed(apiToken, async (_req, res, p) => {
        const id = channelIdParam(p.id!);
        if (!(await store.deleteChannel(id))) throw new ApiError('not_found', `no channel ${p.id}`);
        deps.tokens.invalidateChannel(id);
        sendJson(res, 200, { channel_id: id, deleted: true });
      }),
    );
    table.add(
      'POST',
      '/v2/channels/:id/tokens',
      authed(apiToken, async (req, res, p) => {
        const id = channelIdParam(p.id!);
        const body = await readJsonObject(req);
        rejectUnknown(body, ['name']);
        // Logplex answers a token request without a name 422 (a well-formed body it cannot act on).
        if (body.name === undefined) throw new ApiError('unprocessable_entity', '"name" is required');
        const tok = await store.addToken(id, nameField(body, 'name', true));
        if (!tok) throw new ApiError('not_found', `no channel ${p.id}`);
        sendJson(res, 201, tok);
      }),
    );
  };
}
