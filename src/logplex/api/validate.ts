// Field rules of the v2 API (design.md §Logplex API): Logplex's clients send ids and counts as strings
// too, so those are coerced; everything else is exact. Errors name the field.
import { ApiError } from '../../shared/json-api';
import { NAME_RE } from '../store/index';

const NAME_RULE = 'a name of 1-64 characters [A-Za-z0-9_.-] starting with a letter or digit';
const bad = (field: string, rule: string): ApiError => new ApiError('invalid_params', `"${field}" must be ${rule}`);

/** An integer, or a string of digits (Logplex's `channel_id` and `num`). */
export function intField(
  body: Record<string, unknown>,
  field: string,
  opts: { min: number; max: number; def?: number },
): number {
  const v = body[field];
  if (v === undefined && opts.def !== undefined) return opts.def;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{1,15}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < opts.min || n > opts.max)
    throw bad(field, `an integer from ${opts.min} to ${opts.max}`);
  return n;
}

export function boolField(body: Record<string, unknown>, field: string, def: boolean): boolean {
  const v = body[field];
  if (v === undefined) return def;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw bad(field, 'a boolean');
}

export function nameField(body: Record<string, unknown>, field: string, required: true): string;
export function nameField(body: Record<string, unknown>, field: string, required: false): string | undefined;
export function nameField(body: Record<string, unknown>, field: string, required: boolean): string | undefined {
  const v = body[field];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || !NAME_RE.test(v)) throw bad(field, NAME_RULE);
  return v;
}

/** `tokens: [{name: "app"}, ...]` or plain `["app"]`; at most 32. */
export function tokenNames(body: Record<string, unknown>): string[] {
  const v = body.tokens;
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > 32) throw bad('tokens', 'an array of at most 32 token names or {name} objects');
  return v.map((item, i) => {
    const obj = typeof item === 'string' ? { name: item } : item;
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw bad(`tokens[${i}]`, 'a name or {name}');
    const rec = obj as Record<string, unknown>;
    const extra = Object.keys(rec).find((k) => k !== 'name');
    if (extra !== undefined)
      throw new ApiError('invalid_params', `unknown field "tokens[${i}].${extra}"; allowed: name`);
    if (typeof rec.name !== 'string' || !NAME_RE.test(rec.name)) throw bad(`tokens[${i}].name`, NAME_RULE);
    return rec.name;
  });
}

/** A path `:id` that is not a positive integer names no channel. */
export function channelIdParam(raw: string): number {
  const n = /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n)) throw new ApiError('not_found', `no channel ${raw}`);
  return n;
}
