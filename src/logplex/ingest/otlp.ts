// POST /v1/logs (design.md §Ingest): OTLP/HTTP logs (OTLP specification, "OTLP/HTTP"), binary
// protobuf or JSON, so an app instrumented with an OpenTelemetry SDK logs straight into its
// channel. The channel token is the credential (Bearer, or Basic with it as password). Each
// LogRecord becomes one line, made into an RFC 5424 frame and handed to the same acceptor as
// POST /logs, so it is stored, tailed and drained like any other:
//   PRI       facility local7, severity from SeverityNumber (the inverse of the OTLP drains')
//   time      time_unix_nano, else observed_time_unix_nano, else arrival
//   PROCID    attribute logplex.process, else resource service.instance.id, else service.name, else `otlp`
//   MSG       the body (a non-string body as JSON), then the other attributes as logfmt
// Answers 200 with an ExportLogsServiceResponse in the request's encoding (partial_success
// counts refused records), 400 for an undecodable body, 401, 413, 415 and 503 as POST /logs.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, basicPassword } from '../../shared/json-api';
import { logfmt, type Fields } from '../../shared/log';
import { MAX_FRAME } from '../../shared/syslog/frame';
import { formatSyslog, formatTimestamp } from '../../shared/syslog/rfc5424';
import type { Frame } from '../accept';
import type { RouteModule } from '../server';
import type { TokenInfo } from '../store/index';
import type { TokenCache } from '../tokens';
import { channelToken, ingestRoute, mediaType, readInflated, type HttpIngestDeps } from './http';
import { decodeLogsRequest, encodeLogsResponse, type AnyValue, type KeyValue, type LogsRequest } from './otlp-decode';

const ENCODINGS: Readonly<Record<string, 'protobuf' | 'json'>> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
};
/** local7 (23 << 3), as the dyno agent's lines. */
const FACILITY = 23 * 8;
/** A body nested deeper than this is cut (`…`) when written as JSON. */
const MAX_DEPTH = 8;

/** The same as `POST /logs`: records go through the same acceptor, token cache and metrics. */
export type OtlpIngestDeps = HttpIngestDeps;

export function otlpIngestRoutes(deps: OtlpIngestDeps): RouteModule {
  // A 401 is the API's own, without a WWW-Authenticate challenge.
  return ingestRoute('/v1/logs', deps, ingest);
}

async function ingest(deps: OtlpIngestDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const type = mediaType(req);
  const encoding = ENCODINGS[type];
  if (!encoding)
    throw new ApiError(
      'unsupported_media_type',
      `Content-Type must be application/x-protobuf or application/json, not ${JSON.stringify(type || '(none)')}`,
    );
  const info = await authenticate(deps.tokens, req);
  const body = await readInflated(req);
  let request: LogsRequest;
  try {
    request = decodeLogsRequest(body, encoding);
  } catch (err) {
    throw new ApiError(
      'invalid_params',
      `not an OTLP ExportLogsServiceRequest (${encoding}): ${(err as Error).message}`,
    );
  }
  const report = await deps.acceptor.forToken(info, framesOf(request, Date.now()), 0);
  if (report.storeFailed) throw new ApiError('unavailable', 'log store unavailable; retry');
  deps.metrics.ingestRequests.inc({ status: 200 });
  res.writeHead(200, { 'content-type': type === 'application/json' ? 'application/json' : 'application/x-protobuf' });
  res.end(encodeLogsResponse(encoding, report.rejected, report.firstError));
}

/** Bearer TOKEN or Basic USER:TOKEN, where TOKEN is a channel token. */
async function authenticate(tokens: TokenCache, req: IncomingMessage): Promise<TokenInfo> {
  const header = req.headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  const token = bearer ?? basicPassword(header);
  if (token === undefined) throw new ApiError('unauthorized', 'missing Authorization: Bearer <channel token>');
  return channelToken(tokens, token);
}

