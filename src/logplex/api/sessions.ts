// Tail sessions (design.md §Tail sessions): POST /v2/sessions makes an unguessable session URL, valid for 5
// minutes until opened; GET /sessions/:id opens it once, as a text/plain stream or a WebSocket
// on the same URL: up to `num` history lines, oldest first, then live lines if `tail`.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { ApiError, readJsonObject, rejectUnknown, sendJson, type ApiRoutes } from '../../shared/json-api';
import type { Logger } from '../../shared/log';
import { errorFields } from '../../shared/log';
import type { LogLine } from '../lines';
import type { LogplexMetrics } from '../metrics';
import { authed, type RouteModule, type UpgradeHandler } from '../server';
import type { LogStore, SessionRecord } from '../store/index';
import type { TailHub } from '../tail/hub';
import { TailSession, type TailSink } from '../tail/session';
import { textSink, webSocketSink } from '../tail/sinks';
import { boolField, intField, nameField } from './validate';

/** A session URL is a capability: valid this long until opened (design.md §Tail sessions). */
export const SESSION_TTL_MS = 5 * 60_000;
const PS_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export interface SessionDeps {
  store: LogStore;
  hub: TailHub;
  metrics: LogplexMetrics;
  log: Logger;
  apiToken: string | undefined;
  bufferLines: number;
  maxNum: number;
  formatTime: (ms: number) => string;
  /** Default SESSION_TTL_MS; tests shorten it. */
  ttlMs?: number;
}

/** Open sessions on this node, so close() can end them and metrics can count their buffers. */
export class SessionRegistry {
  readonly open = new Set<TailSession>();
  #ends = new Set<() => void>();
  #deps: SessionDeps;
  constructor(deps: SessionDeps) {
    this.#deps = deps;
  }

  get buffered(): number {
    let n = 0;
    for (const s of this.open) n += s.buffered;
    return n;
  }

  routes(): RouteModule {
    return (table: ApiRoutes) => {
      table.add(
        'POST',
        '/v2/sessions',
        authed(this.#deps.apiToken, (req, res) => this.#create(req, res)),
      );
      table.add('GET', '/sessions/:id', async (req, res, p) => {
        // A HEAD (link previews, probes) must not use up the one-time URL.
        if (req.method === 'HEAD') throw new ApiError('method_not_allowed', 'HEAD would open the session; use GET');
        const rec = await this.#deps.store.takeSession(p.id!).catch(() => {
          throw new ApiError('unavailable', 'log store unavailable; retry');
        });
        if (!rec) throw new ApiError('not_found', 'no such session (unknown, expired, or already opened)');
        res.writeHead(200, {
          'content-type': 'text/plain; charset=utf-8',
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        });
        res.flushHeaders();
        await this.#run(rec, textSink(res), 'text', () => res.end());
      });
    };
  }

  /** WebSocket on the same URL as the text stream. */
  upgrade(): UpgradeHandler {
    const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
    return (req, socket, head) => {
      const m = /^\/sessions\/([A-Za-z0-9_-]{1,128})$/.exec((req.url ?? '').split('?', 1)[0]!);
      if (!m) return false;
      // Only a WebSocket handshake may use up the session; ws answers anything else 400.
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
        socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        return true;
      }
      this.#deps.store.takeSession(m[1]!).then(
        (rec) => {
          if (!rec) {
            socket.end(
              'HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: 18\r\n\r\nno such session.\r\n',
            );
            return;
          }
          wss.handleUpgrade(req, socket, head, (ws) => {
            ws.on('error', () => ws.terminate());
            void this.#run(rec, webSocketSink(ws, socket as Socket), 'websocket', () =>
              ws.close(1001, 'server shutting down'),
            );
          });
        },
        (err: unknown) => {
          this.#deps.log.warn('session open failed', errorFields(err));
          socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        },
      );
      return true;
    };
  }

  /** Ends every open session (node shutdown). */
  closeAll(): void {
    for (const end of this.#ends) end();
    this.#ends.clear();
  }

  async #create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonObject(req);
    rejectUnknown(body, ['channel_id', 'num', 'tail', 'dyno', 'ps', 'source']);
    const channel = intField(body, 'channel_id', { min: 1, max: Number.MAX_SAFE_INTEGER });
    const num = intField(body, 'num', { min: 0, max: this.#deps.maxNum, def: Math.min(100, this.#deps.maxNum) });
    const tail = boolField(body, 'tail', false);
    const dyno = psField(body, 'dyno');
    const ps = psField(body, 'ps');
    if (dyno !== undefined && ps !== undefined && dyno !== ps)
      throw new ApiError('invalid_params', '"ps" is an alias of "dyno"; give one, or the same value');
    const source = nameField(body, 'source', false);
    if (!(await this.#deps.store.getChannel(channel))) throw new ApiError('not_found', `no channel ${channel}`);
    const id = randomBytes(24).toString('base64url');
    const rec: SessionRecord = {
      channel,
      num,
      tail,
      ...((dyno ?? ps) ? { ps: dyno ?? ps } : {}),
      ...(source ? { source } : {}),
    };
    await this.#deps.store.putSession(id, rec, this.#deps.ttlMs ?? SESSION_TTL_MS);
    sendJson(res, 201, { id, url: `http://${req.headers.host ?? 'localhost'}/sessions/${id}` });
  }

  async #run(rec: SessionRecord, sink: TailSink, transport: 'text' | 'websocket', kill: () => void): Promise<void> {
    const { metrics } = this.#deps;
    const session = new TailSession({
      sink,
      filter: { ps: rec.ps, source: rec.source },
      bufferLines: this.#deps.bufferLines,
      formatTime: this.#deps.formatTime,
      counters: { sent: (n) => metrics.tailLinesSent.inc(n), dropped: (n) => metrics.tailLinesDropped.inc(n) },
    });
    // Subscribe before reading history so no line falls between the two; the session drops duplicates by seq.
    const unsubscribe = rec.tail
      ? this.#deps.hub.subscribe(rec.channel, (lines) => session.deliver(lines))
      : () => undefined;
    this.open.add(session);
    this.#ends.add(kill);
    metrics.sessionsOpened.inc({ transport });
    metrics.sessionsActive.inc({ transport });
    sink.onClose(() => {
      unsubscribe();
      this.open.delete(session);
      this.#ends.delete(kill);
      metrics.sessionsActive.dec({ transport });
    });
    let history: LogLine[];
    try {
      history = await this.#deps.store.history(rec.channel, rec.num);
    } catch (err) {
      metrics.storeErrors.inc({ op: 'history' });
      this.#deps.log.warn('session history failed', errorFields(err));
      history = [];
    }
    session.start(history);
    if (!rec.tail) session.end();
  }
}

function psField(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !PS_RE.test(v))
    throw new ApiError('invalid_params', `"${field}" must be a dyno name or prefix (1-64 of [A-Za-z0-9_.-])`);
  return v;
}
