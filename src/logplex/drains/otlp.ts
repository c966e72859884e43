// otlp+http:// and otlps+http:// drains (design.md §Drain delivery): OTLP/HTTP (OTLP
// specification, "OTLP/HTTP") to a collector. A batch is one ExportLogsServiceRequest, encoded
// once by the OpenTelemetry project's own serializers (@opentelemetry/otlp-transformer):
// binary protobuf by default, JSON with `?format=json`. POST to the URL's path, `/v1/logs` when
// it has none; the drain's headers, its signature, retries on 429/5xx after Retry-After and
// status/L-lines are the HTTP drain's (./http-post.ts). A 2xx with a partial_success still
// acks the batch: the receiver has said it will never take the rest (as a 4xx does).
import { JsonLogsSerializer, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { DrainPoster } from './http-post';
import { USER_AGENT } from './https';
import { hrTimeNow, logRecord, recordContext } from './otlp-record';
import type { DrainLine } from './store/index';
import type { DrainKind, DrainTarget, Outcome, Payload, Transport, TransportOptions } from './transport';

export const OTLP_LOGS_PATH = '/v1/logs';
const FORMATS = { protobuf: 'application/x-protobuf', json: 'application/json' } as const;
type Format = keyof typeof FORMATS;

export class OtlpTransport implements Transport {
  #poster: DrainPoster;
  #format: Format;
  #ctx: ReturnType<typeof recordContext>;

  constructor(target: DrainTarget, opts: TransportOptions) {
    const u = target.url;
    this.#format = formatOf(u) ?? 'protobuf';
    this.#ctx = recordContext(target.app, target.channel ?? 0);
    const ours: Record<string, string> = { 'content-type': FORMATS[this.#format], 'user-agent': USER_AGENT };
    if (u.username || u.password) {
      const cred = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
      ours.authorization = `Basic ${Buffer.from(cred).toString('base64')}`;
    }
    const scheme = u.protocol === 'otlps+http:' ? 'https:' : 'http:';
    const path = u.pathname && u.pathname !== '/' ? u.pathname : OTLP_LOGS_PATH;
    this.#poster = new DrainPoster(target, `${scheme}//${u.host}`, path, ours, opts);
  }

  encode(lines: readonly DrainLine[], frameId: string): Payload {
    const observed = hrTimeNow();
    const records = lines.map((l) => logRecord(l, this.#ctx, observed));
    const bytes =
      this.#format === 'json'
        ? JsonLogsSerializer.serializeRequest(records)
        : ProtobufLogsSerializer.serializeRequest(records);
    if (!bytes) throw new Error('OTLP serializer returned nothing');
    return { body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), count: lines.length, frameId };
  }

  send(payload: Payload, signal?: AbortSignal): Promise<Outcome> {
    return this.#poster.post(payload.body, {}, signal);
  }

  close(): Promise<void> {
    return this.#poster.close();
  }
}

function formatOf(u: URL): Format | undefined {
  const f = u.searchParams.get('format');
  return f === 'protobuf' || f === 'json' ? f : undefined;
}

/** The registry's row for the OTLP/HTTP drains (./index.ts). */
export const OTLP_DRAIN: DrainKind = {
  schemes: ['otlp+http:', 'otlps+http:'],
  http: true,
  problem(u: URL): string | undefined {
    if (u.hash) return 'a fragment is not allowed';
    for (const k of u.searchParams.keys()) if (k !== 'format') return `unknown query parameter "${k}" (only format)`;
    if (u.searchParams.has('format') && !formatOf(u)) return 'format must be protobuf or json';
    return undefined;
  },
  // The host lower-cased (an `otlp+http:` URL's host is opaque to WHATWG parsing), the default
  // path and the default format written out or left out the same way for every spelling.
  canonical(u: URL): string {
    const user = u.username || u.password ? `${u.username}${u.password ? ':' + u.password : ''}@` : '';
    const path = u.pathname && u.pathname !== '/' ? u.pathname : OTLP_LOGS_PATH;
    const query = formatOf(u) === 'json' ? '?format=json' : '';
    return `${u.protocol}//${user}${u.host.toLowerCase()}${path}${query}`;
  },
  create: (t, o) => new OtlpTransport(t, o),
};
