// Batched, bounded sender of `application/logplex-1` to Logplex's `POST /logs` (DESIGN §4, §5),
// used by the router (its `heroku[router]` lines) and by the dyno agent (app output).
// `send` never blocks and never throws: lines wait in one bounded queue (drop-oldest), a timer
// flushes them as one POST per token, at most one POST in flight per token, and a batch that
// fails (Logplex away, non-2xx, timeout) is dropped and counted, never retried or re-queued.
import { Pool } from 'undici';
import { encodeFrame } from './syslog/frame';
import { formatSyslog, formatTimestamp } from './syslog/rfc5424';

export interface LogplexClientOptions {
  /** LOGPLEX_URL base, e.g. http://127.0.0.1:8601 */
  url: string;
  /** Lines held at most; beyond it the oldest is dropped. Default 10_000. */
  maxQueue?: number;
  /** Lines per POST. Default 500. */
  maxBatch?: number;
  /** Delay between the first queued line and its flush. Default 50 ms. */
  flushMs?: number;
  /** Connect, response-headers and body timeout of one POST. Default 5000 ms. */
  timeoutMs?: number;
  /** Told once per failed batch, e.g. to log `at=warn msg=logplex_batch_failed`; must not throw. */
  onBatchError?: (err: LogplexBatchError) => void;
}

/** `code` is an undici/system error code (`ECONNREFUSED`, `UND_ERR_HEADERS_TIMEOUT`) or `HTTP_<status>`. */
export interface LogplexBatchError {
  code: string;
  token: string;
  lines: number;
  /** The lines of the failed batch, for a caller that can fix the cause and send them again (a refreshed token). */
  batch: readonly OutLine[];
}

export interface OutLine {
  token: string;
  /** ms since epoch; default now (at send) */
  time?: number;
  /** default 190 = local7.info */
  pri?: number;
  /** HOSTNAME; default `host`, as Heroku's own lines */
  host?: string;
  /** 'router' or 'web.1' */
  procId: string;
  msg: string;
}

export interface LogplexClientStats {
  sent: number;
  dropped: number;
  queued: number;
  failedBatches: number;
}

interface Queued {
  line: OutLine;
  time: number;
}

const DEFAULTS = { maxQueue: 10_000, maxBatch: 500, flushMs: 50, timeoutMs: 5000 } as const;

export class LogplexClient {
  readonly #pool: Pool;
  readonly #path: string;
  readonly #maxQueue: number;
  readonly #maxBatch: number;
  readonly #flushMs: number;
  readonly #timeoutMs: number;
  readonly #onBatchError: ((err: LogplexBatchError) => void) | undefined;
  #queue: (Queued | undefined)[] = [];
  #head = 0;
  readonly #inflight = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #sent = 0;
  #dropped = 0;
  #failedBatches = 0;

  constructor(opts: LogplexClientOptions) {
    const base = new URL(opts.url);
    this.#path = base.pathname.replace(/\/+$/, '') + '/logs';
    this.#maxQueue = positive('maxQueue', opts.maxQueue ?? DEFAULTS.maxQueue);
    this.#maxBatch = positive('maxBatch', opts.maxBatch ?? DEFAULTS.maxBatch);
    this.#flushMs = opts.flushMs ?? DEFAULTS.flushMs;
    this.#timeoutMs = positive('timeoutMs', opts.timeoutMs ?? DEFAULTS.timeoutMs);
    this.#onBatchError = opts.onBatchError;
    this.#pool = new Pool(base.origin, {
      connections: 8,
      connect: { timeout: this.#timeoutMs },
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      keepAliveTimeout: 4_000,
    });
  }

  get stats(): LogplexClientStats {
    return { sent: this.#sent, dropped: this.#dropped, queued: this.#size, failedBatches: this.#failedBatches };
  }

  /** Queue one line. false when it could not be kept whole: the client is closed (line dropped) or the queue was full (the oldest line was dropped for it). */
  send(line: OutLine): boolean {
    if (this.#closed) {
      this.#dropped++;
      return false;
    }
    let kept = true;
    if (this.#size >= this.#maxQueue) {
      this.#queue[this.#head++] = undefined;
      this.#dropped++;
      kept = false;
    }
    this.#queue.push({ line, time: line.time ?? Date.now() });
    this.#schedule();
    return kept;
  }

  /** Send everything queued now and wait for it (success or counted loss). */
  async flush(): Promise<void> {
    const rounds = Math.ceil(this.#maxQueue / this.#maxBatch) + 2;
    for (let i = 0; i < rounds; i++) {
      this.#kick();
      if (this.#inflight.size === 0) return;
      await Promise.all(this.#inflight.values());
    }
  }

  /** Stop accepting lines, flush what is queued, close the connections. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
    await this.#pool.close();
  }

  get #size(): number {
    return this.#queue.length - this.#head;
  }

  #schedule(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#kick();
    }, this.#flushMs);
    this.#timer.unref();
  }

  /** Take up to maxBatch lines for every token with no POST in flight; keep the rest in order. */
  #kick(): void {
    if (this.#size === 0) return;
    const batches = new Map<string, Queued[]>();
    const keep: Queued[] = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const q = this.#queue[i]!;
      const token = q.line.token;
      if (this.#inflight.has(token)) {
        keep.push(q);
        continue;
      }
      let batch = batches.get(token);
      if (!batch) batches.set(token, (batch = []));
      if (batch.length < this.#maxBatch) batch.push(q);
      else keep.push(q);
    }
    this.#queue = keep;
    this.#head = 0;
    for (const [token, batch] of batches) {
      const done = this.#post(token, batch).finally(() => {
        this.#inflight.delete(token);
        if (this.#size >= this.#maxBatch) this.#kick();
        else if (this.#size > 0) this.#schedule();
      });
      this.#inflight.set(token, done);
    }
  }

  async #post(token: string, batch: Queued[]): Promise<void> {
    let code: string | undefined;
    try {
      const frames = batch.map(({ line, time }) =>
        // APP-NAME = token, PROCID = dyno (DESIGN §4). STRUCTURED-DATA is written as `-` rather than
        // omitted, so a message that starts with `[` or `- ` is not read as structured data.
        encodeFrame(
          formatSyslog({
            pri: line.pri ?? 190,
            timestamp: formatTimestamp(time),
            hostname: line.host ?? 'host',
            appName: token,
            procId: line.procId,
            msg: line.msg,
          }),
        ),
      );
      const res = await this.#pool.request({
        path: this.#path,
        method: 'POST',
        headers: {
          'content-type': 'application/logplex-1',
          'logplex-msg-count': String(batch.length),
          authorization: 'Basic ' + Buffer.from(`token:${token}`).toString('base64'),
        },
        body: Buffer.concat(frames),
      });
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode > 299) code = `HTTP_${res.statusCode}`;
    } catch (err) {
      code = (err as { code?: unknown }).code?.toString() ?? 'UNKNOWN';
    }
    if (code === undefined) {
      this.#sent += batch.length;
      return;
    }
    this.#dropped += batch.length;
    this.#failedBatches++;
    try {
      this.#onBatchError?.({
        code,
        token,
        lines: batch.length,
        batch: batch.map((q) => ({ ...q.line, time: q.time })),
      });
    } catch {
      // A reporting hook must not break delivery of the next batch.
    }
  }
}

function positive(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`LogplexClient ${name} must be a positive integer, got ${v}`);
  return v;
}
