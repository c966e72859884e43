// The certificates this node serves (design.md §Router): an immutable snapshot host → certificate,
// swapped whole when the store changes, read by the TLS listener's SNI callback on every
// handshake. Lookup is exact first, then the one-label wildcard (RFC 6125 §6.4.3), as the route
// table resolves hosts. A secure context is built on a name's first handshake and kept with it.
import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { StoredCert } from '../store/certs';
import { describe, splitChain, type CertificateInfo } from './certificate';

/** The protocol versions every context accepts: TLS 1.2 and 1.3 only (RFC 8996 retired 1.0 and 1.1). */
export const TLS_VERSIONS = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' } as const;

export interface ServedCert {
  readonly app: string;
  readonly host: string;
  readonly info: CertificateInfo;
  /** ms since epoch. */
  readonly notAfter: number;
  /** The context the handshake switches to; built on first use. */
  context(): SecureContext;
}

/** A stored certificate that no longer parses is left out (and counted), never served half-built. */
function served(c: StoredCert): ServedCert | undefined {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(splitChain(c.chain)[0] ?? '');
  } catch {
    return undefined;
  }
  const info = describe(leaf);
  let ctx: SecureContext | undefined;
  return {
    app: c.app,
    host: c.host,
    info,
    notAfter: Date.parse(info.not_after),
    context: () => (ctx ??= createSecureContext({ cert: c.chain, key: c.key, ...TLS_VERSIONS })),
  };
}

export class CertTable {
  readonly #byHost: ReadonlyMap<string, ServedCert>;
  readonly #apps: ReadonlySet<string>;

  private constructor(byHost: ReadonlyMap<string, ServedCert>) {
    this.#byHost = byHost;
    this.#apps = new Set([...byHost.values()].map((s) => s.app));
  }

  static empty(): CertTable {
    return new CertTable(new Map());
  }

  /** A table of `certs`; `skipped` gets each stored certificate that does not parse. */
  static build(certs: Iterable<StoredCert>, skipped?: (c: StoredCert) => void): CertTable {
    return CertTable.empty().withApps([], certs, skipped);
  }

  /** A new table where the apps in `apps` (and those of `certs`) hold exactly `certs`; the rest is kept. */
  withApps(apps: Iterable<string>, certs: Iterable<StoredCert>, skipped?: (c: StoredCert) => void): CertTable {
    const list = [...certs];
    const replaced = new Set([...apps, ...list.map((c) => c.app)]);
    const byHost = new Map<string, ServedCert>();
    for (const [host, s] of this.#byHost) if (!replaced.has(s.app)) byHost.set(host, s);
    for (const c of list) {
      const s = served(c);
      if (s) byHost.set(c.host, s);
      else skipped?.(c);
    }
    return new CertTable(byHost);
  }

  /** The certificate for an SNI name: exact, then `*.` + the name without its first label. */
  lookup(servername: string): ServedCert | undefined {
    const name = servername.toLowerCase();
    const exact = this.#byHost.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    return dot > 0 ? this.#byHost.get(`*${name.slice(dot)}`) : undefined;
  }

  hasApp(app: string): boolean {
    return this.#apps.has(app);
  }

  values(): IterableIterator<ServedCert> {
    return this.#byHost.values();
  }

  get size(): number {
    return this.#byHost.size;
  }
}
