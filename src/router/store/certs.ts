// The certificate half of the route store (design.md §Stores, §Redis keys): one certificate per
// domain (exact or wildcard) of an app, and the TLS session-ticket keys every router node shares.
// Both RouteStore implementations also implement this; the contract suite runs both. A change
// is published on the route events with `certs: true`, so every node reloads that app's
// certificates (tls/cert-sync.ts) without a restart.

/** A domain's certificate as stored: PEM chain (leaf first) and PEM private key, as given. */
export interface StoredCert {
  app: string;
  host: string;
  chain: string;
  key: string;
}

export interface CertStore {
  /** Sets (or replaces) the certificate of `host`. Throws SY_APP_NOT_FOUND, or SY_DOMAIN_NOT_FOUND when the app has no such domain. */
  putCert(cert: StoredCert): Promise<{ created: boolean }>;
  getCert(app: string, host: string): Promise<StoredCert | undefined>;
  /** False when the host had no certificate. Throws SY_APP_NOT_FOUND. */
  deleteCert(app: string, host: string): Promise<boolean>;
  /** One app's certificates (none for an unknown app). */
  loadCerts(app: string): Promise<StoredCert[]>;
  /** Every app's certificates: a node's full load and resync. */
  loadAllCerts(): Promise<StoredCert[]>;
  /**
   * The 48-byte session-ticket key of rotation period `epoch`: the first node to ask creates it
   * at random, every other node gets the same bytes; it is forgotten `ttlMs` later.
   */
  ticketKey(epoch: number, ttlMs: number): Promise<Buffer>;
}

/** Bytes of a Node ticket key: 16 name + 16 HMAC + 16 AES (node:tls `setTicketKeys`). */
export const TICKET_KEY_BYTES = 48;
