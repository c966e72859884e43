// Step 1 (design.md §Request path): the request line, RFC 9112 §3. Any token method is forwarded
// (RFC 9110 §9.1: methods are extensible) except CONNECT, which a router does not tunnel. Targets:
// origin-form; absolute-form (rewritten to origin-form, its authority kept, RFC 9112 §3.2.2);
// asterisk-form for OPTIONS only. HTTP/1.0 and HTTP/1.1 only; any other version is refused with 505.
import { REQUEST_LIMITS } from './limits';
import { TOKEN, charTable } from '../http1/chars';
import { RequestParseError } from './parse-error';

export interface RequestLine {
  readonly method: string;
  readonly target: string;
  /** The authority of an absolute-form target. */
  readonly authority: string | undefined;
  readonly minor: number;
}

/** RFC 3986 URI characters (and `%`); no CTL, SP, DQUOTE, `<>\^`{|}` — what a dyno's parser expects. */
const URI = charTable((c) => /[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]/.test(String.fromCharCode(c)));

export function requestLine(head: string, eol: number): RequestLine {
  if (eol > REQUEST_LIMITS.lineBytes) throw new RequestParseError('too-large', 'request line', 'head');
  let i = 0;
  while (i < eol && TOKEN[head.charCodeAt(i)] === 1) i++;
  if (i === 0 || head.charCodeAt(i) !== 0x20) throw bad('method');
  const method = head.slice(0, i);
  const from = ++i;
  while (i < eol && URI[head.charCodeAt(i)] === 1) i++;
  if (i === from || head.charCodeAt(i) !== 0x20) throw bad('target');
  let target = head.slice(from, i);
  let minor: number;
  try {
    minor = version(head, i + 1, eol);
  } catch (err) {
    // The router line still names what was asked for.
    (err as RequestParseError).method = method;
    (err as RequestParseError).target = target;
    throw err;
  }
  if (method === 'CONNECT') throw bad('CONNECT is not tunnelled');
  let authority: string | undefined;
  if (target.charCodeAt(0) === 0x2f /* / */) {
    // origin-form
  } else if (target === '*') {
    if (method !== 'OPTIONS') throw bad('asterisk-form');
  } else {
    const m = /^https?:\/\/([^/?#]+)(.*)$/i.exec(target);
    if (m === null || m[1]!.includes('@')) throw bad('target');
    authority = m[1]!;
    const rest = m[2]!;
    target = rest === '' ? '/' : rest.charCodeAt(0) === 0x3f /* ? */ ? '/' + rest : rest;
    if (target.charCodeAt(0) !== 0x2f) throw bad('target');
  }
  return { method, target, authority, minor };
}

function version(head: string, at: number, eol: number): number {
  // `HTTP/1.` then the minor digit: compared in place, no string made for the common case.
  if (eol - at === 8 && head.startsWith('HTTP/1.', at)) {
    const minor = head.charCodeAt(at + 7);
    if (minor === 0x31) return 1;
    if (minor === 0x30) return 0;
  }
  const v = head.slice(at, eol);
  // RFC 9110 §6.2: a well-formed version we do not serve on this port (HTTP/2.0, HTTP/0.9, …) is 505.
  if (/^HTTP\/[0-9]\.[0-9]$/.test(v)) throw new RequestParseError('version', v, 'head');
  throw bad('version');
}

const bad = (reason: string): RequestParseError => new RequestParseError('malformed', reason, 'head');
