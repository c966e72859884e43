// ExportLogsServiceRequest bodies, binary protobuf or OTLP/JSON, read with protobufjs from the
// OpenTelemetry project's own .proto files (otlp-proto/, copied from opentelemetry-proto v1.11).
// The files are read once, from the package root (dist/ and build/ hold only compiled TS, as
// for the viewer's assets). Both encodings come out as one plain shape (`toObject`).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as protobuf from 'protobufjs';

const SERVICE = 'opentelemetry/proto/collector/logs/v1/logs_service.proto';
const PACKAGE = 'opentelemetry.proto.collector.logs.v1';

/** An OTLP AnyValue as toObject gives it (one field set; int64 as a decimal string). */
export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: string;
}
export interface KeyValue {
  key?: string;
  value?: AnyValue;
}
export interface LogRecord {
  timeUnixNano?: string;
  observedTimeUnixNano?: string;
  severityNumber?: number;
  severityText?: string;
  body?: AnyValue;
  attributes?: KeyValue[];
}
export interface LogsRequest {
  resourceLogs?: { resource?: { attributes?: KeyValue[] }; scopeLogs?: { logRecords?: LogRecord[] }[] }[];
}

/** The package root's src/logplex/ingest/otlp-proto/, found by walking up from this compiled file. */
export function protoDir(): string {
  for (let dir = __dirname, i = 0; i < 8; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'src', 'logplex', 'ingest', 'otlp-proto');
    if (existsSync(join(candidate, SERVICE))) return candidate;
    if (existsSync(join(dir, 'otlp-proto', SERVICE))) return join(dir, 'otlp-proto');
  }
  throw Object.assign(new Error('OTLP .proto files not found (src/logplex/ingest/otlp-proto/)'), {
    code: 'SY_OTLP_PROTO',
  });
}

let types: { request: protobuf.Type; response: protobuf.Type } | undefined;

/** The request and response types, loaded on first use. */
export function otlpTypes(): { request: protobuf.Type; response: protobuf.Type } {
  if (types) return types;
  const dir = protoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(dir, target);
  root.loadSync(SERVICE);
  types = {
    request: root.lookupType(`${PACKAGE}.ExportLogsServiceRequest`),
    response: root.lookupType(`${PACKAGE}.ExportLogsServiceResponse`),
  };
  return types;
}

const PLAIN: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: String, defaults: false };

/** Decodes a request; throws an Error whose message says what is wrong with the bytes. */
export function decodeLogsRequest(body: Buffer, encoding: 'protobuf' | 'json'): LogsRequest {
  const { request } = otlpTypes();
  if (encoding === 'protobuf') return request.toObject(request.decode(body), PLAIN) as LogsRequest;
  const json: unknown = JSON.parse(body.toString('utf8'));
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('body must be a JSON object');
  // No `verify`: OTLP/JSON writes 64-bit integers as decimal strings, which fromObject reads and
  // verify refuses. fromObject throws a TypeError naming the field of a wrongly typed value.
  return request.toObject(request.fromObject(json), PLAIN) as LogsRequest;
}

/** An ExportLogsServiceResponse, with partial_success when some records were refused. */
export function encodeLogsResponse(
  encoding: 'protobuf' | 'json',
  rejected: number,
  errorMessage: string | undefined,
): Buffer {
  const body =
    rejected > 0 ? { partialSuccess: { rejectedLogRecords: rejected, errorMessage: errorMessage ?? '' } } : {};
  if (encoding === 'json') return Buffer.from(JSON.stringify(body));
  const { response } = otlpTypes();
  return Buffer.from(response.encode(response.fromObject(body)).finish());
}
