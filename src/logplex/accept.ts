// THE line's journey (design.md §A line's journey): parse → resolve token → channel
// (cached) → stamp → append to the channel log → fan out to this node's tail sessions.
// Drains read the channel log on their own. One call handles one batch (an HTTP body, one
// TCP read, one datagram): one store append per channel per batch, never one per line.
import type { Logger } from '../shared/log';
import { errorFields, type Fields } from '../shared/log';
import { endWithoutNewlines } from '../shared/syslog/frame';
import { parseSyslog, sdParam, SyslogParseError, TRUNCATED_MARKER, type SdElement } from '../shared/syslog/rfc5424';
import { DropLedger } from './ingest/drop-ledger';
import { overflowLine, rateLimitLine, type LogLine, type NewLine } from './lines';
import type { ChannelRates } from './rate';
import type { LogplexMetrics, RejectReason, Transport } from './metrics';
import { formatTimestamp } from '../shared/syslog/rfc5424';
import { arrivalClock, stampTime } from './stamp';
import type { LogStore, TokenInfo } from './store/index';
import type { TailHub } from './tail/hub';
import type { TokenCache } from './tokens';

export interface Frame {
  frame: Buffer;
  truncated: boolean;
}

export interface AcceptReport {
  accepted: number;
  rejected: number;
  /** The first rejected frame's problem, as `frame N: why` (N counts from 1). */
  firstError?: string;
  /** The store failed: the sender should retry (HTTP answers 503). */
  storeFailed: boolean;
}

export interface AcceptDeps {
  store: LogStore;
  tokens: TokenCache;
  hub: TailHub;
  metrics: LogplexMetrics;
  log: Logger;
  /** Per-channel token buckets (LOGPLEX_CHANNEL_RATE); absent: no limit. */
  rates?: ChannelRates;
  /** A channel the store lost and this node knows (recovery.ts): its lines fail as the store's, not as unknown. */
  lost?: (channel: number) => boolean;
}

/** A parsed frame waiting for its channel: the token it names and the line without source yet. */
interface Parsed {
  /** Position in the batch, for `frame N` in errors. */
  index: number;
  token: string;
  /** Set when an SD-PARAM named the token: APP-NAME stays the source (design.md §Ingest). */
  source: string | undefined;
  line: NewLine;
}

/** While the store is down every batch fails: one warning per second is enough (the metric counts all). */
const STORE_WARN_EVERY_MS = 1000;

export class Acceptor {
  #d: AcceptDeps;
  #lastWarn = 0;
  #suppressed = 0;
  /** Syslog lines the store could not take (an HTTP sender gets 503 and retries; syslog cannot). */
  #drops = new DropLedger();
  constructor(deps: AcceptDeps) {
    this.#d = deps;
  }

  /** Channels with syslog lines dropped since the last report (the metric's source). */
  get channelsWithDrops(): number {
    return this.#drops.size;
  }

