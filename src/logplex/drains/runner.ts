// One drain delivered by this node (design.md §Drain delivery): read a batch at the drain's read
// position, deliver it, ack only after the receiver accepted it, back off on failure, and turn
// lines that left the channel log before delivery into an in-band L10 line
// (heroku/logplex:src/logplex_drain_buffer.erl, logplex_syslog_utils.erl `overflow_msg/2`).
// The lease is the scheduler's business: it starts, renews and stops runners. The runner proves
// it on every store call (the lease's epoch, checked by the store) and checks it by its own
// clock before every send, so a holder that lost its lease sends and acks nothing more.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../shared/log';
import { errorFields } from '../../shared/log';
import { formatTimestamp } from '../../shared/syslog/timestamp';
import type { NewLine } from '../lines';
import { deliveryErrorLine, isChannelErrorLine, overflowLine } from '../lines';
import type { BackoffPolicy } from './backoff';
import { sleep } from './backoff';
import { framedSize } from './frames';
import type { DrainMetrics } from './metrics';
import type { DrainCursor, DrainLease, DrainLine, DrainRecord, DrainStore, Settled } from './store/index';
import { FencedError } from './store/index';
import type { Outcome, Payload, Transport } from './transport';

/**
 * design.md §Drains: a batch is at most 500 lines or 1 MiB. While a batch is in flight the runner
 * reads and frames the next one (so Redis, this process and the receiver work at the same
 * time): the batch in flight, the next one ready, and what was left of the last read when it
 * did not fit in one batch.
 */
export const BATCH_LINES = 500;
export const BATCH_BYTES = 1024 * 1024;

export interface RunnerDeps {
  drain: DrainRecord;
  store: DrainStore;
  /** The lease this runner delivers under (its epoch is read when the cursor opens). */
  lease: DrainLease;
  transport: Transport;
  backoff: BackoffPolicy;
  log: Logger;
  metrics?: DrainMetrics;
  /** How long to wait for new lines when the log has none (woken early by `wake()`). */
  pollMs: number;
  /** In-band L13/L14 lines for the channel (where `logs --tail` shows them). */
  report?: (line: NewLine) => void;
  now?: () => Date;
  /** Lines per batch (LOGPLEX_DRAIN_BATCH_LINES); default BATCH_LINES. */
  batchLines?: number;
  /** The drain's filter: lines it refuses are acked without being sent. */
  keep?: (line: DrainLine) => boolean;
}

interface InFlight {
  payload: Payload;
  seqs: number[];
  /** Seqs the filter kept out of the payload (acked with it). */
  filtered: number;
  lastTime: string | undefined;
}

export class DrainRunner {
  #d: RunnerDeps;
  #stopping = new AbortController();
  #wake: (() => void) | undefined;
  #done: Promise<void> | undefined;
  /** Lines read and not yet in a batch (the rest of a read that did not fit in one). */
  #buf: DrainLine[] = [];
  /** The batch being sent, until it is accepted or refused for good. */
  #inflight: InFlight | undefined;
  /** The next batch, read and framed while #inflight is being sent; undefined inside: nothing to read. */
  #ready: Promise<InFlight | undefined> | undefined;
  #readyLines = 0;
  /** The ack (and status) of the last settled batch, in flight while the next one is sent. */
  #acking: Promise<void> | undefined;
  #last = 0;
  #lastTime: string | undefined;
  #lastReported = '';
  /** The receiver's Retry-After of the last failed send, the least the next backoff waits. */
  #retryAfterMs = 0;
  /** Channel error lines read and not sent (never to drains): acked with the next batch sent. */
  #skipped: number[] = [];

  constructor(deps: RunnerDeps) {
    this.#d = deps;
  }

  get id(): number {
    return this.#d.drain.id;
  }
  /** Lines held in memory: the batch in flight, the next one, the rest of a read (see BATCH_LINES). */
  get buffered(): number {
    return this.#buf.length + this.#readyLines + (this.#inflight?.payload.count ?? 0);
  }

