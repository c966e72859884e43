// The request path's view of a client, independent of the transport (design.md §Request path).
// The HTTP/1.1 engine (client/connection.ts) implements it over a net.Socket or tls.TLSSocket; an
// HTTP/2 front implements the same two interfaces per stream. handle.ts and the steps after it see
// only these: they never touch a socket, a parser or node:http.
//
// Contract, for an implementer:
// - A `ClientRequest` is handed over once its head parsed and passed every framing rule (RFC 9112
//   §3, §6; RFC 9110 §7.2), and, when its body fits ROUTER_BUFFER_BODY_BYTES, once that body arrived
//   whole (request buffering, design.md §Request path step 1). Values are already validated: the
//   path writes them to a dyno as they are, so none may carry CR, LF or NUL.
// - `ClientSide` answers it: exactly one `writeHead` (after any number of `writeContinue`), then
//   `writeBody`* and one `end`, or `abort` at any point. `writeBody` answers false when the client's
//   buffer is full; the caller then waits for `onDrain` before writing more (backpressure).
// - The request body is read through `readBody`, which starts the flow; `pauseBody`/`resumeBody`
//   hold the client off while a dyno is slow to take it. Bytes buffered before admission come
//   first. A body nobody reads is drained and dropped by the engine once the exchange ends.
// - `onGone` fires once if the client leaves before `end`, or its body can no longer be read:
//   `reason` 'H28' when it overran ROUTER_BODY_TIMEOUT_MS, 'H26' when its framing broke mid-stream.
//   The engine frees everything else itself.

/** The transport the client reached us on: X-Forwarded-Proto, and `protocol=` in the router line. */
export type ClientProto = 'http' | 'https';

/** How the request body is delimited on the client side; the dyno side picks its own framing. */
export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  /** Length not known up front: HTTP/1.1 chunked, or an HTTP/2 stream without content-length. */
  | { readonly kind: 'stream' };

export interface ClientRequest {
  /** An RFC 9110 §5.6.2 token; never CONNECT (refused by the engine). */
  readonly method: string;
  /** Origin-form (`/path?query`), or `*` for OPTIONS; an absolute-form target arrives rewritten. */
  readonly target: string;
  /** The authority the request names (RFC 9112 §3.2.2: an absolute-form target's wins over Host), as sent. */
  readonly authority: string;
  /** `HTTP/1.0`, `HTTP/1.1` or `HTTP/2`. */
  readonly version: 'HTTP/1.0' | 'HTTP/1.1' | 'HTTP/2';
  /** Header fields as received, a flat [name, value, …] list (HTTP/2: without pseudo-headers). */
  readonly rawHeaders: readonly string[];
  /**
   * Optional: the header section exactly as received (`name: value\r\n` lines), given when none of
   * its fields is hop-by-hop or one the router sets; the request path then sends it unchanged.
   */
  readonly passThrough?: string;
  readonly body: BodyFraming;
  /** `Expect: 100-continue` from a client allowed to ask (HTTP/1.1 and later). */
  readonly expectContinue: boolean;
  /** The Upgrade header's value when this is an HTTP/1.1 upgrade request (design.md §Request path step 8). */
  readonly upgrade: string | undefined;
  /** The peer's IP address as its socket gives it (`::1`, `fe80::1%eth0`), or '' when it has none. */
  readonly remoteAddress: string;
  /**
   * Optional: true when the engine's own parser held `method`, `target` and `authority` to their grammar's
   * characters (an RFC 9110 token, URI characters, a valid Host): none then carries SP, DQUOTE, `\` or a control
   * character, and the router line writes them without checking again. Left out by a front that
   * takes them from another parser (HTTP/2), whose values are checked when logged.
   */
  readonly headChecked?: boolean;
  readonly proto: ClientProto;
  /** The port the client connected to (X-Forwarded-Port). */
  readonly port: number;
  /** When the head was complete (ms since epoch): X-Request-Start. */
  readonly receivedAt: number;
}

/** Receives the request body, already de-framed; each chunk is only lent for the call. */
export interface BodySink {
  onData(chunk: Buffer): void;
  onEnd(): void;
}

/** Why a client side ended early: it left, its body was too slow (H28), or its body's framing broke (H26). */
export type ClientGoneReason = 'gone' | 'H26' | 'H28';

export interface ClientSide {
  /** RFC 9110 §10.1.1: sent at most once, and only when `expectContinue`; later calls do nothing. */
  writeContinue(): void;
  /**
   * The response head. `rawHeaders` come from the dyno with hop-by-hop fields removed; the engine
   * adds its own framing and connection fields. A `connection: close` field among them asks the
   * engine to close the client connection after this response (HTTP/2: ignored). False when the
   * engine cannot send it (invalid status or header): the caller treats that as a malformed response.
   */
  writeHead(status: number, reason: string, rawHeaders: readonly string[]): boolean;
  /**
   * Optional, HTTP/1.1 only: a final head (never 1xx or 204) in wire form, as a dyno sent it with
   * its hop-by-hop lines cut out (the status line and each field line ending in CRLF, no empty
   * line); `hasLength`: it holds a Content-Length. The engine adds framing and connection fields.
   */
  writeWireHead?(status: number, head: string, hasLength: boolean): boolean;
  /**
   * False when the client is full: wait for `onDrain` before writing more. `chunk` is lent for the
   * call (a dyno's bytes in the shared read buffer, http1/read-buffer.ts): what is kept is copied.
   */
  writeBody(chunk: Buffer): boolean;
  /** Ends the response, with its last bytes when given (lent, as writeBody's; a small body may leave in one write with its head). */
  end(last?: Buffer): void;
  /** Cuts the exchange (the connection, on HTTP/1.1): a response in progress stays unfinished. */
  abort(): void;
  readonly headSent: boolean;
  onDrain(cb: () => void): void;

  readBody(sink: BodySink): void;
  pauseBody(): void;
  resumeBody(): void;
  /** Whether the whole request body has been read from the client. */
  readonly bodyComplete: boolean;
  onGone(cb: (reason: ClientGoneReason) => void): void;

  /**
   * HTTP/1.1 only: hands over the client's transport after a 101, with any bytes read past the
   * request head. Undefined where the transport cannot switch protocols.
   */
  takeTransport?(): {
    readonly socket: import('node:stream').Duplex;
    readonly head: Buffer;
    /** Set when the socket's reads come lent from the shared buffer (lent-reads.ts), not as a stream. */
    readonly lent?: import('./lent-reads').LentReads;
  };
}

/** Where the client reached us: X-Forwarded-Proto/-Port and the router line's `protocol=`. */
export interface ListenerInfo {
  readonly proto: ClientProto;
  readonly port: number;
}

/**
 * The HTTP/1.1 engine's one entry point (DataPlane.serveConnection): serves every request on an
 * accepted net.Socket or tls.TLSSocket until either side closes it.
 */
export type ServeConnection = (
  socket: import('node:net').Socket,
  listener: ListenerInfo,
  lent?: import('./lent-reads').LentReads,
) => void;

/**
 * The request path's entry point for another front (DataPlane.serveExchange), e.g. one HTTP/2
 * stream: runs resolve → admit → pick → forward → log for one request and answers through `side`.
 */
export type ServeExchange = (req: ClientRequest, side: ClientSide) => void;
