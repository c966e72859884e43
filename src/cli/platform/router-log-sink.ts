// Router lines into each app's Logplex channel as `heroku[router]` (design.md §Router line, §How the parts meet):
// the data plane calls write() on the request path, so it only looks up the app's router token
// in the current table snapshot and hands the line to LogplexClient, which batches, bounds its
// queue and drops (counted) when Logplex is away. Never blocks, never throws.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AccessLogEntry, AccessLogSink } from '../../router/access-log';
import type { LogplexClient } from '../../shared/logplex-client';
import { metricName } from '../../shared/metrics';

export class LogplexAccessLog implements AccessLogSink {
  readonly #client: LogplexClient;
  readonly #tokenOf: (app: string) => string | undefined;
  readonly #lines: Counter<'result'>;

  constructor(client: LogplexClient, tokenOf: (app: string) => string | undefined, registry: Registry) {
    this.#client = client;
    this.#tokenOf = tokenOf;
    this.#lines = new Counter({
      name: metricName('router', 'logplex_lines_total'),
      help: 'router lines for Logplex by result: queued, displaced (queue full: the oldest was dropped), no_channel (app has no router token)',
      labelNames: ['result'],
      registers: [registry],
    });
    new Gauge({
      name: metricName('router', 'logplex_lines_lost'),
      help: 'router lines the Logplex client dropped (queue overflow or failed batches)',
      registers: [registry],
      collect() {
        this.set(client.stats.dropped);
      },
    });
  }

  /** false (the data plane counts it as dropped) when the app has no channel or the queue was full. */
  write(entry: AccessLogEntry): boolean {
    const token = this.#tokenOf(entry.app);
    if (!token) {
      this.#lines.inc({ result: 'no_channel' });
      return false;
    }
    const queued = this.#client.send({ token, procId: 'router', msg: entry.line });
    this.#lines.inc({ result: queued ? 'queued' : 'displaced' });
    return queued;
  }
}
