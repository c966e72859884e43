// Signed HTTP and OTLP deliveries (design.md §Drain delivery): every POST of a drain that has a
// secret carries `Switchyard-Timestamp` (Unix seconds) and `Switchyard-Signature: v1=HEX`, the
// HMAC-SHA256 (RFC 2104) of `TIMESTAMP.BODY` under the drain's secret. The timestamp is inside
// the MAC, so a receiver that refuses old timestamps also refuses replays. A retry sends the same
// body with a fresh timestamp and signature.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'switchyard-signature';
export const TIMESTAMP_HEADER = 'switchyard-timestamp';
/** The secret's bytes before base64url: 256 bits, HMAC-SHA256's block-sized key strength. */
const SECRET_BYTES = 32;

export function newDrainSecret(): string {
  return `ds.${randomBytes(SECRET_BYTES).toString('base64url')}`;
}

export function signature(secret: string, timestamp: string, body: Buffer | string): string {
  return 'v1=' + createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The two headers of one send. */
export function signedHeaders(secret: string, body: Buffer, nowMs = Date.now()): Record<string, string> {
  const ts = String(Math.floor(nowMs / 1000));
  return { [TIMESTAMP_HEADER]: ts, [SIGNATURE_HEADER]: signature(secret, ts, body) };
}

/** A receiver's check (docs/operations.md shows the same in ten lines): MAC, then age. */
export function verifySignature(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: Buffer,
  opts: { nowMs?: number; toleranceS?: number } = {},
): boolean {
  const { timestamp, signature: sig } = headers;
  if (!timestamp || !sig || !/^[0-9]{1,12}$/.test(timestamp)) return false;
  const want = Buffer.from(signature(secret, timestamp, body));
  const got = Buffer.from(sig);
  if (want.length !== got.length || !timingSafeEqual(want, got)) return false;
  const age = Math.abs((opts.nowMs ?? Date.now()) / 1000 - Number(timestamp));
  return age <= (opts.toleranceS ?? 300);
}
