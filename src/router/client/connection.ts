// Step 1 of the request path (design.md §Request path): one client connection over HTTP/1.1, on a
// net.Socket or a tls.TLSSocket alike. It reads requests with RequestParser, one at a time: a
// pipelined request waits, unread, until the response before it ended. A body that fits
// ROUTER_BUFFER_BODY_BYTES (and the node's ROUTER_BUFFER_TOTAL_BYTES) is read whole before the
// request reaches the path, so a slow upload never holds an app slot or a dyno connection; the
// whole body must arrive within ROUTER_BODY_TIMEOUT_MS, a head within ROUTER_HEADERS_TIMEOUT_MS
// (408 H28 either way). It implements ClientSide for the request path (exchange.ts) and writes
// responses itself (response-writer.ts); refusals go through the one error exit like any other.
// `performance` and `Buffer` are imported: on globalThis they are accessors, a slow lookup each use.
import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Expiring } from '../upstream/deadlines';
import type { BodyBudget } from './body-budget';
import type { BodySink, ClientGoneReason, ClientRequest, ClientSide, ListenerInfo } from './exchange';
import type { LentReads } from './lent-reads';
import { REQUEST_LIMITS } from './limits';
import { RequestParseError, RequestParser, type RequestHead, type RequestSink } from './request-parser';
import { ResponseWriter } from './response-writer';

/** What the engine needs from the data plane: settings, timers, and the request path's two ends. */
export interface EngineDeps {
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly bufferBodyBytes: number;
  readonly budget: BodyBudget;
  readonly deadlines: { watch(e: Expiring): void; unwatch(e: Expiring): void };
  /** Runs the request path for one parsed request. */
  serve(req: ClientRequest, side: ClientSide): void;
  /** The one error exit, for a request refused before it reached the path (no ClientRequest yet). */
  refuse(side: ClientSide, refusal: Refusal): void;
  /** Open connections, for shutdown. */
  readonly open: Set<Connection>;
  /** A throw that escaped the path: a bug, which costs this connection, never the process. */
  bug(err: unknown): void;
}

/** A request refused by the engine itself: what the error exit needs to answer and log it. */
export interface Refusal {
  readonly code: 'H25' | 'H26' | 'H28';
  readonly status: number | undefined;
  readonly reason: string;
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly remoteAddress: string;
  readonly proto: ListenerInfo['proto'];
}

const enum Phase {
  /** Waiting for (the rest of) a head. */
  Head,
  /** Reading a body whole before the request goes to the path. */
  Buffering,
  /** The request is with the path. */
  Active,
  /** No more requests: the connection ends once the current response is out. */
  Closing,
}

const REFUSALS = {
  'too-large': ['H25', undefined],
  malformed: ['H26', undefined],
  version: ['H26', 505],
  expectation: ['H26', 417],
} as const;

export class Connection extends ResponseWriter implements RequestSink, ClientSide, Expiring {
  readonly #deps: EngineDeps;
  readonly #listener: ListenerInfo;
  readonly #parser: RequestParser;
  deadline = 0;
  slot = -1;
  #phase = Phase.Head;
  #deadlineKind: 'none' | 'idle' | 'head' | 'body' | 'linger' = 'none';
  /** Unparsed bytes read from the socket: the rest of a read, waiting for its turn. */
  #pending: Buffer | undefined;
  #processing = false;
  #clientEnded = false;

  // ---- the current request ----
  #head: RequestHead | undefined;
  /** Body slices read but not yet taken by a sink; while buffering, the whole body. */
  #chunks: Buffer[] = [];
  #chunkAt = 0;
  #buffered = 0;
  /** This request holds a share of the node's buffer budget (ROUTER_BUFFER_TOTAL_BYTES). */
  #budgeted = false;
  /** Every byte of the body is in #chunks: a replay may read it again. */
  #wholeBody = false;
  #bodyDone = false;
  #sink: BodySink | undefined;
  #bodyPaused = false;
  #gone: ((reason: ClientGoneReason) => void) | undefined;
  /** The response ended before the body: the rest of the body is being read and dropped. */
  #discarding = false;
  #goneFired = false;

  /** Reads come lent from the shared buffer (lent-reads.ts): what is kept past a read is copied. */
  readonly #lent: LentReads | undefined;
  readonly #onDataL = (d: Buffer): void => this.#onData(d);
  readonly #onEndL = (): void => this.#onEnd();
  readonly #onCloseL = (): void => this.#onClose();

