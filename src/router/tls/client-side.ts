// What the request path asks of the client's transport for `force_https` (design.md §Request path).
// Whether a request came over TLS is `ClientRequest.proto`; this is the app's side of the rule.
import type { ClientProto } from '../client/exchange';
import type { AppRecord } from '../table/route-table';

/** An app with `force_https` answers plain HTTP with a redirect (RFC 9110 §15.4.9: 308 keeps the method). */
export function mustRedirect(app: AppRecord, proto: ClientProto): boolean {
  return proto === 'http' && app.forceHttps === true;
}
