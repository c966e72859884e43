// What the control API accepts as a domain's certificate (design.md §Control API): a PEM chain,
// leaf first, and its private key, checked with node:crypto's X509Certificate. Every check that
// fails is named, so a 422 tells the operator exactly what to fix.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

/** What GET .../certificate shows: never the key. */
export interface CertificateInfo {
  subject: string;
  sans: string[];
  issuer: string;
  not_before: string;
  not_after: string;
  /** SHA-256 of the leaf's DER, as colon-separated hex (what `openssl x509 -fingerprint -sha256` prints). */
  fingerprint_sha256: string;
}

/** A chain and key as PUT, parsed; `problems` lists every reason to refuse it (empty = good). */
export interface CheckedCertificate {
  info: CertificateInfo | undefined;
  problems: string[];
}

/** Bounds on what one PUT may hold: a chain of more than 10 certificates is not a web PKI chain. */
export const CERT_LIMITS = { chainCerts: 10, pemBytes: 64 * 1024 };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function splitChain(pem: string): string[] {
  return pem.match(PEM_CERT) ?? [];
}

export function describe(leaf: X509Certificate): CertificateInfo {
  return {
    subject: leaf.subject,
    sans: sanNames(leaf),
    issuer: leaf.issuer,
    not_before: new Date(leaf.validFrom).toISOString(),
    not_after: new Date(leaf.validTo).toISOString(),
    fingerprint_sha256: leaf.fingerprint256,
  };
}

/** dNSName entries of subjectAltName (RFC 5280 §4.2.1.6), lower-cased. */
export function sanNames(cert: X509Certificate): string[] {
  const out: string[] = [];
  for (const part of (cert.subjectAltName ?? '').split(', ')) {
    if (part.startsWith('DNS:')) out.push(part.slice(4).toLowerCase());
  }
  return out;
}

/**
 * Whether the certificate is good for `host`: an exact name uses RFC 6125 §6.4 matching (a
 * `*.example.com` SAN covers `a.example.com`); a wildcard domain needs that very wildcard SAN.
 */
export function covers(leaf: X509Certificate, host: string): boolean {
  if (host.startsWith('*.')) return sanNames(leaf).includes(host);
  return leaf.checkHost(host, { subject: 'never', wildcards: true, partialWildcards: false }) !== undefined;
}

export function checkCertificate(chainPem: string, keyPem: string, host: string, now = Date.now()): CheckedCertificate {
  const problems: string[] = [];
  if (chainPem.length + keyPem.length > CERT_LIMITS.pemBytes) {
    return { info: undefined, problems: [`certificate and key exceed ${CERT_LIMITS.pemBytes} bytes`] };
  }
  const pems = splitChain(chainPem);
  if (pems.length === 0) return { info: undefined, problems: ['certificate_chain holds no PEM CERTIFICATE block'] };
  if (pems.length > CERT_LIMITS.chainCerts) {
    return { info: undefined, problems: [`certificate_chain holds more than ${CERT_LIMITS.chainCerts} certificates`] };
  }
  const chain: X509Certificate[] = [];
  for (const [i, pem] of pems.entries()) {
    try {
      chain.push(new X509Certificate(pem));
    } catch {
      problems.push(`certificate ${i + 1} of the chain does not parse as X.509`);
    }
  }
  if (problems.length > 0) return { info: undefined, problems };
  const leaf = chain[0]!;
  let key: KeyObject | undefined;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    problems.push('private_key does not parse as an unencrypted PEM private key');
  }
  if (key !== undefined && !leaf.checkPrivateKey(key)) problems.push('private_key does not match the certificate');
  if (!covers(leaf, host))
    problems.push(`certificate does not cover ${host} (names: ${sanNames(leaf).join(' ') || 'none'})`);
  if (Date.parse(leaf.validTo) <= now) problems.push(`certificate expired at ${new Date(leaf.validTo).toISOString()}`);
  if (Date.parse(leaf.validFrom) > now)
    problems.push(`certificate is not valid before ${new Date(leaf.validFrom).toISOString()}`);
  for (let i = 1; i < chain.length; i++) {
    if (!chain[i - 1]!.checkIssued(chain[i]!))
      problems.push(`certificate ${i + 1} of the chain did not issue certificate ${i}`);
  }
  return { info: describe(leaf), problems };
}
