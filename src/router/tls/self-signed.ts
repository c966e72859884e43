// A self-signed X.509 certificate (RFC 5280) for the default TLS certificate of `dev` and of a
// router started without ROUTER_TLS_CERT_FILE, and for tests. Node can parse and verify X.509
// but not issue it, so this is the smallest DER writer (ITU-T X.690) that can: the key pair,
// the SubjectPublicKeyInfo and the ECDSA signature come from node:crypto, we only frame the
// TBSCertificate around them (docs/decisions.md "TLS": why not the openssl CLI).
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

export interface SelfSigned {
  /** PEM of the certificate. */
  cert: string;
  /** PEM (PKCS#8) of its private key. */
  key: string;
}

export interface SelfSignedOptions {
  /** Common name of subject and issuer. */
  commonName: string;
  /** subjectAltName dNSName entries (RFC 5280 §4.2.1.6); wildcards as `*.example.com`. */
  dnsNames: readonly string[];
  notBefore?: Date;
  notAfter?: Date;
  /** An existing P-256 key pair; default a fresh one. */
  keys?: { privateKey: KeyObject; publicKey: KeyObject };
}

const DAY_MS = 86_400_000;

/** A P-256 ECDSA key and a certificate signed with it, valid from an hour ago for 90 days by default. */
export function selfSigned(o: SelfSignedOptions): SelfSigned {
  const keys = o.keys ?? generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const notBefore = o.notBefore ?? new Date(Date.now() - 3_600_000);
  const notAfter = o.notAfter ?? new Date(notBefore.getTime() + 90 * DAY_MS);
  const serial = randomBytes(16);
  // RFC 5280 §4.1.2.2: a positive integer; the top byte kept in 0x40–0x7f so that DER's minimal
  // encoding (X.690 §8.3.2) needs no leading zero to add or drop: a 0x00 top byte made 1 in ~256
  // certificates unparseable by OpenSSL.
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  const name = seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(o.commonName, 'utf8')))));
  const sigAlg = seq(oid('1.2.840.10045.4.3.2')); // ecdsa-with-SHA256, RFC 5758 §3.2
  const san = seq(...o.dnsNames.map((n) => tlv(0x82, Buffer.from(n, 'ascii'))));
  const extensions = tlv(
    0xa3,
    seq(
      seq(oid('2.5.29.19'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, seq())), // basicConstraints, critical, cA false
      seq(oid('2.5.29.17'), tlv(0x04, san)),
    ),
  );
  const tbs = seq(
    tlv(0xa0, int(Buffer.from([2]))), // v3
    int(serial),
    sigAlg,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    keys.publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, keys.privateKey); // DER ECDSA-Sig-Value
  const der = seq(tbs, sigAlg, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return {
    cert: pem('CERTIFICATE', der),
    key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function pem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

const seq = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]): Buffer => tlv(0x31, Buffer.concat(parts));

function int(bytes: Buffer): Buffer {
  return tlv(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii'))
    : tlv(0x18, Buffer.from(iso, 'ascii'));
}