  constructor(socket: Socket, deps: EngineDeps, listener: ListenerInfo, lent?: LentReads) {
    super(socket);
    this.#deps = deps;
    this.#listener = listener;
    this.#parser = new RequestParser(this);
    this.#lent = lent;
    socket.setNoDelay(true);
    if (lent !== undefined) lent.reader = this.#onDataL;
    else socket.on('data', this.#onDataL);
    socket.on('end', this.#onEndL);
    socket.on('error', () => undefined);
    socket.on('close', this.#onCloseL);
    deps.open.add(this);
    this.#arm('idle', deps.headersTimeoutMs);
  }

  get bodyComplete(): boolean {
    return this.#bodyDone;
  }

  /** Shutdown: an idle connection closes now, a busy one after its response. */
  drain(): void {
    if (this.#phase === Phase.Head && this.#parser.idle) this.socket.destroy();
    else this.closeAfter = true;
  }

  // ---- reading ----

  #onData(data: Buffer): void {
    // Closing: what the client still sends is read and dropped, so its close is seen.
    if (this.#phase === Phase.Closing) return;
    if (this.#pending !== undefined) {
      this.#pending = Buffer.concat([this.#pending, data]);
      if (this.#pending.length > REQUEST_LIMITS.pipelinedBytes) this.socket.pause();
      return;
    }
    this.#process(data, 0);
  }

  /** Parses as far as the current request allows; keeps the rest in #pending. */
  #process(data: Buffer, at: number): void {
    if (this.#processing) {
      this.#keep(data, at);
      return;
    }
    this.#processing = true;
    try {
      while (at < data.length && this.#canRead()) {
        if (this.#phase === Phase.Head) {
          // The previous message ended and its response went out: on to the next head.
          if (this.#parser.done) this.#parser.next();
          if (this.#deadlineKind === 'idle') this.#arm('head', this.#deps.headersTimeoutMs);
        }
        at = this.#parser.execute(data, at);
      }
    } catch (err) {
      this.#processing = false;
      if (err instanceof RequestParseError) return this.#refused(err);
      this.#deps.bug(err);
      this.socket.destroy();
      return;
    }
    this.#processing = false;
    this.#keep(data, at);
  }

  #keep(data: Buffer, at: number): void {
    if (at >= data.length) {
      this.#pending = undefined;
      if (this.#canRead()) this.socket.resume();
      return;
    }
    const rest = at === 0 ? data : data.subarray(at);
    this.#pending = this.#lent === undefined ? rest : Buffer.copyBytesFrom(rest);
    this.socket.pause();
  }

  /** Whether the parser may take more bytes now. */
  #canRead(): boolean {
    switch (this.#phase) {
      case Phase.Head:
      case Phase.Buffering:
        return true;
      case Phase.Active:
        // The body flows while someone reads it; the next request waits for this response.
        return !this.#parser.done && this.#head?.upgrade === undefined && this.#sink !== undefined && !this.#bodyPaused;
      case Phase.Closing:
        return false;
    }
  }

  /** Continues with bytes that waited (a resumed body, the next pipelined request). */
  #resume(): void {
    const p = this.#pending;
    if (p === undefined) {
      if (this.#canRead()) this.socket.resume();
      return;
    }
    this.#pending = undefined;
    this.#process(p, 0);
  }

  onHead(head: RequestHead): void {
    this.#head = head;
    this.startResponse(head.minor, head.method === 'HEAD', head.keepAlive && !this.#clientEnded, head.expectContinue);
    this.#chunks = [];
    this.#chunkAt = 0;
    this.#buffered = 0;
    this.#wholeBody = false;
    this.#bodyDone = head.length === 0;
    this.#sink = undefined;
    this.#bodyPaused = false;
    this.#gone = undefined;
    this.#goneFired = false;
    if (head.length === 0 || head.upgrade !== undefined) {
      this.#bodyDone = true;
      return this.#dispatch();
    }
    this.#arm('body', this.#deps.bodyTimeoutMs);
    // Request buffering: read a body that fits whole first; a client told to wait for 100 Continue
    // would never send it, so it hears it now (as nginx does).
    const fits = head.length === -1 || head.length <= this.#deps.bufferBodyBytes;
    if (fits && this.#deps.budget.begin()) {
      this.#budgeted = true;
      this.#phase = Phase.Buffering;
      this.writeContinue();
      return;
    }
    this.#dispatch();
  }

  onBody(lentOrOwned: Buffer): void {
    // Kept (buffered, queued) or written to a dyno socket, which keeps what it cannot send at once.
    const chunk = this.#lent === undefined ? lentOrOwned : Buffer.copyBytesFrom(lentOrOwned);
    if (this.#phase === Phase.Buffering) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      // Beyond this request's share or the node's: stream what came so far and the rest.
      if (!this.#deps.budget.take(chunk.length) || this.#buffered > this.#deps.bufferBodyBytes) this.#dispatch();
      return;
    }
    if (this.#sink !== undefined && !this.#bodyPaused && this.#chunkAt === this.#chunks.length) {
      this.#sink.onData(chunk);
    } else {
      this.#chunks.push(chunk);
    }
  }

  onEnd(): void {
    this.#bodyDone = true;
    if (this.#discarding) {
      this.#discarding = false;
      this.#sink = undefined;
      this.#unarm();
      this.#nextRequest();
      return;
    }
    if (this.#phase === Phase.Buffering) {
      this.#wholeBody = true;
      this.#dispatch();
      return;
    }
    this.#unarm();
    if (this.#sink !== undefined && !this.#bodyPaused && this.#chunkAt === this.#chunks.length) this.#sink.onEnd();
  }

  #dispatch(): void {
    const head = this.#head!;
    const wasBuffering = this.#phase === Phase.Buffering;
    this.#phase = Phase.Active;
    if (this.#bodyDone) this.#unarm();
    if (wasBuffering && !this.#wholeBody) {
      // Streaming from here: the buffered part is no longer counted against the node's budget.
      this.#budgeted = false;
      this.#deps.budget.end(this.#buffered);
      this.#buffered = 0;
    }
    this.#deps.serve(
      {
        method: head.method,
        target: head.target,
        authority: head.authority,
        version: head.minor === 1 ? 'HTTP/1.1' : 'HTTP/1.0',
        rawHeaders: head.rawHeaders,
        passThrough: head.passThrough,
        body: head.length === 0 ? NO_BODY : head.length === -1 ? STREAM : { kind: 'length', length: head.length },
        expectContinue: head.expectContinue,
        upgrade: head.upgrade,
        remoteAddress: this.socket.remoteAddress ?? '',
        headChecked: true,
        proto: this.#listener.proto,
        port: this.#listener.port,
        receivedAt: Date.now(),
      },
      this,
    );
  }

  // ---- the request body, for the path ----

  readBody(sink: BodySink): void {
    this.#sink = sink;
    this.#bodyPaused = false;
    // A body read whole is read again from its start by a replay.
    if (this.#wholeBody) this.#chunkAt = 0;
    this.#flushChunks();
  }

  pauseBody(): void {
    this.#bodyPaused = true;
  }

  resumeBody(): void {
    if (!this.#bodyPaused) return;
    this.#bodyPaused = false;
    this.#flushChunks();
  }

  #flushChunks(): void {
    const sink = this.#sink!;
    while (this.#chunkAt < this.#chunks.length && !this.#bodyPaused) sink.onData(this.#chunks[this.#chunkAt++]!);
    if (this.#bodyPaused) return;
    if (!this.#wholeBody) {
      this.#chunks.length = 0;
      this.#chunkAt = 0;
    }
    if (this.#bodyDone) sink.onEnd();
    else this.#resume();
  }

  onGone(cb: (reason: ClientGoneReason) => void): void {
    this.#gone = cb;
  }

  #fireGone(reason: ClientGoneReason): void {
    if (this.#goneFired || this.#phase !== Phase.Active || this.ended) return;
    this.#goneFired = true;
    this.#gone?.(reason);
  }

  takeTransport(): { socket: Socket; head: Buffer; lent: LentReads | undefined } {
    this.#unarm();
    this.#phase = Phase.Closing;
    this.#deps.open.delete(this);
    this.#releaseBody();
    const socket = this.socket;
    if (this.#lent !== undefined) this.#lent.reader = undefined;
    else socket.removeListener('data', this.#onDataL);
    socket.removeListener('end', this.#onEndL);
    socket.removeListener('close', this.#onCloseL);
    this.detachWriter();
    const head = this.#pending ?? Buffer.alloc(0);
    this.#pending = undefined;
    return { socket, head, lent: this.#lent };
  }

  // ---- after each response ----

  protected override finished(): void {
    this.#releaseBody();
    this.#head = undefined;
    this.#gone = undefined;
    if (this.closeAfter || this.#clientEnded) {
      this.#sink = undefined;
      this.#phase = Phase.Closing;
      this.#pending = undefined;
      // Our side ends once the response is out; the client's bytes still arriving are read and
      // dropped (a close with them unread would reset the connection and could lose the answer),
      // and a client that never closes its side is cut after a bound.
      this.socket.end();
      this.socket.resume();
      this.#arm('linger', REQUEST_LIMITS.lingerMs);
      return;
    }
    if (!this.#bodyDone) {
      // The dyno answered before reading the whole body: the rest is read and dropped (within
      // ROUTER_BODY_TIMEOUT_MS), so the next request on this connection is found where it starts.
      this.#sink = DISCARD;
      this.#bodyPaused = false;
      this.#discarding = true;
      this.#resume();
      return;
    }
    this.#sink = undefined;
    this.#nextRequest();
  }

  #nextRequest(): void {
    this.#phase = Phase.Head;
    this.#arm('idle', this.#deps.headersTimeoutMs);
    // A client that does not read its responses gets no more of them: its pipelined requests
    // wait, unread, until what we wrote drains (or the idle deadline closes the connection).
    if (this.socket.writableLength > REQUEST_LIMITS.pipelinedBytes) {
      this.socket.pause();
      this.onDrain(() => this.#resume());
      return;
    }
    this.#resume();
  }

  #releaseBody(): void {
    if (this.#budgeted) this.#deps.budget.end(this.#buffered);
    this.#budgeted = false;
    this.#buffered = 0;
    this.#chunks = [];
    this.#chunkAt = 0;
  }

  // ---- failures and timers ----

  #refused(err: RequestParseError): void {
    if (this.#phase === Phase.Active) {
      // The path is already forwarding this request: cut it there; the exit answers 400 H26.
      this.#pending = undefined;
      this.closeAfter = true;
      this.#unarm();
      this.#fireGone('H26');
      return;
    }
    const [code, status] = REFUSALS[err.refusal];
    this.#refuse(code, status, err.reason, err.method, err.target);
  }

  #refuse(code: Refusal['code'], status: number | undefined, reason: string, method = '', target = ''): void {
    this.#unarm();
    this.#releaseBody();
    this.#phase = Phase.Closing;
    this.#pending = undefined;
    this.socket.pause();
    const head = this.#head;
    if (head === undefined) this.startResponse(1, false, false, false);
    this.closeAfter = true;
    this.#deps.refuse(this, {
      code,
      status,
      reason,
      method: head?.method ?? method,
      path: head?.target ?? target,
      host: head?.authority ?? '',
      remoteAddress: this.socket.remoteAddress ?? '',
      proto: this.#listener.proto,
    });
  }

  #arm(kind: 'idle' | 'head' | 'body' | 'linger', ms: number): void {
    this.#deadlineKind = kind;
    this.deadline = performance.now() + ms;
    this.#deps.deadlines.watch(this);
  }

  #unarm(): void {
    this.#deadlineKind = 'none';
    this.#deps.deadlines.unwatch(this);
  }

  expire(): void {
    switch (this.#deadlineKind) {
      case 'none':
        return;
      case 'linger':
        this.socket.destroy();
        return;
      case 'idle':
        // Keep-alive idle, not a byte of a next request, or a client that stopped reading its
        // responses: close quietly (nothing to answer).
        if (this.#phase === Phase.Head) this.socket.destroy();
        return;
      case 'head':
        return this.#refuse('H28', undefined, 'head timeout');
      case 'body':
        if (this.#discarding) return void this.socket.destroy();
        if (this.#phase === Phase.Buffering) return this.#refuse('H28', undefined, 'body timeout');
        this.closeAfter = true;
        this.#fireGone('H28');
        return;
    }
  }

  #onEnd(): void {
    this.#clientEnded = true;
    // A client that half-closes has given up on what it has not been answered yet (as Node's
    // server and nginx take it): the request in flight ends as H27.
    if (this.#phase === Phase.Active && !this.ended) this.#fireGone('gone');
    else if (this.#phase !== Phase.Closing) this.socket.end();
  }

  #onClose(): void {
    this.#unarm();
    this.#deps.open.delete(this);
    this.#releaseBody();
    this.#fireGone('gone');
    this.#phase = Phase.Closing;
  }
}

const NO_BODY = { kind: 'none' } as const;
const DISCARD: BodySink = { onData: () => undefined, onEnd: () => undefined };
const STREAM = { kind: 'stream' } as const;
