// /v2/channels/:id/drains (design.md §Logplex API): create (422 invalid URL or over the
// per-channel limit, 409 duplicate), list, show with delivery status, delete, rotate the
// signing secret, and send one test line now. Same auth and strictness as the channel routes.
// URLs and header values are masked in every answer; the secret is shown only when made.
import { ApiError, readJsonObject, rejectUnknown, sendJson } from '../../shared/json-api';
import type { ApiRoutes } from '../../shared/json-api';
import { formatTimestamp } from '../../shared/syslog/rfc5424';
import { canonicalUrl, createTransport, drainKind, maskUrl, targetOf, validateDrainUrl } from '../drains/index';
import { newDrainSecret } from '../drains/sign';
import type { DrainRecord, DrainStatus, DrainStore } from '../drains/store/index';
import type { TransportOptions } from '../drains/transport';
import { authed, type RouteModule } from '../server';
import type { LogStore } from '../store/index';
import { drainExtras } from './drain-input';
import { channelIdParam } from './validate';

export interface DrainRoutesDeps {
  store: LogStore;
  drains: DrainStore;
  apiToken: string | undefined;
  /** LOGPLEX_MAX_DRAINS_PER_CHANNEL. */
  maxDrains: number;
  /** Connect/response timeouts and CA of the test endpoint's one send. */
  transport: TransportOptions;
  /** A drain was created: start delivering it now rather than at the next scheduler tick. */
  onCreate?: () => void;
}

const MASK = '***';

/** What lists and GET show: Logplex's `{id, token, url}` with credentials masked, plus our fields. */
export const drainView = (d: DrainRecord): Record<string, unknown> => ({
  id: d.id,
  token: d.token,
  url: maskUrl(d.url),
  ...(d.headers ? { headers: Object.fromEntries(Object.keys(d.headers).map((k) => [k, MASK])) } : {}),
  ...(d.filter ? { filter: d.filter } : {}),
  signed: Boolean(d.secret),
});

/** Sums from seqs: delivered + dropped + lost + backlog = lines appended since the drain was created. */
function statusView(s: DrainStatus): Record<string, unknown> {
  return {
    delivered: s.delivered,
    retried: s.retried,
    dropped: s.dropped,
    filtered: s.filtered,
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
  const channel = async (raw: string): Promise<{ id: number; name: string }> => {
    const id = channelIdParam(raw);
    const c = await store.getChannel(id);
    if (!c) throw new ApiError('not_found', `no channel ${raw}`);
    return c;
  };
  const drain = async (rawChannel: string, rawDrain: string): Promise<DrainRecord> => {
    const c = (await channel(rawChannel)).id;
    const d = await drains.get(c, drainIdParam(rawDrain));
    if (!d) throw new ApiError('not_found', `no drain ${rawDrain} on channel ${c}`);
    return d;
  };
  return (table: ApiRoutes) => {
    table.add(
      'POST',
      '/v2/channels/:id/drains',
      authed(apiToken, async (req, res, p) => {
        const c = await channel(p.id!);
        const body = await readJsonObject(req);
        rejectUnknown(body, ['url', 'headers', 'filter']);
        const u = validateDrainUrl(body.url);
        const http = drainKind(u)!.http;
        const extras = drainExtras(body, http);
        // Checked before the create, not inside it: two racing creates may both pass (design.md §Drains).
        if ((await drains.list(c.id)).length >= deps.maxDrains)
          throw new ApiError(
            'unprocessable_entity',
            `channel ${c.id} already has ${deps.maxDrains} drains (the limit)`,
          );
        const secret = http ? newDrainSecret() : undefined;
        const d = await drains.create(c.id, canonicalUrl(u), { ...extras, app: c.name, ...(secret ? { secret } : {}) });
        if (d === 'conflict') throw new ApiError('conflict', `channel ${c.id} already drains to ${maskUrl(u.href)}`);
        deps.onCreate?.();
        sendJson(res, 201, { ...drainView(d), ...(secret ? { secret } : {}) });
      }),
    );
    table.add(
      'GET',
      '/v2/channels/:id/drains',
      authed(apiToken, async (_req, res, p) => {
        sendJson(res, 200, (await drains.list((await channel(p.id!)).id)).map(drainView));
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
    table.add(
      'POST',
      '/v2/channels/:id/drains/:drain/secret',
      authed(apiToken, async (req, res, p) => {
        rejectUnknown(await readJsonObject(req), []);
        const d = await drain(p.id!, p.drain!);
        if (!drainKind(new URL(d.url))?.http)
          throw new ApiError('unprocessable_entity', 'only HTTP and OTLP drains are signed');
        const secret = newDrainSecret();
        if (!(await drains.update(d.channel, d.id, { secret }))) throw new ApiError('not_found', `no drain ${d.id}`);
        // The runner holding the drain restarts with the new secret at its next lease renewal.
        deps.onCreate?.();
        sendJson(res, 200, { id: d.id, secret });
      }),
    );
    table.add(
      'POST',
      '/v2/channels/:id/drains/:drain/test',
      authed(apiToken, async (req, res, p) => {
        rejectUnknown(await readJsonObject(req), []);
        const d = await drain(p.id!, p.drain!);
        sendJson(res, 200, await testDelivery(d, deps.transport));
      }),
    );
  };
}

/** One test line through a fresh transport (not the runner's: its batch in flight is not disturbed). */
async function testDelivery(d: DrainRecord, opts: TransportOptions): Promise<Record<string, unknown>> {
  const transport = createTransport(targetOf(d), opts);
  try {
    const line = {
      seq: 0,
      time: formatTimestamp(Date.now()),
      pri: 16 * 8 + 6,
      source: 'heroku',
      ps: 'logplex',
      msg: `Test line from Switchyard for drain ${d.id}`,
    };
    const out = await transport.send(transport.encode([line], `test-${d.id}-${Date.now()}`));
    return {
      id: d.id,
      delivered: out.kind === 'ok',
      outcome: out.kind,
      ...(out.kind !== 'ok' ? { code: out.code, message: out.message } : {}),
      ...(out.status !== undefined ? { status: out.status } : {}),
      ...(out.reply !== undefined ? { reply: out.reply } : {}),
    };
  } finally {
    await transport.close();
  }
}
