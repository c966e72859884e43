// The TLS listener of the data plane (design.md §Router): ROUTER_TLS_PORT, TLS 1.2 and 1.3
// only, the certificate chosen by SNI from this node's CertTable on every handshake (so a new
// certificate is served on the next handshake and open connections keep theirs), the default
// certificate for no SNI or an unknown name, session tickets sealed with the key all nodes
// share (ticket-keys.ts). A finished handshake is handed on by its ALPN protocol.
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from '../../shared/log';
import { listen } from '../../shared/ops-http';
import type { TlsMetrics } from '../metrics';
import type { CertTable } from './cert-table';
import { TLS_VERSIONS } from './cert-table';

/** A client must finish its handshake in this time (node:tls default: 120 s, far too patient for an edge). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface TlsListenerOptions {
  host: string;
  /** 0 = an ephemeral port. */
  port: number;
  certs: () => CertTable;
  defaultCert: { cert: string; key: string };
  /** ALPN protocols in our order of preference (RFC 7301 §3.2: the server chooses). */
  alpn: readonly string[];
  /** Lifetime of a session ticket, in seconds (at most the key's period). */
  sessionTimeoutS: number;
  metrics: TlsMetrics;
  log: Logger;
  /** Gets every socket whose handshake finished, with the ALPN protocol chosen (false = none). */
  onSecure: (socket: TLSSocket) => void;
}

export interface TlsListener {
  readonly port: number;
  setTicketKey(key: Buffer): void;
  /** Stops accepting; the open connections belong to whoever `onSecure` gave them to. */
  close(): Promise<void>;
}

export async function startTlsListener(o: TlsListenerOptions): Promise<TlsListener> {
  const { metrics } = o;
  const server: Server = createServer({
    ...TLS_VERSIONS,
    cert: o.defaultCert.cert,
    key: o.defaultCert.key,
    ALPNProtocols: [...o.alpn],
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    sessionTimeout: o.sessionTimeoutS,
    // No SNI callback answer means the default context (RFC 6066 §3 leaves an unknown name to the server).
    SNICallback: (servername, cb) => cb(null, o.certs().lookup(servername)?.context()),
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const version = socket.getProtocol() ?? 'unknown';
    metrics.handshakes.inc({ result: 'ok', version });
    if (socket.isSessionReused()) metrics.resumed.inc({ version });
    metrics.live.tlsConnections++;
    socket.once('close', () => metrics.live.tlsConnections--);
    o.onSecure(socket);
  });
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    metrics.handshakes.inc({ result: 'error', version: 'unknown' });
    o.log.debug('TLS handshake failed', { code: err.code ?? 'unknown', remote: socket.remoteAddress ?? '' });
    socket.destroy();
  });
  const port = await listen(server, o.port, o.host);
  o.log.info('router TLS listening', { host: o.host, tls_port: port, alpn: o.alpn.join(',') });
  return {
    port,
    setTicketKey: (key) => server.setTicketKeys(key),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
