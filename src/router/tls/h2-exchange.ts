// One HTTP/2 stream as the request path's transport-independent client (client/exchange.ts):
// the ClientRequest its HEADERS describe and the ClientSide that answers on the stream. The HTTP/2
// front (tls/h2.ts) hands every stream here, and it enters the path through DataPlane.serveExchange.
import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type {
  BodyFraming,
  BodySink,
  ClientGoneReason,
  ClientRequest,
  ClientSide,
  ListenerInfo,
  ServeExchange,
} from '../client/exchange';

/** RFC 9113 §8.2.2: connection-specific fields never go on an HTTP/2 response. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** Runs one stream down the request path; a request the path must never see (CONNECT) is answered 405 here. */
export function serveStream(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  rawHeaders: readonly string[],
  listener: ListenerInfo,
  serve: ServeExchange,
): void {
  // A stream error (a reset, the session going away) reaches the path as onGone, never as a throw.
  stream.on('error', () => undefined);
  const method = String(headers[':method'] ?? '');
  if (method === 'CONNECT' || headers[':path'] === undefined) {
    stream.respond({ ':status': 405 }, { endStream: true });
    return;
  }
  serve(streamRequest(stream, headers, rawHeaders, listener), new StreamSide(stream));
}

/** RFC 9113 §8.3: pseudo-headers out, `:authority` as the authority, split `cookie` fields joined (§8.2.3). */
export function streamRequest(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  rawHeaders: readonly string[],
  listener: ListenerInfo,
): ClientRequest {
  const raw: string[] = [];
  const cookies: string[] = [];
  let host: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    if (name === 'cookie') cookies.push(rawHeaders[i + 1]!);
    else {
      if (name === 'host') host ??= rawHeaders[i + 1]!;
      raw.push(name, rawHeaders[i + 1]!);
    }
  }
  if (cookies.length > 0) raw.push('cookie', cookies.join('; '));
  const authority = typeof headers[':authority'] === 'string' ? headers[':authority'] : (host ?? '');
  if (host === undefined && authority) raw.unshift('host', authority);
  const cl = headers['content-length'];
  const body: BodyFraming = stream.endAfterHeaders
    ? { kind: 'none' }
    : cl !== undefined && /^[0-9]{1,15}$/.test(cl)
      ? { kind: 'length', length: Number(cl) }
      : { kind: 'stream' };
  return {
    method: String(headers[':method']),
    target: String(headers[':path']),
    authority,
    version: 'HTTP/2',
    rawHeaders: raw,
    body,
    expectContinue: headers.expect?.toLowerCase() === '100-continue',
    upgrade: undefined,
    remoteAddress: stream.session?.socket?.remoteAddress ?? '',
    proto: listener.proto,
    port: listener.port,
    receivedAt: Date.now(),
  };
}

export class StreamSide implements ClientSide {
  readonly #stream: ServerHttp2Stream;
  #headSent = false;
  #continued = false;
  #bodyComplete: boolean;
  #sink: BodySink | undefined;
  #ended = false;

  constructor(stream: ServerHttp2Stream) {
    this.#stream = stream;
    this.#bodyComplete = stream.endAfterHeaders;
    stream.on('data', (chunk: Buffer) => this.#sink?.onData(chunk));
    stream.once('end', () => {
      this.#bodyComplete = true;
      this.#sink?.onEnd();
    });
    stream.pause();
  }

  get headSent(): boolean {
    return this.#headSent;
  }

  get bodyComplete(): boolean {
    return this.#bodyComplete;
  }

  writeContinue(): void {
    if (this.#continued || this.#headSent || this.#stream.destroyed) return;
    this.#continued = true;
    this.#stream.additionalHeaders({ ':status': 100 });
  }

  writeHead(status: number, _reason: string, rawHeaders: readonly string[]): boolean {
    // HTTP/2 has no reason phrase (RFC 9113 §8.3.2) and no 1xx but 100 here.
    if (this.#headSent || !Number.isInteger(status) || status < 200 || status > 599) return false;
    const out: Record<string, string | number | string[]> = { ':status': status };
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!.toLowerCase();
      if (CONNECTION_SPECIFIC.has(name)) continue;
      const value = rawHeaders[i + 1]!;
      const prev = out[name];
      if (prev === undefined) out[name] = name === 'set-cookie' ? [value] : value;
      else if (Array.isArray(prev)) prev.push(value);
      else out[name] = `${String(prev)}, ${value}`;
    }
    try {
      this.#stream.respond(out);
    } catch {
      return false;
    }
    this.#headSent = true;
    return true;
  }

  // Chunks are lent (client/exchange.ts); the stream keeps what it queues, so it gets copies.
  writeBody(chunk: Buffer): boolean {
    return this.#stream.write(Buffer.copyBytesFrom(chunk));
  }

  end(last?: Buffer): void {
    if (this.#ended) return;
    this.#ended = true;
    if (last === undefined) this.#stream.end();
    else this.#stream.end(Buffer.copyBytesFrom(last));
  }

  abort(): void {
    if (!this.#stream.destroyed) this.#stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }

  onDrain(cb: () => void): void {
    this.#stream.once('drain', cb);
  }

  readBody(sink: BodySink): void {
    this.#sink = sink;
    if (this.#bodyComplete && this.#stream.readableEnded) sink.onEnd();
    else this.#stream.resume();
  }

  pauseBody(): void {
    this.#stream.pause();
  }

  resumeBody(): void {
    this.#stream.resume();
  }

  onGone(cb: (reason: ClientGoneReason) => void): void {
    // The client reset the stream (RST_STREAM) or the session went away before our end.
    this.#stream.once('aborted', () => cb('gone'));
  }
}
