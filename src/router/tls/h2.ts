// HTTP/2 from clients (RFC 9113), on connections whose ALPN chose `h2`: node:http2 frames the
// streams, and each stream enters the same request path as an HTTP/1.1 request, towards the dyno
// as HTTP/1.1 on the same pools (design.md §Request path). The one adapter between the two is
// `asHttp1Request` below; the limits a serious edge sets are named settings (design.md
// §Processes and settings): concurrent streams, header list size, initial window, and a bound
// on stream resets per connection (CVE-2023-44487, "rapid reset").
import {
  constants,
  createServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../../shared/config';
import type { Logger } from '../../shared/log';
import type { TlsMetrics } from '../metrics';

/** How long a flooding session's open streams get after its GOAWAY before the socket is cut. */
const FLOOD_CLOSE_MS = 200;

export interface H2FrontOptions {
  config: Config;
  metrics: TlsMetrics;
  log: Logger;
  /** The request path, as the HTTP/1.1 listener calls it. */
  onRequest: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface H2Front {
  /** Serves HTTP/2 on a TLS connection whose ALPN protocol is `h2`. */
  serve(socket: Duplex): void;
  /** GOAWAY to every session, then closes what is left after `graceMs`. */
  close(graceMs: number): Promise<void>;
}

/** The settings we announce (RFC 9113 §6.5.2), from config. */
export function h2Settings(config: Config) {
  return {
    enablePush: false,
    maxConcurrentStreams: config.ROUTER_H2_MAX_CONCURRENT_STREAMS,
    maxHeaderListSize: config.ROUTER_H2_MAX_HEADER_LIST_BYTES,
    initialWindowSize: config.ROUTER_H2_INITIAL_WINDOW_BYTES,
  };
}

export function createH2Front(o: H2FrontOptions): H2Front {
  const { config, metrics } = o;
  const server = createServer({
    settings: h2Settings(config),
    maxHeaderListPairs: 101,
    // Streams refused past maxConcurrentStreams are cheap; this bounds the rest of a session's state.
    maxSessionMemory: 32,
  });
  // A session silent for longer than any dyno-side timer is closed, as on HTTP/1.1 (server.ts).
  server.setTimeout(Math.max(config.ROUTER_RESPONSE_TIMEOUT_MS, config.ROUTER_IDLE_TIMEOUT_MS) + 1_000);
  server.on('sessionError', () => undefined);
  const sessions = new Set<Http2Session>();
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.on('error', () => session.destroy());
    watchResets(session, config.ROUTER_H2_MAX_RESETS, config.ROUTER_H2_RESET_WINDOW_MS, () => {
      metrics.h2ResetFloods.inc();
      o.log.warn('HTTP/2 client reset streams past the bound; GOAWAY', {
        remote: session.socket?.remoteAddress ?? '',
        max_resets: config.ROUTER_H2_MAX_RESETS,
      });
    });
  });
  server.on('stream', (stream: ServerHttp2Stream) => {
    metrics.live.h2Streams++;
    stream.once('close', () => metrics.live.h2Streams--);
  });
  server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    o.onRequest(asHttp1Request(req), asHttp1Response(res));
  });
  return {
    serve: (socket) => server.emit('connection', socket),
    close: async (graceMs) => {
      for (const s of sessions) s.close();
      const deadline = Date.now() + graceMs;
      while (sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const s of sessions) s.destroy();
    },
  };
}

/**
 * Counts the streams a client abandons before their response ended (RST_STREAM from the client:
 * the `aborted` event); past `max` in `windowMs` the session gets GOAWAY ENHANCE_YOUR_CALM and is
 * closed, its open streams with it (RFC 9113 §5.4.1). Other sessions are untouched.
 */
function watchResets(session: Http2Session, max: number, windowMs: number, onFlood: () => void): void {
  let windowStart = Date.now();
  let resets = 0;
  session.on('stream', (stream: ServerHttp2Stream) => {
    stream.once('aborted', () => {
      const now = Date.now();
      if (now - windowStart > windowMs) {
        windowStart = now;
        resets = 0;
      }
      if (++resets === max + 1 && !session.destroyed) {
        onFlood();
        // GOAWAY first, so the client learns why; no new stream is accepted after it, and what
        // is still open is cut shortly after.
        session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
        session.close();
        setTimeout(() => session.destroy(), FLOOD_CLOSE_MS).unref();
      }
    });
  });
}

/**
 * An HTTP/2 request as the HTTP/1.1 path reads one: pseudo-headers dropped, `:authority` as Host
 * (RFC 9113 §8.3.1), split `cookie` fields joined with "; " (RFC 9113 §8.2.3), and a body without
 * content-length marked chunked so it is streamed to the dyno chunked (RFC 9112 §7.1).
 */
export function asHttp1Request(req: Http2ServerRequest): IncomingMessage {
  const raw = req.rawHeaders;
  const rawOut: string[] = [];
  const headers: Record<string, string | string[]> = {};
  const cookies: string[] = [];
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    if (name === 'cookie') {
      cookies.push(value);
      continue;
    }
    if (name === 'host') host ??= value;
    rawOut.push(name, value);
    const prev = headers[name];
    headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : `${prev}, ${value}`;
  }
  const authority = req.headers[':authority'];
  if (host === undefined && typeof authority === 'string') {
    host = authority;
    rawOut.unshift('host', authority);
  }
  if (host !== undefined) headers.host = host;
  if (cookies.length > 0) {
    headers.cookie = cookies.join('; ');
    rawOut.push('cookie', headers.cookie);
  }
  if (!req.stream.endAfterHeaders && headers['content-length'] === undefined) headers['transfer-encoding'] = 'chunked';
  Object.defineProperties(req, {
    rawHeaders: { value: rawOut },
    headers: { value: headers },
    httpVersion: { value: '2.0' },
  });
  return req as unknown as IncomingMessage;
}

/** HTTP/2 has no reason phrase (RFC 9113 §8.3.2): the path's writeHead(status, reason, headers) drops it. */
export function asHttp1Response(res: Http2ServerResponse): ServerResponse {
  const writeHead = res.writeHead.bind(res) as (status: number, headers?: unknown) => Http2ServerResponse;
  Object.defineProperty(res, 'writeHead', {
    value: (status: number, reason?: unknown, headers?: unknown) =>
      typeof reason === 'string' || reason === undefined ? writeHead(status, headers) : writeHead(status, reason),
  });
  return res as unknown as ServerResponse;
}
