// Every drain metric, named in one place. Labelled by drain id only, so the
// cardinality is the number of drains; a drain's series are removed when its runner stops.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS, metricName } from '../../shared/metrics';

export interface DrainMetrics {
  delivered: Counter<'drain'>;
  retried: Counter<'drain'>;
  dropped: Counter<'drain'>;
  lost: Counter<'drain'>;
  backlog: Gauge<'drain'>;
  latency: Histogram<'drain'>;
  owned: Gauge;
  forget(drain: number): void;
}

export function createDrainMetrics(registry: Registry): DrainMetrics {
  const n = (s: string): string => metricName('logplex', s);
  const labelNames = ['drain'] as const;
  const registers = [registry];
  const m = {
    delivered: new Counter({
      name: n('drain_lines_delivered_total'),
      help: 'lines a drain receiver accepted',
      labelNames,
      registers,
    }),
    retried: new Counter({
      name: n('drain_lines_retried_total'),
      help: 'lines sent again after a failed attempt',
      labelNames,
      registers,
    }),
    dropped: new Counter({
      name: n('drain_lines_dropped_total'),
      help: 'lines in batches a receiver refused with a 4xx',
      labelNames,
      registers,
    }),
    lost: new Counter({
      name: n('drain_lines_lost_total'),
      help: 'lines that left the channel log before delivery (L10)',
      labelNames,
      registers,
    }),
    backlog: new Gauge({
      name: n('drain_backlog_lines'),
      help: 'lines read from the log and not yet delivered',
      labelNames,
      registers,
    }),
    latency: new Histogram({
      name: n('drain_delivery_seconds'),
      help: 'time to deliver one batch (one attempt)',
      labelNames,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    owned: new Gauge({ name: n('drains_owned'), help: 'drains this node delivers now', registers }),
  };
  return {
    ...m,
    forget(drain: number): void {
      const labels = { drain: String(drain) };
      for (const metric of [m.delivered, m.retried, m.dropped, m.lost, m.backlog, m.latency]) metric.remove(labels);
    },
  };
}
