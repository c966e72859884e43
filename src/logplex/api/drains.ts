// /v2/channels/:id/drains (DESIGN §4): create (422 invalid URL, 409 duplicate), list, show
// with delivery status, delete. Same auth and strictness as the channel routes.
import { ApiError, readJsonObject, rejectUnknown, sendJson } from '../../shared/json-api';
import type { RouteTable } from '../../shared/json-api';
import { canonicalUrl, validateDrainUrl } from '../drains/index';
import type { DrainRecord, DrainStatus, DrainStore } from '../drains/store/index';
import { authed, type RouteModule } from '../server';
import type { LogStore } from '../store/index';
import { channelIdParam } from './validate';

export interface DrainRoutesDeps {
  store: LogStore;
  drains: DrainStore;
  apiToken: string | undefined;
  /** A drain was created: start delivering it now rather than at the next scheduler tick. */
  onCreate?: () => void;
}

/** What POST returns and lists show: Logplex's `{id, token, url}`. */
export const drainView = (d: DrainRecord): Record<string, unknown> => ({ id: d.id, token: d.token, url: d.url });

/** Sums from seqs: delivered + dropped + lost + backlog = lines appended since the drain was created. */
function statusView(s: DrainStatus): Record<string, unknown> {
  return {
    delivered: s.delivered,
    retried: s.retried,
    dropped: s.dropped,
    lost: s.lost,
    backlog: s.backlog,
    position: s.position,
    last_success_at: s.lastSuccessAt,
    last_error: s.lastError,
    owner: s.owner,
    epoch: s.epoch,
  };
}

const drainIdParam = (raw: string): number => {
  const n = /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n)) throw new ApiError('not_found', `no drain ${raw}`);
  return n;
};

export function drainRoutes(deps: DrainRoutesDeps): RouteModule {
  const { store, drains, apiToken } = deps;
  const channel = async (raw: string): Promise<number> => {
    const id = channelIdParam(raw);
    if (!(await store.getChannel(id))) throw new ApiError('not_found', `no channel ${raw}`);
    return id;
  };
  const drain = async (rawChannel: string, rawDrain: string): Promise<DrainRecord> => {
    const c = await channel(rawChannel);
    const d = await drains.get(c, drainIdParam(rawDrain));
    if (!d) throw new ApiError('not_found', `no drain ${rawDrain} on channel ${c}`);
    return d;
  };
  return (table: RouteTable) => {
    table.add(
      'POST',
      '/v2/channels/:id/drains',
      authed(apiToken, async (req, res, p) => {
        const c = await channel(p.id!);
        const body = await readJsonObject(req);
        rejectUnknown(body, ['url']);
        const url = canonicalUrl(validateDrainUrl(body.url));
        const d = await drains.create(c, url);
        if (d === 'conflict') throw new ApiError('conflict', `channel ${c} already drains to ${url}`);
        deps.onCreate?.();
        sendJson(res, 201, drainView(d));
      }),
    );
    table.add(
      'GET',
      '/v2/channels/:id/drains',
      authed(apiToken, async (_req, res, p) => {
        sendJson(res, 200, (await drains.list(await channel(p.id!))).map(drainView));
      }),
    );
    table.add(
      'GET',
      '/v2/channels/:id/drains/:drain',
      authed(apiToken, async (_req, res, p) => {
        const d = await drain(p.id!, p.drain!);
        const status = await drains.status(d.channel, d.id);
        sendJson(res, 200, { ...drainView(d), created_at: d.createdAt, status: statusView(status) });
      }),
    );
    table.add(
      'DELETE',
      '/v2/channels/:id/drains/:drain',
      authed(apiToken, async (_req, res, p) => {
        const d = await drain(p.id!, p.drain!);
        await drains.remove(d.channel, d.id);
        sendJson(res, 200, { id: d.id, deleted: true });
      }),
    );
  };
}
