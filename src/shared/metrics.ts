// Every service builds its own prom-client Registry (never the global one), so two
// services in one process (`dev`) and many in one test never collide.
import { collectDefaultMetrics, Registry } from 'prom-client';

export function createRegistry(service: 'router' | 'logplex' | 'dev', opts: { defaults?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (opts.defaults ?? true) collectDefaultMetrics({ register: registry, prefix: 'switchyard_' });
  return registry;
}

/** Metric names all start with `switchyard_`, then the service. */
export const metricName = (service: 'router' | 'logplex', name: string): string => `switchyard_${service}_${name}`;

/** Histogram buckets in seconds for request and delivery latencies: 0.5 ms to 60 s. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
