// Step 1 of the request path (design.md §Request path): limits and framing rules Node's parser does not
// enforce itself. llhttp (strict, insecureHTTPParser off) already refuses both Content-Length and
// Transfer-Encoding, differing duplicate Content-Lengths, bad chunk sizes, obs-fold and bare LF
// (server.ts turns those into 400 H26); what is left is checked here, before any dyno is touched.
import type { IncomingMessage } from 'node:http';
import type { HCode } from './errors';

/** design.md §Request path, step 1: each of the request line and header lines at most 8 KiB, at most 100 headers. */
export const LIMITS = Object.freeze({
  lineBytes: 8 * 1024,
  headers: 100,
  /** Node's maxHeaderSize is a total: room for 100 full lines plus the request line. */
  headerBytes: 101 * 8 * 1024,
});

export function checkHead(req: IncomingMessage): HCode | undefined {
  const raw = req.rawHeaders;
  // "GET " + url + " HTTP/1.1": the request line.
  if (req.method!.length + req.url!.length + 10 > LIMITS.lineBytes) return 'H25';
  if (raw.length > LIMITS.headers * 2) return 'H25';
  let contentLengths = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length + raw[i + 1]!.length + 2 > LIMITS.lineBytes) return 'H25';
    // RFC 9112 §6.3: a repeated Content-Length, even with the same value, is refused (smuggling).
    if (name.length === 14 && name.toLowerCase() === 'content-length' && ++contentLengths > 1) return 'H26';
  }
  const te = req.headers['transfer-encoding'];
  // RFC 9112 §6.1: we accept only a plain `chunked` coding; anything else is a framing we cannot trust.
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked') return 'H26';
  return undefined;
}

/** Whether the request carries a body to stream upstream (RFC 9112 §6.3). */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const cl = req.headers['content-length'];
  return cl !== undefined && cl !== '0';
}