/** Every LogRecord of the request as an RFC 5424 frame, in order. */
export function framesOf(request: LogsRequest, nowMs: number): Frame[] {
  const frames: Frame[] = [];
  for (const rl of request.resourceLogs ?? []) {
    const resource = attributesOf(rl.resource?.attributes);
    const fallbackPs = str(resource['service.instance.id']) ?? str(resource['service.name']) ?? 'otlp';
    for (const sl of rl.scopeLogs ?? []) {
      for (const r of sl.logRecords ?? []) {
        const attrs = attributesOf(r.attributes);
        const ps = str(attrs['logplex.process']) ?? fallbackPs;
        delete attrs['logplex.process'];
        const text = bodyText(r.body);
        const rest = logfmt(attrs as Fields);
        let msg = Buffer.from(rest ? (text ? `${text} ${rest}` : rest) : text, 'utf8');
        // The frame limit of every ingest path (design.md §Ingest): longer lines are cut and marked.
        const truncated = msg.length > MAX_FRAME;
        if (truncated) msg = msg.subarray(0, MAX_FRAME);
        const frame = formatSyslog({
          pri: FACILITY + syslogSeverity(r.severityNumber ?? 0),
          timestamp: timeOf(r.timeUnixNano) ?? timeOf(r.observedTimeUnixNano) ?? formatTimestamp(nowMs),
          hostname: 'host',
          appName: 'otlp',
          procId: ps,
          msg,
        });
        frames.push({ frame, truncated });
      }
    }
  }
  return frames;
}

/** SeverityNumber (1-24) → syslog severity (RFC 5424 §6.2.1); unspecified is informational. */
export function syslogSeverity(n: number): number {
  if (n >= 24) return 0;
  if (n === 23) return 1;
  if (n >= 21) return 2;
  if (n >= 17) return 3;
  if (n >= 13) return 4;
  if (n >= 10) return 5;
  if (n === 9 || n <= 0) return 6;
  return 7;
}

/** Nanoseconds since the epoch (a decimal string) as the line's time, microseconds kept. */
function timeOf(nanos: string | undefined): string | undefined {
  if (!nanos || !/^[0-9]{1,20}$/.test(nanos) || /^0+$/.test(nanos)) return undefined;
  const n = BigInt(nanos);
  const ms = Number(n / 1_000_000n);
  if (ms > 253402300799999) return undefined; // after 9999-12-31: not an RFC 3339 time
  return formatTimestamp(ms, Number((n / 1000n) % 1000n));
}

function attributesOf(kvs: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  // A logfmt key has no space, `=` or quote: anything else in an attribute's name becomes `_`.
  for (const kv of kvs ?? []) if (kv.key) out[kv.key.replace(/[^\x21\x23-\x3c\x3e-\x7e]/g, '_')] = scalar(kv.value);
  return out;
}

const str = (v: string | number | boolean | undefined): string | undefined =>
  v === undefined || v === '' ? undefined : String(v);

function scalar(v: AnyValue | undefined): string | number | boolean {
  if (!v) return '';
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return v.intValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  return JSON.stringify(plain(v, 0));
}

function bodyText(v: AnyValue | undefined): string {
  if (!v) return '';
  if (v.stringValue !== undefined) return v.stringValue;
  const s = scalar(v);
  return typeof s === 'string' ? s : String(s);
}

/** An AnyValue as plain JSON (arrays and maps nested at most MAX_DEPTH). */
function plain(v: AnyValue | undefined, depth: number): unknown {
  if (!v) return null;
  if (depth > MAX_DEPTH) return '…';
  if (v.arrayValue) return (v.arrayValue.values ?? []).map((x) => plain(x, depth + 1));
  if (v.kvlistValue)
    return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key ?? '', plain(kv.value, depth + 1)]));
  if (v.bytesValue !== undefined) return v.bytesValue;
  if (v.intValue !== undefined) {
    const n = Number(v.intValue);
    return Number.isSafeInteger(n) ? n : v.intValue;
  }
  return scalar(v);
}
