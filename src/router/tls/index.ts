// Composition of the TLS side of one router node (design.md §Router): the default certificate,
// the certificate table kept in step with the store, the shared ticket keys, the listener,
// and the hand-off of each decrypted connection to the HTTP engine its ALPN chose.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ServeExchange } from '../client/exchange';
import type { TLSSocket } from 'node:tls';
import type { Config } from '../../shared/config';
import type { Logger } from '../../shared/log';
import type { TlsMetrics } from '../metrics';
import type { CertStore } from '../store/certs';
import type { RouteStore } from '../store/index';
import { CertSync } from './cert-sync';
import { createH2Front } from './h2';
import { startTlsListener, type TlsListener } from './listener';
import { selfSigned } from './self-signed';
import { TicketKeys } from './ticket-keys';

export interface TlsPlaneOptions {
  config: Config;
  store: CertStore & Pick<RouteStore, 'subscribe' | 'onHealth'>;
  host: string;
  /** 0 = an ephemeral port. */
  port: number;
  metrics: TlsMetrics;
  log: Logger;
  /** Serves HTTP/1.1 on a decrypted connection (the data plane's serveConnection). */
  http1: (socket: TLSSocket, port: number) => void;
  /** The request path for one HTTP/2 stream (the data plane's serveExchange). */
  serve: ServeExchange;
}

export interface TlsPlane {
  readonly port: number;
  /** SHA-256 fingerprint of the default certificate (`dev` prints it). */
  readonly defaultFingerprint: string;
  readonly certs: CertSync;
  close(): Promise<void>;
}

/** The default certificate: ROUTER_TLS_CERT_FILE/KEY_FILE, or a self-signed one for ROUTER_DOMAIN and its subdomains. */
export function defaultCertificate(config: Config): { cert: string; key: string; selfSigned: boolean } {
  const certFile = config.ROUTER_TLS_CERT_FILE;
  const keyFile = config.ROUTER_TLS_KEY_FILE;
  if (certFile !== undefined || keyFile !== undefined) {
    if (certFile === undefined || keyFile === undefined)
      throw new Error('ROUTER_TLS_CERT_FILE and ROUTER_TLS_KEY_FILE must be set together');
    return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), selfSigned: false };
  }
  const domain = config.ROUTER_DOMAIN;
  return { ...selfSigned({ commonName: domain, dnsNames: [domain, `*.${domain}`] }), selfSigned: true };
}

export async function startTlsPlane(o: TlsPlaneOptions): Promise<TlsPlane> {
  const { config, log, metrics } = o;
  const def = defaultCertificate(config);
  const defaultFingerprint = new X509Certificate(def.cert).fingerprint256;
  if (def.selfSigned)
    log.warn('no ROUTER_TLS_CERT_FILE: serving a self-signed default certificate', { sha256: defaultFingerprint });
  const certs = new CertSync({ store: o.store, resyncMs: config.ROUTER_RESYNC_MS, log });
  await certs.start();
  metrics.certSource.notAfter = () => [...certs.table.values()].map((c) => c.notAfter);
  const h2 = createH2Front({ config, metrics, log, serve: o.serve });
  let listener: TlsListener | undefined;
  const keys = new TicketKeys({
    store: o.store,
    rotateMs: config.ROUTER_TLS_TICKET_ROTATE_MS,
    log,
    apply: (key) => listener?.setTicketKey(key),
  });
  try {
    listener = await startTlsListener({
      host: o.host,
      port: o.port,
      certs: () => certs.table,
      defaultCert: def,
      // RFC 9113 §3.2: h2 when the client offers it, else HTTP/1.1 (also for clients without ALPN).
      alpn: ['h2', 'http/1.1'],
      sessionTimeoutS: Math.max(1, Math.floor(config.ROUTER_TLS_TICKET_ROTATE_MS / 1000)),
      metrics,
      log,
      onSecure: (socket) => (socket.alpnProtocol === 'h2' ? h2.serve(socket) : o.http1(socket, socket.localPort ?? 0)),
    });
    await keys.start();
  } catch (err) {
    certs.close();
    keys.close();
    await listener?.close();
    throw err;
  }
  const l = listener;
  return {
    port: l.port,
    defaultFingerprint,
    certs,
    close: async () => {
      keys.close();
      certs.close();
      delete metrics.certSource.notAfter;
      await Promise.all([l.close(), h2.close(config.SWITCHYARD_GRACE_MS)]);
    },
  };
}
