// Tail sessions (design.md §Tail sessions): POST /v2/sessions makes an unguessable session URL,
// valid for 5 minutes until opened; GET /sessions/:id opens it once, as a text/plain stream, a
// Server-Sent Events stream (`Accept: text/event-stream`, each line with its stream id, and
// `Last-Event-ID` to resume) or a WebSocket on the same URL: the history (the last `num` matching
// lines, or every line after the resume id), then live lines if `tail`.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { ApiError, readJsonObject, sendJson, type RouteTable } from '../../shared/json-api';
import type { Logger } from '../../shared/log';
import { errorFields } from '../../shared/log';
import { resumeGapLine, resumeResetLine, type NewLine } from '../lines';
import type { LogplexMetrics } from '../metrics';
import { authed, type RouteModule, type UpgradeHandler } from '../server';
import type { LogStore, SessionRecord } from '../store/index';
import { afterId, newestMatching, type History } from '../tail/history';
import type { TailHub } from '../tail/hub';
import { parseStreamId, positionEvent, renderer, type TailFraming } from '../tail/render';
import { TailSession, type TailSink } from '../tail/session';
import { textSink, webSocketSink } from '../tail/sinks';
import { queryOf, sessionRecord } from './session-fields';

/** A session URL is a capability: valid this long until opened (design.md §Tail sessions). */
export const SESSION_TTL_MS = 5 * 60_000;

export interface SessionDeps {
  store: LogStore;
  hub: TailHub;
  metrics: LogplexMetrics;
  log: Logger;
  apiToken: string | undefined;
  bufferLines: number;
  maxNum: number;
  formatTime: (ms: number) => string;
  /** Base of session URLs (LOGPLEX_PUBLIC_URL, or the listener once it listens). */
  publicUrl: () => string;
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
    return (table: RouteTable) => {
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
        // Server-Sent Events when asked for (WHATWG HTML §9.2): a client's Last-Event-ID resumes after that line.
        const sse = (req.headers.accept ?? '').includes('text/event-stream');
        const last = req.headers['last-event-id'];
        if (sse && typeof last === 'string' && last.trim() !== '') {
          const id = parseStreamId(last.trim());
          if (id === undefined) throw new ApiError('invalid_params', 'Last-Event-ID must be a stream id (digits)');
          rec.sinceId = id;
        }
        res.writeHead(200, {
          'content-type': sse
            ? 'text/event-stream; charset=utf-8'
            : rec.format === 'json'
              ? 'application/x-ndjson; charset=utf-8'
              : 'text/plain; charset=utf-8',
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        });
        res.flushHeaders();
        await this.#run(rec, textSink(res), sse ? 'sse' : 'text', () => res.end());
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
    const rec = sessionRecord(await readJsonObject(req), this.#deps.maxNum);
    if (!(await this.#deps.store.getChannel(rec.channel))) throw new ApiError('not_found', `no channel ${rec.channel}`);
    const id = randomBytes(24).toString('base64url');
    await this.#deps.store.putSession(id, rec, this.#deps.ttlMs ?? SESSION_TTL_MS);
    // The URL comes from configuration, never from the request's Host (which any client sets).
    sendJson(res, 201, { id, url: `${this.#deps.publicUrl().replace(/\/+$/, '')}/sessions/${id}` });
  }

  async #run(
    rec: SessionRecord,
    sink: TailSink,
    transport: 'text' | 'sse' | 'websocket',
    kill: () => void,
  ): Promise<void> {
    const { metrics } = this.#deps;
    const query = queryOf(rec);
    const framing: TailFraming = transport === 'sse' ? 'sse' : 'plain';
    const session = new TailSession({
      sink,
      query,
      render: renderer(rec.format ?? 'text', framing),
      ...(framing === 'sse' ? { position: positionEvent } : {}),
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
    let history: History;
    const retention = this.#deps.maxNum;
    try {
      if (rec.tail) await this.#deps.hub.listening(rec.channel);
      history =
        rec.sinceId !== undefined
          ? await afterId(this.#deps.store, rec.channel, query, rec.sinceId, retention)
          : await newestMatching(this.#deps.store, rec.channel, query, rec.num, retention);
    } catch (err) {
      metrics.storeErrors.inc({ op: 'history' });
      this.#deps.log.warn('session history failed', errorFields(err));
      history = { lines: [], afterSeq: rec.sinceId ?? 0, lost: 0 };
    }
    const preface: NewLine[] = [];
    if (history.reset) preface.push(resumeResetLine(rec.sinceId ?? 0, this.#deps.formatTime(Date.now())));
    if (history.lost > 0) {
      metrics.tailResumeLost.inc(history.lost);
      const now = this.#deps.formatTime(Date.now());
      preface.push(resumeGapLine(history.lost, rec.sinceId ?? 0, now));
    }
    session.start(history.lines, history.afterSeq, preface, history.position);
    if (!rec.tail) session.end();
  }
}
