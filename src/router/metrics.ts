// Every router metric, named in one place. The control plane's come first;
// the data plane adds its own here.
import { Counter, Gauge, type MetricObjectWithValues, type MetricValueWithName, type Registry } from 'prom-client';
import { LATENCY_BUCKETS, metricName } from '../shared/metrics';
import { MAX_IDLE_PER_DYNO } from './pools';
import type { PoolCounts } from './upstream/pool';

const n = (name: string): string => metricName('router', name);

export interface RouterMetrics {
  /** Route-table size by kind: apps, domains, dynos, routable. */
  tableSize: Gauge<'kind'>;
  /** Seconds since the table last matched the store in full (load or resync). */
  tableAge: Gauge;
  /** Seconds since the store was last reachable; 0 while it is. */
  tableStale: Gauge;
  /** 1 while the node routes on a table it cannot refresh. */
  degraded: Gauge;
  /** route-events that reloaded an app (result: applied, stale = older than what we had, error). */
  eventsApplied: Counter<'result'>;
  /** Full loads and resyncs by result (ok, error, store_reset). */
  resyncs: Counter<'result'>;
  /** Times the store came back with another generation (it lost its data) and was not applied. */
  storeResets: Counter;
  /** Apps waiting for a reload (bounded; past the bound a full resync is scheduled). */
  reloadQueue: Gauge;
  /** Control API requests by route pattern, method and status. */
  adminRequests: Counter<'route' | 'method' | 'status'>;
  /** Set by table/sync.ts: read when /metrics is scraped, so staleness keeps growing between events. */
  tableSource: { read?: () => { ageSeconds: number; staleSeconds: number; degraded: boolean } };
  /** Redis commands sent and not answered (bounded while Redis is silent); read at scrape from `storeSource`. */
  redisInFlight: Gauge;
  storeSource: { inFlight?: () => number };
}

