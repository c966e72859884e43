// A channel line as an OTLP LogRecord (design.md §Drains; OpenTelemetry Logs Data Model):
//   time           the line's time (microseconds kept)     observed time   when the drain framed it
//   severity       from the syslog PRI (RFC 5424 §6.2.1)   body            MSG
//   attributes     logplex.source (`app`, `heroku`), logplex.process (`web.1`, `router`),
//                  syslog.facility, and for router lines each logfmt field as `router.KEY`
//   resource       service.name and logplex.channel.name = the app; logplex.channel.id
// MSGID and STRUCTURED-DATA are not kept in the channel log (design.md §Stores), so no line has them.
import type { HrTime } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { DrainLine } from './store/index';
import { parseLogfmt } from './logfmt';

type Attributes = Record<string, string | number>;
type Scope = ReadableLogRecord['instrumentationScope'];

/**
 * Syslog severity (PRI mod 8) → OTLP SeverityNumber and text, after the OpenTelemetry Logs
 * Data Model's syslog mapping: emerg/alert/crit are the FATAL range, notice is INFO2.
 */
export const SEVERITY: readonly (readonly [number, string])[] = [
  [24, 'emerg'],
  [23, 'alert'],
  [21, 'crit'],
  [17, 'err'],
  [13, 'warning'],
  [10, 'notice'],
  [9, 'info'],
  [5, 'debug'],
];

const SCOPE: Scope = { name: 'switchyard-logplex' };

/** What one drain's records share: the resource names the app. */
export function recordContext(
  app: string | undefined,
  channel: number,
): { resource: ReadableLogRecord['resource']; scope: Scope } {
  const attributes: Attributes = { 'logplex.channel.id': channel };
  if (app) {
    attributes['service.name'] = app;
    attributes['logplex.channel.name'] = app;
  }
  // The serializer reads `attributes` (and `schemaUrl`) of the resource; nothing else of the SDK's Resource.
  return { resource: { attributes } as unknown as ReadableLogRecord['resource'], scope: SCOPE };
}

export function logRecord(line: DrainLine, ctx: ReturnType<typeof recordContext>, observed: HrTime): ReadableLogRecord {
  const body = typeof line.msg === 'string' ? line.msg : line.msg.toString('utf8');
  const [severityNumber, severityText] = SEVERITY[line.pri & 7]!;
  const attributes: Attributes = {
    'logplex.source': line.source,
    'logplex.process': line.ps,
    'syslog.facility': line.pri >> 3,
  };
  if (line.ps === 'router' && line.source === 'heroku') {
    for (const [k, v] of parseLogfmt(body)) attributes[`router.${k}`] = /^[0-9]{1,15}$/.test(v) ? Number(v) : v;
  }
  return {
    hrTime: hrTimeOf(line.time) ?? observed,
    hrTimeObserved: observed,
    severityNumber,
    severityText,
    body,
    resource: ctx.resource,
    instrumentationScope: ctx.scope,
    attributes,
    droppedAttributesCount: 0,
  };
}

const TIME = /^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})$/;

/** An RFC 3339 time (as lines keep it) with all its fraction digits; undefined when unreadable. */
export function hrTimeOf(time: string): HrTime | undefined {
  const m = TIME.exec(time);
  if (!m) return undefined;
  const ms = Date.parse(m[1]! + m[3]!);
  if (!Number.isFinite(ms)) return undefined;
  return [Math.floor(ms / 1000), Number((m[2] ?? '').padEnd(9, '0'))];
}

export function hrTimeNow(nowMs = Date.now()): HrTime {
  return [Math.floor(nowMs / 1000), (nowMs % 1000) * 1_000_000];
}
