// Request buffering's node-wide bound (design.md §Request path step 1): bodies read whole before
// admission share ROUTER_BUFFER_TOTAL_BYTES; past it, new bodies stream instead of waiting here.
// The counts feed the buffered-requests and buffered-bytes gauges.

export class BodyBudget {
  /** Requests reading their body whole right now (or holding it for a replay). */
  requests = 0;
  bytes = 0;

  constructor(readonly totalBytes: number) {}

  /** A request starts buffering; false when the node is full (the body then streams). */
  begin(): boolean {
    if (this.bytes >= this.totalBytes) return false;
    this.requests++;
    return true;
  }

  /** Counts `n` more bytes; false once the node is over its bound (the request then streams). */
  take(n: number): boolean {
    this.bytes += n;
    return this.bytes <= this.totalBytes;
  }

  /** A request let go of its `bytes` buffered bytes. */
  end(bytes: number): void {
    this.requests--;
    this.bytes -= bytes;
  }
}