  start(): void {
    this.#done ??= this.#loop().catch((err) =>
      this.#d.log.error('drain runner died', { drain: this.id, ...errorFields(err) }),
    );
  }

  /** New lines were appended to the channel: stop waiting for the poll. */
  wake(): void {
    this.#wake?.();
  }

  /** Finishes the attempt in flight (bounded by the transport's timeouts), then stops. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#wake?.();
    await this.#done;
    await this.#d.transport.close();
  }

  get #stopped(): boolean {
    return this.#stopping.signal.aborted;
  }

  async #loop(): Promise<void> {
    const { store, drain, lease } = this.#d;
    let cursor: DrainCursor | undefined;
    let failures = 0;
    while (!this.#stopped) {
      try {
        // Not sure of the lease (not yet taken, or its last renewal may have lapsed): send
        // nothing and wait for the scheduler to confirm it or stop this runner.
        if (!lease.held()) {
          await this.#idle();
          continue;
        }
        if (!cursor) {
          cursor = store.cursor(drain, lease.epoch);
          this.#last = await cursor.open();
          this.#lastTime = (await store.status(drain.channel, drain.id)).lastTime ?? drain.createdAt;
          this.#buf = [];
          this.#skipped = [];
        }
        if (!this.#inflight && !(await this.#take(cursor))) {
          await this.#acked();
          await this.#idle();
          continue;
        }
        if (!lease.held()) continue;
        const done = await this.#attempt(cursor, this.#inflight!);
        failures = done ? 0 : failures + 1;
        if (!done) await sleep(Math.max(this.#d.backoff.delay(failures), this.#retryAfterMs), this.#stopping.signal);
      } catch (err) {
        // The store failed (Redis away) or refused a stale epoch: start over from the stored
        // position; what was read and not acked comes again (at-least-once), to whoever holds
        // the lease by then.
        if (err instanceof FencedError) this.#d.log.info('drain fenced', { drain: drain.id, epoch: lease.epoch });
        else this.#d.log.warn('drain store error', { drain: drain.id, ...errorFields(err) });
        cursor = undefined;
        this.#inflight = undefined;
        await this.#settleBackground();
        failures++;
        await sleep(this.#d.backoff.delay(failures), this.#stopping.signal);
      }
    }
    // The last ack lands before the runner reports stopped (and the next owner reads from its position).
    await this.#acked().catch((err) => this.#d.log.warn('drain store error', { drain: drain.id, ...errorFields(err) }));
    // A batch read ahead and never sent is after the stored position: the next owner re-reads it.
    await this.#settleBackground();
  }

  /**
   * The batch to send next: the one prepared during the last send, or a fresh read when there
   * was none or it found nothing (lines may have arrived since). Starts preparing the one after
   * it, to overlap with this send. False when the log has nothing for the drain.
   */
  async #take(cursor: DrainCursor): Promise<boolean> {
    const ready = this.#ready;
    this.#ready = undefined;
    this.#readyLines = 0;
    this.#inflight = (ready && (await ready)) ?? (await this.#prepare(cursor));
    if (!this.#inflight) return false;
    const next = this.#prepare(cursor).then((f) => {
      if (this.#ready === next) this.#readyLines = f?.payload.count ?? 0;
      return f;
    });
    // A failed read surfaces when #take awaits it; until then it must not be "unhandled".
    next.catch(() => undefined);
    this.#ready = next;
    this.#d.metrics?.backlog.set({ drain: String(this.id) }, this.buffered);
    return true;
  }

  /**
   * Waits out the work running behind the loop (the ack in flight, the batch being prepared),
   * ignoring its failure: the loop is starting over from the stored position or stopping.
   * #prepare moves the read position, so it must not run on into a reopened cursor.
   */
  async #settleBackground(): Promise<void> {
    await Promise.all([this.#acking?.catch(() => undefined), this.#ready?.catch(() => undefined)]);
    this.#acking = undefined;
    this.#ready = undefined;
    this.#readyLines = 0;
  }

  /** Builds the next batch from the buffer (reading when empty); undefined when there is nothing. */
  async #prepare(cursor: DrainCursor): Promise<InFlight | undefined> {
    const max = this.#d.batchLines ?? BATCH_LINES;
    const keep = this.#d.keep;
    if (this.#buf.length === 0) this.#buf = await cursor.read(max);
    if (this.#buf.length === 0) return undefined;
    const now = this.#now();
    const lines: DrainLine[] = [];
    const seqs: number[] = [];
    let bytes = 0;
    let taken = 0;
    let filtered = 0;
    for (const line of this.#buf) {
      if (isChannelErrorLine(line)) {
        this.#skipped.push(line.seq);
        this.#last = line.seq;
        taken++;
        continue;
      }
      const gap = line.seq - this.#last - 1;
      const extra = gap > 0 ? 1 : 0;
      // A line the filter refuses is acked with the batch but not sent (and takes no room in it).
      const kept = !keep || keep(line);
      const size = kept ? framedSize(line) : 0;
      if (lines.length > 0 && (lines.length + (kept ? 1 : 0) + extra > max || bytes + size > BATCH_BYTES)) break;
      if (gap > 0) {
        lines.push({ seq: 0, ...overflowLine('L10', gap, this.#lastTime ?? line.time, now) });
      }
      if (kept) lines.push(line);
      else filtered++;
      seqs.push(line.seq);
      bytes += size;
      this.#last = line.seq;
      this.#lastTime = line.time;
      taken++;
    }
    this.#buf = taken === this.#buf.length ? [] : this.#buf.slice(taken);
    // Nothing to settle yet (only lines of the channel's own drain errors, held for the next batch).
    // A batch of filtered lines only is settled without a send.
    if (seqs.length === 0) return undefined;
    if (this.#skipped.length) {
      seqs.unshift(...this.#skipped);
      filtered += this.#skipped.length;
      this.#skipped = [];
    }
    // The loss is counted by the store when this batch is acked (from the seqs), not here: a
    // batch sent by a holder that dies before its ack is counted once, by the next holder.
    return { payload: this.#d.transport.encode(lines, randomUUID()), seqs, filtered, lastTime: this.#lastTime };
  }

  /** One send of the in-flight payload; true when it is settled (delivered or dropped). */
  async #attempt(cursor: DrainCursor, f: InFlight): Promise<boolean> {
    const { drain, metrics } = this.#d;
    const label = { drain: String(drain.id) };
    const t0 = performance.now();
    // Every line filtered out: nothing to send, and the receiver has nothing to refuse.
    const outcome: Outcome = f.payload.count === 0 ? { kind: 'ok' } : await this.#d.transport.send(f.payload);
    metrics?.latency.observe(label, (performance.now() - t0) / 1000);
    const at = this.#now();
    const n = f.payload.count;
    switch (outcome.kind) {
      case 'ok':
        await this.#ack(
          cursor.ack(f.seqs, {
            as: 'delivered',
            at,
            filtered: f.filtered,
            ...(f.lastTime ? { lastTime: f.lastTime } : {}),
          }),
        );
        this.#inflight = undefined;
        this.#lastReported = '';
        return true;
      case 'reject':
        // The receiver will never take this batch (a 4xx other than 429): drop it, count it, move on.
        await this.#ack(
          cursor.ack(f.seqs, { as: 'dropped', at, error: { at, message: outcome.message, code: outcome.code } }),
        );
        this.#inflight = undefined;
        this.#d.log.warn('drain batch dropped', { drain: drain.id, code: outcome.code, lines: n });
        this.#reportOnce('L13', outcome.message, at);
        return true;
      case 'retry':
        this.#retryAfterMs = outcome.retryAfterMs ?? 0;
        metrics?.retried.inc(label, n);
        await cursor.retried(n, { at, message: outcome.message, code: outcome.code });
        // 429/5xx/network are retried quietly (status and metrics show them); a certificate
        // that does not verify will not fix itself, so the channel hears about it (L14).
        if (outcome.code === 'L14') this.#reportOnce('L14', outcome.message, at);
        else this.#d.log.debug('drain delivery failed', { drain: drain.id, code: outcome.code, err: outcome.message });
        return false;
    }
  }

  /**
   * Lets a settled batch's ack (sent only now that the receiver answered) travel while the next
   * batch is prepared and sent: the round trip to Redis no longer sits between two sends. The
   * runner goes on only once the previous ack answered (at most two outstanding, applied in
   * order on the store's connection), so a failed ack surfaces here, at the next one, before
   * idling or on stop; the loop then reopens at the stored position and the unacked lines come
   * again.
   */
  async #ack(ack: Promise<Settled>): Promise<void> {
    const prev = this.#acking;
    // The metrics count what the store counted (each seq once); a failed ack is awaited later
    // and until then must not be "unhandled".
    const counted = ack.then((n) => this.#count(n));
    counted.catch(() => undefined);
    this.#acking = counted;
    await prev;
  }

  #count(n: Settled): void {
    const label = { drain: String(this.id) };
    if (n.delivered) this.#d.metrics?.delivered.inc(label, n.delivered);
    if (n.dropped) this.#d.metrics?.dropped.inc(label, n.dropped);
    if (n.lost) this.#d.metrics?.lost.inc(label, n.lost);
  }

  /** Waits for the ack in flight (its failure is the store's, handled by the loop). */
  async #acked(): Promise<void> {
    const ack = this.#acking;
    await ack;
    if (this.#acking === ack) this.#acking = undefined;
  }

  /** L13 (refused for good) and L14 (certificate) in the channel, once per distinct failure. */
  #reportOnce(code: 'L13' | 'L14', message: string, at: string): void {
    const key = `${code} ${message}`;
    if (key === this.#lastReported) return;
    this.#lastReported = key;
    this.#d.log.warn('drain delivery failed', { drain: this.id, code, err: message });
    this.#d.report?.(deliveryErrorLine(code, `drain ${this.id}: ${message}`, at));
  }

  #idle(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.#d.pollMs);
      this.#wake = done;
      if (this.#stopped) done();
    });
  }

  #now(): string {
    return formatTimestamp((this.#d.now?.() ?? new Date()).getTime());
  }
}
