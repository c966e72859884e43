// What the request path needs to know of the client's transport (design.md §Request path):
// whether the request came over TLS, for X-Forwarded-Proto/-Port, the router line's
// `protocol=`, and `force_https`. One place, so the HTTP engine behind it can change.
import type { ServerResponse } from 'node:http';
import type { AppRecord } from '../table/route-table';

export type ClientProtocol = 'http' | 'https';

/** `https` for a socket that came through the TLS listener (a node:tls TLSSocket, or an HTTP/2 stream's). */
export function clientProtocol(socket: object | null | undefined): ClientProtocol {
  return (socket as { encrypted?: boolean } | null)?.encrypted === true ? 'https' : 'http';
}

/** The port the client reached: the TLS listener's for https. */
export function clientPort(proto: ClientProtocol, listener: { port: number; tlsPort?: number }): number {
  return proto === 'https' ? (listener.tlsPort ?? 443) : listener.port;
}

/** An app with `force_https` answers plain HTTP with a redirect (RFC 9110 §15.4.9: 308 keeps the method). */
export function mustRedirect(app: AppRecord, proto: ClientProtocol): boolean {
  return proto === 'http' && app.forceHttps === true;
}

/** Writes the 308 to the same host and target on the TLS port; the caller logs it. Returns the bytes sent. */
export function redirectToHttps(
  res: ServerResponse,
  host: string,
  target: string,
  tlsPort: number | undefined,
  requestId: string,
): number {
  const port = tlsPort === undefined || tlsPort === 443 ? '' : `:${tlsPort}`;
  const location = `https://${host}${port}${target.startsWith('/') ? target : '/'}`;
  res
    .writeHead(308, {
      location,
      'content-length': 0,
      'cache-control': 'no-store',
      'x-request-id': requestId,
    })
    .end();
  return 0;
}
