// What every drain transport offers the runner (design.md §Drain delivery). A transport encodes a
// batch once into a Payload and sends that same Payload until it is accepted or refused, so
// a retry is byte-identical (same body, same Logplex-Frame-Id).
import type { DrainLine } from './store/index';

export interface Payload {
  body: Buffer;
  count: number;
  /** Unique per batch, kept across retries of that batch. */
  frameId: string;
}

/**
 * `ok`: the receiver took the batch (ack it). `retry`: 429, 5xx, network, timeout or TLS
 * failure; send the same payload again after a backoff. `reject`: a 4xx other than 429, the
 * receiver will never take it; drop and count it.
 */
export type Outcome = (
  | { kind: 'ok' }
  | { kind: 'retry'; code: string; message: string; retryAfterMs?: number }
  | { kind: 'reject'; code: string; message: string }
) &
  Reply;

/** What an HTTP receiver answered (status and the start of its body), for the drain test endpoint. */
export interface Reply {
  status?: number;
  reply?: string;
}

export interface Transport {
  encode(lines: readonly DrainLine[], frameId: string): Payload;
  send(payload: Payload, signal?: AbortSignal): Promise<Outcome>;
  close(): Promise<void>;
}

/**
 * One row of the transport registry (./index.ts): the URL schemes it serves, what it refuses
 * in a URL, the URL's stored form (compared for duplicates), and the transport itself.
 */
export interface DrainKind {
  schemes: readonly string[];
  /** Speaks HTTP: may carry headers and a signature. */
  http: boolean;
  /** What is wrong with an otherwise parsed URL of this scheme, or undefined. */
  problem(u: URL): string | undefined;
  canonical(u: URL): string;
  create(target: DrainTarget, opts: TransportOptions): Transport;
}

export interface DrainTarget {
  url: URL;
  /** The drain token `d.` + UUID (HOSTNAME for syslog drains, a header for HTTPS drains). */
  token: string;
  /** HTTP and OTLP drains: the key of the signature header (./sign.ts); none, no signature. */
  secret?: string;
  /** HTTP and OTLP drains: extra request headers the operator set (an API key, say). */
  headers?: Readonly<Record<string, string>>;
  /** The channel's id and name (the app): OTLP drains name them in the resource. */
  channel?: number;
  app?: string;
}

export interface TransportOptions {
  /** Extra trusted CAs (PEM), for tests and private receivers; the system roots stay trusted. */
  ca?: string | Buffer;
  connectTimeoutMs: number;
  /** HTTP: request sent → response headers; also the response body. Syslog: one write. */
  responseTimeoutMs: number;
}

export const DEFAULT_TRANSPORT_OPTIONS: TransportOptions = { connectTimeoutMs: 5_000, responseTimeoutMs: 30_000 };

/** Node/OpenSSL codes for a certificate that does not verify (L14, docs/errors.md). */
const CERT_CODES = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'HOSTNAME_MISMATCH',
]);

/** A failed send as a retry outcome; certificate failures carry code L14. */
export function failure(err: unknown): Outcome {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : 'ERR_DRAIN';
  const message = String(e?.cause?.message ?? e?.message ?? err);
  if (CERT_CODES.has(code)) return { kind: 'retry', code: 'L14', message: `${code}: ${message}` };
  return { kind: 'retry', code, message };
}
