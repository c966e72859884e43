// Every bound on what one client connection may make the router hold or do (design.md §Request
// path step 1), in one literal. Settings that operators tune live in shared/config.ts instead.

export const REQUEST_LIMITS = Object.freeze({
  /** Each of the request line and header lines, as Heroku's router: 8 KiB. */
  lineBytes: 8 * 1024,
  /** Header fields in one head. */
  headers: 100,
  /**
   * The whole head: what a client that never finishes one (slowloris) can make us hold, per
   * connection. nginx's default is 32 KiB (large_client_header_buffers 4 8k).
   */
  headBytes: 64 * 1024,
  /** Hex digits of a chunk size: 12 is 256 TiB, beyond any body. */
  chunkSizeDigits: 12,
  /** Bytes of one chunk's extensions (ignored, RFC 9112 §7.1.1). */
  chunkExtBytes: 4 * 1024,
  /**
   * Request bytes read from a client while an earlier request on the same connection is still
   * being answered (pipelining): past this the socket is paused, so a flood of pipelined
   * requests waits in the client's own send buffer, not in our memory.
   */
  pipelinedBytes: 64 * 1024,
  /** After the router ended a connection, how long it waits for the client to close its side. */
  lingerMs: 5_000,
});
