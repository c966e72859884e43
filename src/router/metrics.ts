// Every router metric, named in one place (STYLE habit 13). router-control adds
// `createRouterMetrics` (table, admin) in this file; the data plane's block is below.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS, metricName } from '../shared/metrics';

// ---- data plane (DESIGN §3 "Request path", Metrics) ----

export interface DataPlaneMetrics {
  /** Requests by app, status class (2xx…5xx, 499) and H code (`none` when forwarded fine). */
  readonly requests: Counter<'app' | 'class' | 'code'>;
  readonly unknownHost: Counter<string>;
  readonly serviceSeconds: Histogram<string>;
  readonly connectSeconds: Histogram<string>;
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
}

export function createDataPlaneMetrics(registry: Registry): DataPlaneMetrics {
  const r = [registry];
  const n = (s: string): string => metricName('router', s);
  return {
    requests: new Counter({ name: n('requests_total'), help: 'requests by app, status class and H code', labelNames: ['app', 'class', 'code'], registers: r }),
    unknownHost: new Counter({ name: n('unknown_host_total'), help: 'requests for a Host no app owns (404)', registers: r }),
    serviceSeconds: new Histogram({ name: n('service_seconds'), help: 'request sent to dyno until response end', buckets: LATENCY_BUCKETS, registers: r }),
    connectSeconds: new Histogram({ name: n('connect_seconds'), help: 'time to obtain a dyno connection', buckets: LATENCY_BUCKETS, registers: r }),
    inFlight: new Gauge({ name: n('in_flight'), help: 'requests in flight on this node', registers: r }),
    upstreamErrors: new Counter({ name: n('upstream_errors_total'), help: 'failed requests by H code', labelNames: ['code'], registers: r }),
    retries: new Counter({ name: n('retries_total'), help: 'extra attempts by reason', labelNames: ['reason'], registers: r }),
    ejections: new Counter({ name: n('ejections_total'), help: 'dynos put on connect-failure back-off', registers: r }),
    clientConnections: new Gauge({ name: n('client_connections'), help: 'open client connections', registers: r }),
    websockets: new Gauge({ name: n('websocket_connections'), help: 'open upgraded (WebSocket) pipes', registers: r }),
    accessLogDropped: new Counter({ name: n('access_log_dropped_total'), help: 'router log lines the sink refused', registers: r }),
  };
}
