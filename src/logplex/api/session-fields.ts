// The body of POST /v2/sessions (design.md §Logplex API) as a SessionRecord: Logplex's fields
// (channel_id, num, tail, dyno|ps, source) and ours (q, since, until, since_id, format). Errors
// name the field.
import { ApiError, rejectUnknown } from '../../shared/json-api';
import { formatTimestamp } from '../../shared/syslog/rfc5424';
import type { SessionRecord } from '../store/index';
import { parseQuery, QueryError, type LineQuery } from '../tail/search';
import { boolField, intField, nameField } from './validate';

const PS_RE = /^[A-Za-z0-9_.-]{1,64}$/;
/** `10m`, `2h`, `30s`, `1d`: a time that far back from now. */
const AGO_RE = /^([0-9]{1,9})(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export const SESSION_FIELDS = [
  'channel_id',
  'num',
  'tail',
  'dyno',
  'ps',
  'source',
  'q',
  'since',
  'until',
  'since_id',
  'format',
] as const;

export function sessionRecord(body: Record<string, unknown>, maxNum: number, now = Date.now()): SessionRecord {
  rejectUnknown(body, SESSION_FIELDS);
  const channel = intField(body, 'channel_id', { min: 1, max: Number.MAX_SAFE_INTEGER });
  const num = intField(body, 'num', { min: 0, max: maxNum, def: Math.min(100, maxNum) });
  const tail = boolField(body, 'tail', false);
  const dyno = psField(body, 'dyno');
  const ps = psField(body, 'ps');
  if (dyno !== undefined && ps !== undefined && dyno !== ps)
    throw new ApiError('invalid_params', '"ps" is an alias of "dyno"; give one, or the same value');
  const source = nameField(body, 'source', false);
  const q = body.q;
  if (q !== undefined && typeof q !== 'string') throw new ApiError('invalid_params', '"q" must be a string');
  if (q) queryTerms(q);
  const since = timeField(body, 'since', now);
  const until = timeField(body, 'until', now);
  const sinceId = body.since_id === undefined ? undefined : intField(body, 'since_id', { min: 0, max: 2 ** 53 - 1 });
  const format = body.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new ApiError('invalid_params', '"format" must be "text" or "json"');
  return {
    channel,
    num,
    tail,
    ...((dyno ?? ps) ? { ps: dyno ?? ps } : {}),
    ...(source ? { source } : {}),
    ...(q ? { q } : {}),
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(sinceId !== undefined ? { sinceId } : {}),
    ...(format === 'json' ? { format } : {}),
  };
}

/** The query a stored session record describes (its `q` was checked when it was made). */
export function queryOf(rec: SessionRecord): LineQuery {
  return {
    ...(rec.ps ? { ps: rec.ps } : {}),
    ...(rec.source ? { source: rec.source } : {}),
    ...(rec.q ? { terms: queryTerms(rec.q) } : {}),
    ...(rec.since ? { since: rec.since } : {}),
    ...(rec.until ? { until: rec.until } : {}),
  };
}

function queryTerms(q: string): ReturnType<typeof parseQuery> {
  try {
    return parseQuery(q);
  } catch (err) {
    if (err instanceof QueryError) throw new ApiError('invalid_params', `"q": ${err.message}`);
    throw err;
  }
}

function psField(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !PS_RE.test(v))
    throw new ApiError('invalid_params', `"${field}" must be a dyno name or prefix (1-64 of [A-Za-z0-9_.-])`);
  return v;
}

/** An RFC 3339 time or `10m`-style age, as the stored time shape (which sorts as a string). */
function timeField(body: Record<string, unknown>, field: string, now: number): string | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  const ago = typeof v === 'string' ? AGO_RE.exec(v) : null;
  const ms = ago ? now - Number(ago[1]) * UNIT_MS[ago[2] as keyof typeof UNIT_MS] : Date.parse(String(v));
  if (typeof v !== 'string' || !Number.isFinite(ms))
    throw new ApiError('invalid_params', `"${field}" must be an RFC 3339 time or an age like 10m, 2h, 1d`);
  return formatTimestamp(ms);
}