export function createRouterMetrics(registry: Registry): RouterMetrics {
  const registers = [registry];
  const tableSource: RouterMetrics['tableSource'] = {};
  const storeSource: RouterMetrics['storeSource'] = {};
  return {
    tableSource,
    storeSource,
    redisInFlight: new Gauge({
      name: n('redis_commands_in_flight'),
      help: 'Redis commands sent and not answered yet (at most 10,000 per connection while Redis does not answer)',
      registers,
      collect() {
        this.set(storeSource.inFlight?.() ?? 0);
      },
    }),
    tableSize: new Gauge({
      name: n('route_table_size'),
      help: 'route-table entries by kind (apps, domains, dynos, routable)',
      labelNames: ['kind'],
      registers,
    }),
    tableAge: new Gauge({
      name: n('route_table_age_seconds'),
      help: 'seconds since the route table last matched the store in full',
      registers,
      collect() {
        const s = tableSource.read?.();
        if (s) this.set(s.ageSeconds);
      },
    }),
    tableStale: new Gauge({
      name: n('route_table_stale_seconds'),
      help: 'seconds since the store was last reachable (0 while it is)',
      registers,
      collect() {
        const s = tableSource.read?.();
        if (s) this.set(s.staleSeconds);
      },
    }),
    degraded: new Gauge({
      name: n('degraded'),
      help: '1 while the node routes on a table it cannot refresh',
      registers,
      collect() {
        const s = tableSource.read?.();
        if (s) this.set(s.degraded ? 1 : 0);
      },
    }),
    eventsApplied: new Counter({
      name: n('route_events_total'),
      help: 'route-events handled, by result (applied, stale, error)',
      labelNames: ['result'],
      registers,
    }),
    resyncs: new Counter({
      name: n('route_table_resyncs_total'),
      help: 'full route-table loads and resyncs, by result',
      labelNames: ['result'],
      registers,
    }),
    storeResets: new Counter({
      name: n('store_resets_total'),
      help: 'times the route store came back without its generation (lost its data) and was not applied',
      registers,
    }),
    reloadQueue: new Gauge({
      name: n('route_reload_queue'),
      help: 'apps waiting for a reload after a route-event',
      registers,
    }),
    adminRequests: new Counter({
      name: n('admin_requests_total'),
      help: 'control API requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
  };
}

// ---- data plane (design.md §Request path) ----

export interface DataPlaneMetrics {
  /** Requests by app, status class (2xx…5xx, 499) and H code (`none` when forwarded fine). */
  readonly requests: Counter<'app' | 'class' | 'code'>;
  /** requests{app, class, code} += 1, as plain numbers read when scraped (three Map lookups, no allocation). */
  countRequest(app: string, statusClass: string, code: string): void;
  readonly unknownHost: Counter<string>;
  readonly serviceSeconds: LatencyHistogram;
  readonly connectSeconds: LatencyHistogram;
  /** Live counts the gauges read when scraped: the request path adds to a number, not a metric. */
  readonly live: { inFlight: number; clientConnections: number; websockets: number };
  /** Dyno connections of the upstream pools (upstream/pool.ts counts them; read when scraped). */
  readonly dynoConnections: PoolCounts;
  readonly dynoConnectionsGauge: Gauge<'state'>;
  readonly inFlight: Gauge<string>;
  /** Failures of a dyno or of the client, by H code (H12, H13, H19, H21, …). */
  readonly upstreamErrors: Counter<'code'>;
  /** Extra attempts, by reason: `connect` (H19/H21 on another dyno) or `keepalive-race`. */
  readonly retries: Counter<'reason'>;
  readonly ejections: Counter<string>;
  readonly clientConnections: Gauge<string>;
  readonly websockets: Gauge<string>;
  /** Entries the access-log sink refused (its buffer was full). */
  readonly accessLogDropped: Counter<string>;
  /** Set by server.ts: the request-buffering budget the two buffer gauges read when scraped. */
  readonly bufferSource: { read?: () => { requests: number; bytes: number } };
  readonly bufferedRequests: Gauge<string>;
  readonly bufferedBytes: Gauge<string>;
}

export function createDataPlaneMetrics(registry: Registry): DataPlaneMetrics {
  const r = [registry];
  const live = { inFlight: 0, clientConnections: 0, websockets: 0 };
  const bufferSource: DataPlaneMetrics['bufferSource'] = {};
  const dynoConnections: PoolCounts = { open: 0, idle: 0 };
  const liveGauge = (name: string, help: string, key: keyof typeof live): Gauge<string> =>
    new Gauge({
      name: n(name),
      help,
      registers: r,
      collect() {
        this.set(live[key]);
      },
    });
  // Counted in plain numbers per (app, class, code) and handed to prom-client when scraped: its
  // labelled inc() hashes the labels on every call, which showed up in request-path profiles.
  // As bounded as the labels themselves: apps × status classes × H codes.
  const tally = new Map<string, Map<string, Map<string, number>>>();
  const requests = new Counter({
    name: n('requests_total'),
    help: 'requests by app, status class and H code',
    labelNames: ['app', 'class', 'code'] as const,
    registers: r,
    collect() {
      this.reset();
      for (const [app, byClass] of tally)
        for (const [cls, byCode] of byClass) for (const [code, v] of byCode) this.inc({ app, class: cls, code }, v);
    },
  });
  return {
    live,
    dynoConnections,
    dynoConnectionsGauge: new Gauge({
      name: n('dyno_connections'),
      help: `connections to dynos: open (busy or idle), and idle in the keep-alive pools (at most ${MAX_IDLE_PER_DYNO} per dyno)`,
      labelNames: ['state'],
      registers: r,
      collect() {
        this.set({ state: 'open' }, dynoConnections.open);
        this.set({ state: 'idle' }, dynoConnections.idle);
      },
    }),
    requests,
    countRequest(app, statusClass, code) {
      let byClass = tally.get(app);
      if (byClass === undefined) tally.set(app, (byClass = new Map<string, Map<string, number>>()));
      let byCode = byClass.get(statusClass);
      if (byCode === undefined) byClass.set(statusClass, (byCode = new Map<string, number>()));
      byCode.set(code, (byCode.get(code) ?? 0) + 1);
    },
    unknownHost: new Counter({
      name: n('unknown_host_total'),
      help: 'requests for a Host no app owns (404)',
      registers: r,
    }),
    serviceSeconds: new LatencyHistogram(
      n('service_seconds'),
      'request sent to dyno until response end',
      LATENCY_BUCKETS,
      registry,
    ),
    connectSeconds: new LatencyHistogram(
      n('connect_seconds'),
      'time to obtain a dyno connection',
      LATENCY_BUCKETS,
      registry,
    ),
    inFlight: liveGauge('in_flight', 'requests in flight on this node', 'inFlight'),
    upstreamErrors: new Counter({
      name: n('upstream_errors_total'),
      help: 'failed requests by H code',
      labelNames: ['code'],
      registers: r,
    }),
    retries: new Counter({
      name: n('retries_total'),
      help: 'extra attempts by reason',
      labelNames: ['reason'],
      registers: r,
    }),
    ejections: new Counter({ name: n('ejections_total'), help: 'dynos put on connect-failure back-off', registers: r }),
    clientConnections: liveGauge('client_connections', 'open client connections', 'clientConnections'),
    websockets: liveGauge('websocket_connections', 'open upgraded (WebSocket) pipes', 'websockets'),
    accessLogDropped: new Counter({
      name: n('access_log_dropped_total'),
      help: 'router log lines the sink refused',
      registers: r,
    }),
    bufferSource,
    bufferedRequests: new Gauge({
      name: n('buffered_requests'),
      help: 'requests whose body is being read whole before admission (or held for a replay)',
      registers: r,
      collect() {
        this.set(bufferSource.read?.().requests ?? 0);
      },
    }),
    bufferedBytes: new Gauge({
      name: n('buffered_request_bytes'),
      help: 'request body bytes held by request buffering (bounded by ROUTER_BUFFER_TOTAL_BYTES)',
      registers: r,
      collect() {
        this.set(bufferSource.read?.().bytes ?? 0);
      },
    }),
  };
}

/**
 * A label-less histogram for the request path: `observe` is a bucket search and three adds,
 * where prom-client's Histogram validates and hashes labels and allocates per call (1.6 µs of
 * a ~65 µs request in profiles). It registers as a custom metric: the registry only reads
 * name, help, type, aggregator and `get()`, and prints it like any prom-client histogram.
 */
export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  /** Per bucket, not cumulative; the last slot counts values above every bound (+Inf). */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
    registry: Registry,
  ) {
    this.#bounds = [...buckets].sort((a, b) => a - b);
    this.#counts = new Float64Array(this.#bounds.length + 1);
    registry.registerMetric(this as never);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.#counts[i]!++;
    this.#sum += value;
    this.#count++;
  }

  async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const bucket = `${this.name}_bucket`;
    const values: MetricValueWithName<string>[] = [];
    let acc = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      acc += this.#counts[i]!;
      values.push({ labels: { le: this.#bounds[i]! }, value: acc, metricName: bucket });
    }
    values.push({ labels: { le: '+Inf' }, value: this.#count, metricName: bucket });
    values.push({ labels: {}, value: this.#sum, metricName: `${this.name}_sum` });
    values.push({ labels: {}, value: this.#count, metricName: `${this.name}_count` });
    return {
      name: this.name,
      help: this.help,
      type: this.type as never,
      values,
      aggregator: this.aggregator,
      collect: () => undefined,
    };
  }

  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
    this.#count = 0;
  }
}

/** The TLS listener's metrics (tls/listener.ts), read from live sources when scraped. */
export interface TlsMetrics {
  /** Handshakes by result (ok, error) and protocol version (TLSv1.2, TLSv1.3, unknown for failures). */
  readonly handshakes: Counter<'result' | 'version'>;
  /** Completed handshakes that resumed a session (a ticket), by version. */
  readonly resumed: Counter<'version'>;
  /** Set by the composition root: the served certificates' expiry times (ms since epoch). */
  readonly certSource: { notAfter?: () => Iterable<number> };
  /** Open HTTP/2 streams from clients (tls/h2-session.ts counts them). */
  readonly live: { h2Streams: number; tlsConnections: number };
  /** HTTP/2 connections closed for too many stream resets (CVE-2023-44487). */
  readonly h2ResetFloods: Counter<string>;
}

/** Upper bounds in days of the certificate-expiry buckets; an alert watches `le_days="7"`. */
const EXPIRY_BUCKETS_DAYS = ['0', '7', '14', '30', '90', '+Inf'] as const;

export function createTlsMetrics(registry: Registry): TlsMetrics {
  const r = [registry];
  const certSource: TlsMetrics['certSource'] = {};
  const live = { h2Streams: 0, tlsConnections: 0 };
  const handshakes = new Counter({
    name: n('tls_handshakes_total'),
    help: 'TLS handshakes by result (ok, error) and version',
    labelNames: ['result', 'version'] as const,
    registers: r,
  });
  const resumed = new Counter({
    name: n('tls_resumed_handshakes_total'),
    help: 'completed TLS handshakes that resumed a session from a ticket, by version',
    labelNames: ['version'] as const,
    registers: r,
  });
  new Gauge({
    name: n('tls_resumption_ratio'),
    help: 'resumed / completed TLS handshakes since start',
    registers: r,
    async collect() {
      const sum = async (c: Counter<string>, filter: (l: Record<string, unknown>) => boolean) =>
        (await c.get()).values.filter((v) => filter(v.labels)).reduce((a, v) => a + v.value, 0);
      const ok = await sum(handshakes, (l) => l.result === 'ok');
      this.set(ok === 0 ? 0 : (await sum(resumed, () => true)) / ok);
    },
  });
  new Gauge({
    name: n('tls_certificates'),
    help: 'served certificates by days left before expiry (cumulative: le_days="7" counts those expiring within a week)',
    labelNames: ['le_days'] as const,
    registers: r,
    collect() {
      const counts = new Map<string, number>(EXPIRY_BUCKETS_DAYS.map((b) => [b, 0]));
      const now = Date.now();
      for (const notAfter of certSource.notAfter?.() ?? []) {
        const days = (notAfter - now) / 86_400_000;
        for (const b of EXPIRY_BUCKETS_DAYS) if (b === '+Inf' || days <= Number(b)) counts.set(b, counts.get(b)! + 1);
      }
      for (const [b, v] of counts) this.set({ le_days: b }, v);
    },
  });
  new Gauge({
    name: n('tls_connections'),
    help: 'open TLS client connections',
    registers: r,
    collect() {
      this.set(live.tlsConnections);
    },
  });
  new Gauge({
    name: n('h2_streams_open'),
    help: 'open HTTP/2 streams from clients',
    registers: r,
    collect() {
      this.set(live.h2Streams);
    },
  });
  const h2ResetFloods = new Counter({
    name: n('h2_reset_floods_total'),
    help: 'HTTP/2 connections closed (GOAWAY) for resetting streams faster than ROUTER_H2_MAX_RESETS allows',
    registers: r,
  });
  return { handshakes, resumed, certSource, live, h2ResetFloods };
}
