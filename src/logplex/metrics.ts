// Every Logplex metric, named in one place.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { metricName } from '../shared/metrics';

const name = (n: string): string => metricName('logplex', n);

export type Transport = 'http' | 'tcp' | 'udp';
/**
 * Why a frame was not stored: unparseable, no token, a token we do not know, a deleted channel,
 * the store failed, or (UDP, which has no backpressure) too many batches already waiting on the store.
 */
export type RejectReason = 'parse' | 'no_token' | 'unknown_token' | 'unknown_channel' | 'store' | 'overload';

export interface LogplexMetrics {
  linesIngested: Counter<'transport'>;
  framesRejected: Counter<'transport' | 'reason'>;
  framesTruncated: Counter<'transport'>;
  ingestRequests: Counter<'status'>;
  appendBatch: Histogram<never>;
  storeErrors: Counter<'op'>;
  syslogConnections: Gauge<never>;
  syslogHeldFrames: Gauge<never>;
  dropChannels: Gauge<never>;
  sessionsActive: Gauge<'transport'>;
  sessionsOpened: Counter<'transport'>;
  tailLinesSent: Counter<never>;
  tailLinesDropped: Counter<never>;
  tailBuffered: Gauge<never>;
  tokenCacheSize: Gauge<never>;
  tailResumeLost: Counter<never>;
  linesRateLimited: Counter<never>;
  rateBuckets: Gauge<never>;
  storeResets: Counter<never>;
  knownChannels: Gauge<never>;
  knownDrains: Gauge<never>;
  redisInFlight: Gauge<never>;
}

export function createLogplexMetrics(
  registry: Registry,
  sizes: {
    tailBuffered: () => number;
    tokenCache: () => number;
    dropChannels?: () => number;
    rateBuckets?: () => number;
    knownChannels?: () => number;
    knownDrains?: () => number;
    redisInFlight?: () => number;
  },
): LogplexMetrics {
  const registers = [registry];
  return {
    linesIngested: new Counter({
      name: name('lines_ingested_total'),
      help: 'lines stored, by transport',
      labelNames: ['transport'],
      registers,
    }),
    framesRejected: new Counter({
      name: name('frames_rejected_total'),
      help: 'frames not stored, by transport and reason',
      labelNames: ['transport', 'reason'],
      registers,
    }),
    framesTruncated: new Counter({
      name: name('frames_truncated_total'),
      help: 'frames over 10 KiB, stored truncated with a marker',
      labelNames: ['transport'],
      registers,
    }),
    ingestRequests: new Counter({
      name: name('ingest_requests_total'),
      help: 'POST /logs requests by status',
      labelNames: ['status'],
      registers,
    }),
    appendBatch: new Histogram({
      name: name('append_batch_lines'),
      help: 'lines per store append (one Lua call or one memory append)',
      buckets: [1, 5, 25, 100, 500, 2500],
      registers,
    }),
    storeErrors: new Counter({
      name: name('store_errors_total'),
      help: 'store operations that failed, by operation',
      labelNames: ['op'],
      registers,
    }),
    syslogConnections: new Gauge({ name: name('syslog_connections'), help: 'open syslog TCP connections', registers }),
    syslogHeldFrames: new Gauge({
      name: name('syslog_held_frames'),
      help: 'syslog frames read from paused TCP connections, waiting for the store (bounded per connection)',
      registers,
    }),
    dropChannels: new Gauge({
      name: name('ingest_drop_channels'),
      help: 'channels with syslog lines dropped while the store was away, waiting for their L12 line',
      registers,
      collect() {
        this.set(sizes.dropChannels?.() ?? 0);
      },
    }),
    sessionsActive: new Gauge({
      name: name('sessions_active'),
      help: 'open tail sessions on this node',
      labelNames: ['transport'],
      registers,
    }),
    sessionsOpened: new Counter({
      name: name('sessions_opened_total'),
      help: 'tail sessions opened',
      labelNames: ['transport'],
      registers,
    }),
    tailLinesSent: new Counter({
      name: name('tail_lines_sent_total'),
      help: 'lines written to tail sessions',
      registers,
    }),
    tailLinesDropped: new Counter({
      name: name('tail_lines_dropped_total'),
      help: 'lines a slow tail reader lost (L11)',
      registers,
    }),
    tailBuffered: new Gauge({
      name: name('tail_buffered_lines'),
      help: 'lines waiting in tail session buffers (bounded by LOGPLEX_SESSION_BUFFER each)',
      registers,
      collect() {
        this.set(sizes.tailBuffered());
      },
    }),
    tokenCacheSize: new Gauge({
      name: name('token_cache_entries'),
      help: 'tokens cached on this node (bounded)',
      registers,
      collect() {
        this.set(sizes.tokenCache());
      },
    }),
    tailResumeLost: new Counter({
      name: name('tail_resume_lost_total'),
      help: 'lines after a resumed stream id that had left the channel log (L17)',
      registers,
    }),
    linesRateLimited: new Counter({
      name: name('lines_rate_limited_total'),
      help: 'lines dropped at ingest because their channel exceeded LOGPLEX_CHANNEL_RATE (L16)',
      registers,
    }),
    rateBuckets: new Gauge({
      name: name('rate_buckets'),
      help: 'channels with a token bucket on this node (bounded; idle full buckets are dropped)',
      registers,
      collect() {
        this.set(sizes.rateBuckets?.() ?? 0);
      },
    }),
    storeResets: new Counter({
      name: name('store_resets_total'),
      help: 'times the log store was found without its generation while lacking channels or drains this node knows',
      registers,
    }),
    knownChannels: new Gauge({
      name: name('known_channels'),
      help: 'channels this node remembers for a reseed (bounded at 100,000)',
      registers,
      collect() {
        this.set(sizes.knownChannels?.() ?? 0);
      },
    }),
    knownDrains: new Gauge({
      name: name('known_drains'),
      help: 'drains of those channels this node remembers for a reseed',
      registers,
      collect() {
        this.set(sizes.knownDrains?.() ?? 0);
      },
    }),
    redisInFlight: new Gauge({
      name: name('redis_commands_in_flight'),
      help: 'Redis commands sent and not answered yet (at most 10,000 while Redis does not answer)',
      registers,
      collect() {
        this.set(sizes.redisInFlight?.() ?? 0);
      },
    }),
  };
}