  /**
   * Syslog frames that cannot go to the store (it is away and the connection's hold is full):
   * counted per channel, from the token cache only (no store call), for the L12 line later.
   */
  drop(frames: readonly Frame[], transport: Transport): void {
    const clock = arrivalClock();
    const r = new Report(this.#d.metrics, transport);
    for (let i = 0; i < frames.length; i++) {
      const p = parse(frames[i]!, i, clock, r);
      const info = p instanceof SyslogParseError ? undefined : this.#d.tokens.peek(p.token);
      if (info) this.#drops.add(info.channel, 1);
    }
    this.#d.metrics.framesRejected.inc({ transport, reason: 'store' }, frames.length);
  }

  /**
   * The store is back: one L12 line per channel that lost syslog lines meanwhile (design.md
   * §Ingest). A channel whose line cannot be appended keeps its count for the next report.
   */
  async reportDrops(): Promise<void> {
    const now = Date.now();
    for (const [channel, d] of this.#drops.take()) {
      const line = overflowLine('L12', d.dropped, formatTimestamp(d.since), formatTimestamp(now));
      try {
        const stored = await this.#d.store.append(channel, [line]);
        if (stored) this.#d.hub.publish(channel, stored);
      } catch {
        this.#drops.restore(channel, d);
      }
    }
  }

  /**
   * Syslog over TCP or UDP: each frame names its token in APP-NAME or an SD-PARAM `token`.
   * When every token is cached, the store appends are issued before this returns, so batches
   * handed over in order are appended in order without waiting for each other; otherwise
   * `issued` settles once they are (the caller holds later batches of the same stream until then).
   */
  syslog(frames: readonly Frame[], transport: Transport): { issued?: Promise<void>; done: Promise<AcceptReport> } {
    const r = new Report(this.#d.metrics, transport);
    const clock = arrivalClock();
    const parsed: Parsed[] = [];
    let misses: Set<string> | undefined;
    // A connection usually carries one token: look each run of equal tokens up once.
    let lastToken = '';
    for (let i = 0; i < frames.length; i++) {
      const p = parse(frames[i]!, i, clock, r);
      if (p instanceof SyslogParseError) r.reject(i, 'parse', `${p.code}: ${p.message}`);
      else if (p.token === '') r.reject(i, 'no_token', 'no token in APP-NAME or SD-PARAM "token"');
      else {
        parsed.push(p);
        if (p.token !== lastToken && this.#d.tokens.peek(p.token) === undefined) (misses ??= new Set()).add(p.token);
        lastToken = p.token;
      }
    }
    if (!misses) return { done: this.#appendParsed(parsed, new Map(), r) };
    const wanted = [...misses];
    let issue: () => void = () => undefined;
    const issued = new Promise<void>((resolve) => (issue = resolve));
    const done = Promise.all(wanted.map((t) => this.#resolve(t, r))).then((infos) => {
      const looked = new Map(wanted.map((t, i) => [t, infos[i]]));
      const d = this.#appendParsed(parsed, looked, r);
      issue();
      return d;
    });
    return { issued, done };
  }

  /** Steps: channel of each line (cache, or this batch's lookups), then one append per channel. */
  #appendParsed(parsed: Parsed[], looked: Map<string, TokenInfo | undefined>, r: Report): Promise<AcceptReport> {
    const byChannel = new Map<number, NewLine[]>();
    let lastToken = '';
    let info: TokenInfo | undefined;
    let batch: NewLine[] = [];
    for (const p of parsed) {
      if (p.token !== lastToken) {
        info = looked.has(p.token) ? looked.get(p.token) : (this.#d.tokens.peek(p.token) ?? undefined);
        lastToken = p.token;
        if (info) {
          const existing = byChannel.get(info.channel);
          if (existing) batch = existing;
          else byChannel.set(info.channel, (batch = []));
        }
      }
      if (info === undefined) {
        r.reject(p.index, 'unknown_token', `unknown token ${p.token.slice(0, 48)}`);
        continue;
      }
      p.line.source = p.source ?? info.name;
      batch.push(p.line);
    }
    // Each #append calls the store before its first await: the appends are issued here, in order.
    const appends: Promise<void>[] = [];
    for (const [channel, lines] of byChannel) appends.push(this.#append(channel, lines, r));
    return Promise.all(appends).then(() => r.done());
  }

  /** HTTP: the Basic-auth token names the channel and the source of every frame in the body. */
  async forToken(
    info: TokenInfo,
    frames: readonly Frame[],
    earlyErrors: number,
    firstError?: string,
  ): Promise<AcceptReport> {
    const r = new Report(this.#d.metrics, 'http');
    if (earlyErrors > 0) r.reject(frames.length, 'parse', firstError ?? 'bad frame', earlyErrors);
    const clock = arrivalClock();
    const lines: NewLine[] = [];
    for (let i = 0; i < frames.length; i++) {
      const p = parse(frames[i]!, i, clock, r);
      if (p instanceof SyslogParseError) {
        r.reject(i, 'parse', `${p.code}: ${p.message}`);
        continue;
      }
      p.line.source = info.name;
      lines.push(p.line);
    }
    await this.#append(info.channel, lines, r);
    return r.done();
  }

  /** Step: resolve token → channel, from the cache when possible. */
  async #resolve(token: string, r: Report): Promise<TokenInfo | undefined> {
    try {
      return await this.#d.tokens.resolve(token);
    } catch (err) {
      this.#d.metrics.storeErrors.inc({ op: 'resolve_token' });
      r.storeFailed = true;
      this.#storeFailed('token lookup failed', errorFields(err));
      return undefined;
    }
  }

  /** Steps: admit (the channel's rate), append to the channel log, then fan out to this node's sessions. */
  async #append(channel: number, lines: NewLine[], r: Report): Promise<void> {
    if (lines.length === 0) return;
    const admitted = this.#admit(channel, lines);
    // What the sender sent and the bucket let through (without an L16 line of ours).
    const own = admitted.own;
    lines = admitted.lines;
    if (lines.length === 0) return;
    let stored: LogLine[] | undefined;
    const failed = (event: string, fields: Fields): void => {
      this.#d.metrics.storeErrors.inc({ op: 'append' });
      this.#storeFailed(event, { channel, ...fields });
      r.storeFailed = true;
      if (r.transport !== 'http') this.#drops.add(channel, lines.length);
      r.reject(-1, 'store', 'store unavailable', lines.length);
    };
    try {
      stored = await this.#d.store.append(channel, lines);
    } catch (err) {
      return failed('append failed', errorFields(err));
    }
    // The store came back empty: the sender retries (HTTP) or the channel gets its L12 once it is reseeded.
    if (stored === undefined && this.#d.lost?.(channel))
      return failed('append failed: the log store lost the channel', {});
    if (stored === undefined) {
      // Deleted on some node since its token was cached here.
      this.#d.tokens.invalidateChannel(channel);
      r.reject(-1, 'unknown_channel', `channel ${channel} no longer exists`, lines.length);
      return;
    }
    this.#d.metrics.appendBatch.observe(lines.length);
    r.accepted += Math.min(stored.length, own);
    this.#d.hub.publish(channel, stored);
  }

  /**
   * Step: the channel's token bucket. The lines over its rate are dropped (the oldest of the
   * batch are kept) and counted; once per interval an L16 line goes into the channel with the
   * batch, so its tails and history say what was lost (never its drains, as every channel error line).
   */
  #admit(channel: number, lines: NewLine[]): { lines: NewLine[]; own: number } {
    const rates = this.#d.rates;
    if (!rates) return { lines, own: lines.length };
    const now = Date.now();
    const { allowed, report } = rates.admit(channel, lines.length, now);
    if (allowed < lines.length) {
      this.#d.metrics.linesRateLimited.inc(lines.length - allowed);
      lines = lines.slice(0, allowed);
    }
    const own = lines.length;
    if (report)
      lines = [
        ...lines,
        rateLimitLine(report.dropped, formatTimestamp(report.since), rates.rate, formatTimestamp(now)),
      ];
    return { lines, own };
  }

  #storeFailed(event: string, fields: Fields): void {
    const now = Date.now();
    if (now - this.#lastWarn < STORE_WARN_EVERY_MS) {
      this.#suppressed++;
      return;
    }
    this.#d.log.warn(event, { ...fields, suppressed: this.#suppressed });
    this.#lastWarn = now;
    this.#suppressed = 0;
  }
}

/** Step: parse one frame (RFC 5424) and stamp it. */
function parse(f: Frame, index: number, arrival: () => string, r: Report): Parsed | SyslogParseError {
  if (f.truncated) r.metrics.framesTruncated.inc({ transport: r.transport });
  const m = parseSyslog(f.frame);
  if (m instanceof SyslogParseError) return m;
  const sdToken = sdParam(m, 'token');
  let msg = m.msg.toString('utf8', 0, endWithoutNewlines(m.msg));
  if (f.truncated) msg += TRUNCATED_MARKER;
  const line: NewLine = { time: stampTime(m.timestamp, arrival), pri: m.pri, source: '', ps: m.procId || '-', msg };
  // Structure is kept (design.md §A line's journey); the token is a secret and never kept.
  if (m.msgId !== '') line.msgid = m.msgId;
  if (m.sd.length > 0) {
    const sd = sdToken === undefined ? m.sd : withoutToken(m.sd);
    if (sd.length > 0) line.sd = sd;
  }
  return {
    index,
    token: sdToken ?? m.appName,
    source: sdToken !== undefined ? m.appName || undefined : undefined,
    line,
  };
}

function withoutToken(sd: SdElement[]): SdElement[] {
  const out: SdElement[] = [];
  for (const el of sd) {
    const params = el.params.filter(([k]) => k !== 'token');
    if (params.length > 0 || el.params.length === 0) out.push({ id: el.id, params });
  }
  return out;
}

/** Counts of one batch, mirrored into the metrics as they happen. */
class Report {
  accepted = 0;
  rejected = 0;
  firstError: string | undefined;
  storeFailed = false;
  constructor(
    readonly metrics: LogplexMetrics,
    readonly transport: Transport,
  ) {}
  reject(index: number, reason: RejectReason, why: string, n = 1): void {
    this.rejected += n;
    this.firstError ??= index >= 0 ? `frame ${index + 1}: ${why}` : why;
    this.metrics.framesRejected.inc({ transport: this.transport, reason }, n);
  }
  done(): AcceptReport {
    if (this.accepted) this.metrics.linesIngested.inc({ transport: this.transport }, this.accepted);
    return {
      accepted: this.accepted,
      rejected: this.rejected,
      storeFailed: this.storeFailed,
      ...(this.firstError ? { firstError: this.firstError } : {}),
    };
  }
}
