// The parts of a drain a POST may set besides its URL (design.md §Logplex API): request headers
// (HTTP and OTLP drains only) and a filter. Each refusal is a 422 naming the field and the rule.
import { ApiError } from '../../shared/json-api';
import { parseFilter } from '../drains/filter';
import type { DrainExtras } from '../drains/store/index';

/** Headers per drain, and bytes per value. */
export const HEADER_LIMITS = { count: 16, value: 4096 } as const;
/** RFC 9110 §5.1 field-name (a token). */
const NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** RFC 9110 §5.5 field-value without obs-fold: no CR, LF or NUL. */
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers the transport writes or the connection owns; the operator's would be lost or harmful. */
const RESERVED =
  /^(host|content-(type|length|encoding)|transfer-encoding|connection|keep-alive|te|trailer|upgrade|expect|user-agent|proxy-.*|logplex-.*|switchyard-.*)$/i;

const bad = (msg: string): ApiError => new ApiError('unprocessable_entity', msg);

export function drainExtras(body: Record<string, unknown>, http: boolean): Omit<DrainExtras, 'secret' | 'app'> {
  const out: Omit<DrainExtras, 'secret' | 'app'> = {};
  if (body.headers !== undefined) {
    if (!http) throw bad('"headers" are for http(s):// and otlp drains only');
    out.headers = headers(body.headers);
  }
  if (body.filter !== undefined) {
    const f = parseFilter(body.filter);
    if (typeof f === 'string') throw bad(f);
    out.filter = f;
  }
  return out;
}

function headers(raw: unknown): Record<string, string> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('"headers" must be an object');
  const entries = Object.entries(raw);
  if (entries.length > HEADER_LIMITS.count) throw bad(`at most ${HEADER_LIMITS.count} headers`);
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!NAME.test(name)) throw bad(`header name ${JSON.stringify(name)} is not an RFC 9110 token`);
    if (RESERVED.test(name)) throw bad(`header ${name} is set by Switchyard and cannot be replaced`);
    if (typeof value !== 'string' || value.length > HEADER_LIMITS.value || !VALUE.test(value))
      throw bad(`header ${name}: the value must be a string of at most ${HEADER_LIMITS.value} characters, no CR/LF`);
    out[name.toLowerCase()] = value;
  }
  return out;
}
