// Every router metric, named in one place (STYLE habit 13). The control plane's come first;
// the data plane adds its own here.
import { Counter, Gauge, type Registry } from 'prom-client';
import { metricName } from '../shared/metrics';

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
  /** Full loads and resyncs by result. */
  resyncs: Counter<'result'>;
  /** Apps waiting for a reload (bounded; past the bound a full resync is scheduled). */
  reloadQueue: Gauge;
  /** Control API requests by route pattern, method and status. */
  adminRequests: Counter<'route' | 'method' | 'status'>;
  /** Set by table/sync.ts: read when /metrics is scraped, so staleness keeps growing between events. */
  tableSource: { read?: () => { ageSeconds: number; staleSeconds: number; degraded: boolean } };
}

export function createRouterMetrics(registry: Registry): RouterMetrics {
  const registers = [registry];
  const tableSource: RouterMetrics['tableSource'] = {};
  return {
    tableSource,
    tableSize: new Gauge({ name: n('route_table_size'), help: 'route-table entries by kind (apps, domains, dynos, routable)', labelNames: ['kind'], registers }),
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
    eventsApplied: new Counter({ name: n('route_events_total'), help: 'route-events handled, by result (applied, stale, error)', labelNames: ['result'], registers }),
    resyncs: new Counter({ name: n('route_table_resyncs_total'), help: 'full route-table loads and resyncs, by result', labelNames: ['result'], registers }),
    reloadQueue: new Gauge({ name: n('route_reload_queue'), help: 'apps waiting for a reload after a route-event', registers }),
    adminRequests: new Counter({ name: n('admin_requests_total'), help: 'control API requests by route, method and status', labelNames: ['route', 'method', 'status'], registers }),
  };
}
