// HTTP/2 from clients (RFC 9113), on connections whose ALPN chose `h2`: node:http2 frames the
// streams, and each stream enters the same request path as an HTTP/1.1 request, towards the dyno
// as HTTP/1.1 on the same pools (design.md §Request path). The one adapter between the two is
// `serveStream` (h2-exchange.ts), a ClientRequest and ClientSide per stream; the limits a serious edge sets are named settings (design.md
// §Processes and settings): concurrent streams, header list size, initial window, and a bound
// on stream resets per connection (CVE-2023-44487, "rapid reset").
import {
  constants,
  createServer,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Config } from '../../shared/config';
import type { Logger } from '../../shared/log';
import type { ServeExchange } from '../client/exchange';
import type { TlsMetrics } from '../metrics';
import { serveStream } from './h2-exchange';

/** How long a flooding session's open streams get after its GOAWAY before the socket is cut. */
const FLOOD_CLOSE_MS = 200;

export interface H2FrontOptions {
  config: Config;
  metrics: TlsMetrics;
  log: Logger;
  /** The request path's entry for one stream (the data plane's serveExchange). */
  serve: ServeExchange;
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
  server.on(
    'stream',
    (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
      metrics.live.h2Streams++;
      stream.once('close', () => metrics.live.h2Streams--);
      const port = stream.session?.socket?.localPort ?? 0;
      serveStream(stream, headers, rawHeaders, { proto: 'https', port }, o.serve);
    },
  );
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
