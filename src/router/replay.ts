// Step 5 of the request path (design.md §Request path): when a request may be sent to a dyno a
// second time. Once any byte of it may have reached a dyno, only an idempotent method (RFC 9110
// §9.2.2) may be replayed, and only on the keep-alive race (a reused connection that died before
// any response byte); POST, PATCH and unknown methods never, buffered body or not (nginx's
// `proxy_next_upstream` rule too). A request nothing of which was sent (a connect failure) may go
// to another dyno whatever its method.

/** RFC 9110 §9.2.2: the methods whose repetition has the effect of one request. */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** Whether a request that may have reached a dyno may be sent again after a keep-alive race. */
export function mayReplayAfterRace(method: string): boolean {
  return IDEMPOTENT.has(method);
}
