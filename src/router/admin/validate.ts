// Input rules of the control API (design.md §Control API): every check returns a typed value or
// throws ApiError('invalid_params') naming the field and the rule. Unknown fields are refused.
import { isIP } from 'node:net';
import { ApiError, rejectUnknown } from '../../shared/json-api';
import type { AppSettings, DynoInput } from '../store/index';
import { BALANCERS, DYNO_STATES, type Balancer, type DynoState } from '../table/route-table';

export const APP_NAME = /^[a-z][a-z0-9-]{2,29}$/;
export const DYNO_NAME = /^[a-z][a-z0-9_-]{0,29}\.[0-9]{1,4}$/;
/** RFC 1123 §2.1 label: letters, digits, hyphens; no hyphen first or last; 1–63 characters. */
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const invalid = (message: string): ApiError => new ApiError('invalid_params', message);

export function appName(raw: string): string {
  if (!APP_NAME.test(raw)) throw invalid(`app name ${JSON.stringify(raw)} must match ${APP_NAME.source}`);
  return raw;
}

export function dynoName(raw: string): string {
  if (!DYNO_NAME.test(raw)) throw invalid(`dyno name ${JSON.stringify(raw)} must match ${DYNO_NAME.source}`);
  return raw;
}

/** An RFC 1123 hostname, lower-cased, trailing dot dropped; `*.` allowed as a one-label wildcard. */
export function hostname(raw: string, field = 'host', allowWildcard = true): string {
  let host = raw.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  const labels = host.split('.');
  const wildcard = allowWildcard && labels[0] === '*' && labels.length >= 3;
  const rest = wildcard ? labels.slice(1) : labels;
  if (host.length === 0 || host.length > 253 || !rest.every((l) => LABEL.test(l))) {
    throw invalid(
      `${field} ${JSON.stringify(raw)} is not an RFC 1123 hostname${allowWildcard ? ' (or *.domain with at least two labels)' : ''}`,
    );
  }
  return host;
}

function bool(body: Record<string, unknown>, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${field} must be true or false`);
  return v;
}

function int(body: Record<string, unknown>, field: string, min: number, max: number, def?: number): number {
  const v = field in body ? body[field] : def;
  if (v === undefined) throw invalid(`${field} is required (an integer from ${min} to ${max})`);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(`${field} must be an integer from ${min} to ${max}`);
  }
  return v;
}

function oneOf<T extends string>(
  body: Record<string, unknown>,
  field: string,
  values: readonly T[],
  def?: T,
): T | undefined {
  const v = field in body ? body[field] : def;
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
    throw invalid(`${field} must be one of ${values.join(', ')}`);
  return v as T;
}

/** `PUT /v1/apps/:app` body. */
export function appSettings(body: Record<string, unknown>): AppSettings {
  rejectUnknown(body, ['maintenance', 'balancer', 'affinity', 'force_https']);
  const out: AppSettings = {};
  const maintenance = bool(body, 'maintenance');
  const affinity = bool(body, 'affinity');
  const balancer = oneOf<Balancer>(body, 'balancer', BALANCERS);
  if (maintenance !== undefined) out.maintenance = maintenance;
  if (affinity !== undefined) out.affinity = affinity;
  if (balancer !== undefined) out.balancer = balancer;
  const forceHttps = bool(body, 'force_https');
  if (forceHttps !== undefined) out.force_https = forceHttps;
  return out;
}

/** `PUT /v1/apps/:app/dynos/:dyno` body: `{host, port, ttl_s=30, state="up"}`. */
export function dynoInput(body: Record<string, unknown>): DynoInput {
  rejectUnknown(body, ['host', 'port', 'ttl_s', 'state']);
  const raw = body.host;
  if (typeof raw !== 'string') throw invalid('host is required: an IP address or an RFC 1123 hostname');
  const host = isIP(raw) ? raw : hostname(raw, 'host', false);
  return {
    host,
    port: int(body, 'port', 1, 65535),
    ttl_s: int(body, 'ttl_s', 1, 3600, 30),
    state: oneOf<DynoState>(body, 'state', DYNO_STATES, 'up')!,
  };
}
