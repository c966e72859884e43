// Step 5 of the request path (design.md §Request path): keep-alive TCP connections to one dyno. A request
// takes the most recently used idle connection (the least likely to have been closed by the
// dyno meanwhile) or opens a new one within ROUTER_CONNECT_TIMEOUT_MS; afterwards the
// connection goes back only if its response said it may (ResponseParser's `reusable`). Idle
// connections are bounded per dyno and closed after ROUTER_POOL_IDLE_MS, below Node's 5 s
// server keep-alive, which shrinks the keep-alive race. Each connection knows whether it was
// reused, so the request path can tell a keep-alive race from a dyno that died (step 5).
//
// Plain requests read their dyno connections into the buffer the whole process shares (`onread`,
// http1/read-buffer.ts): Node's stream path allocates 64 KiB and runs the Readable machinery on
// every read, about 6,000 instructions of a proxied request. A read is parsed and relayed within
// its callback, so the bytes are only lent: whoever keeps some past the call copies them (the
// response parser's held head, the client side's writes: client/exchange.ts). An upgrade takes a
// connection of its own in stream mode, since after a 101 its socket is piped as a stream
// (upgrade-pipe.ts).
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { READ_BUFFER } from '../http1/read-buffer';

/** Who is using a connection right now: gets its bytes, its drain and its end. */
export interface ConnUser {
  /** Bytes read; on a plain connection they are lent for the call only (the shared read buffer). */
  onData(chunk: Buffer): void;
  onDrain(): void;
  /** The socket closed while in use; `err` when it closed on an error (ECONNRESET, …). */
  onClose(err: (Error & { code?: string }) | undefined): void;
}

/** Who asked for a connection: told once, either way. */
export interface ConnRequester {
  onConnected(conn: Conn): void;
  /** `code`: SY_CONNECT_TIMEOUT, or the socket error's code (ECONNREFUSED, …). */
  onConnectFailed(code: string, err: Error | undefined): void;
}

export interface PoolOptions {
  readonly connectTimeoutMs: number;
  readonly idleMs: number;
  /** Idle connections kept per dyno; more are closed when released. */
  readonly maxIdle: number;
}

/** Live counts for the gauges, shared by every pool of one data plane. */
export interface PoolCounts {
  open: number;
  idle: number;
}

/** How long before a dyno's announced keep-alive timeout we stop reusing its connection. */
export const KEEP_ALIVE_MARGIN_MS = 1_000;

/** How a connection reads: into the shared buffer (plain requests), or as a stream (upgrades). */
export type ReadMode = 'lent' | 'stream';

export class Conn {
  user: ConnUser | undefined;
  /** True once the connection served a request before this one. */
  reused = false;
  /** When an idle connection is closed (performance.now() ms). */
  idleUntil = 0;
  #error: (Error & { code?: string }) | undefined;

  // One set of listeners for the connection's life; the current user is looked up per event.
  readonly #onData = (chunk: Buffer): void => {
    const u = this.user;
    // Bytes nobody asked for (on an idle connection) mean we no longer know where responses start.
    if (u === undefined) this.socket.destroy();
    else u.onData(chunk);
  };
  /** A read into READ_BUFFER (`onread`): the same as a 'data' event, on lent bytes. */
  readonly onRead = (n: number, buf: Buffer): void => this.#onData(buf.subarray(0, n));
  readonly #onDrain = (): void => this.user?.onDrain();
  readonly #onError = (err: Error & { code?: string }): void => {
    this.#error = err;
  };
  readonly #onClose = (): void => {
    const u = this.user;
    this.user = undefined;
    this.pool.forget(this);
    u?.onClose(this.#error);
  };

  constructor(
    readonly socket: Socket,
    private readonly pool: DynoPool,
    readonly mode: ReadMode,
  ) {
    if (mode === 'stream') socket.on('data', this.#onData);
    socket.on('drain', this.#onDrain);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  /** Takes the socket out of the pool for good: after a 101 it speaks another protocol. Stream mode only. */
  detach(): Socket {
    const { socket } = this;
    if (this.mode !== 'stream') throw new Error('only a stream-mode connection can be detached');
    socket.removeListener('data', this.#onData);
    socket.removeListener('drain', this.#onDrain);
    socket.removeListener('error', this.#onError);
    socket.removeListener('close', this.#onClose);
    this.user = undefined;
    this.pool.forget(this);
    return socket;
  }

  /**
   * Hands the connection back: kept for the next request when `reusable`, else closed.
   * `dynoKeepAliveS`: the dyno's own `Keep-Alive: timeout`, which may be shorter than ours.
   */
  release(reusable: boolean, dynoKeepAliveS?: number): void {
    this.user = undefined;
    this.pool.release(this, reusable, dynoKeepAliveS);
  }

  /** Closes the connection now; a user still attached is told through onClose. */
  destroy(): void {
    this.socket.destroy();
  }
}

export class DynoPool {
  readonly #idle: Conn[] = [];
  readonly #all = new Set<Conn>();
  #closed = false;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly options: PoolOptions,
    private readonly counts: PoolCounts,
  ) {}

  /**
   * Calls back `r` exactly once: with a connection, or with why none could be had. `mode` 'stream'
   * (an upgrade) always opens a new connection: idle ones read into the shared buffer.
   */
  acquire(r: ConnRequester, mode: ReadMode = 'lent'): void {
    if (this.#closed) {
      r.onConnectFailed('SY_POOL_CLOSED', undefined);
      return;
    }
    if (mode === 'stream') {
      this.#open(r, mode);
      return;
    }
    for (let conn = this.#idle.pop(); conn !== undefined; conn = this.#idle.pop()) {
      this.counts.idle--;
      if (conn.socket.destroyed || !conn.socket.writable) {
        // Half-closed by the dyno while idle: close it now rather than leave it unowned until its close.
        conn.destroy();
        continue;
      }
      conn.reused = true;
      r.onConnected(conn);
      return;
    }
    this.#open(r, mode);
  }

  #open(r: ConnRequester, mode: ReadMode): void {
    // The read callback is bound before the Conn exists; reading starts only after 'connect'.
    let conn: Conn | undefined;
    const socket =
      mode === 'lent'
        ? connect({
            host: this.host,
            port: this.port,
            noDelay: true,
            // Bytes before the Conn exists cannot happen (reading starts after 'connect'); were they
            // to, nobody would know where responses start.
            onread: {
              buffer: READ_BUFFER,
              callback: (n, buf) => {
                if (conn === undefined) socket.destroy();
                else conn.onRead(n, buf as Buffer);
                // Reading pauses through socket.pause(), as in stream mode (backpressure, step 7).
                return true;
              },
            },
          })
        : connect({ host: this.host, port: this.port, noDelay: true });
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('connect', onConnect);
      socket.removeListener('error', onError);
      return true;
    };
    const onConnect = (): void => {
      if (!settle()) return;
      conn = new Conn(socket, this, mode);
      this.#all.add(conn);
      this.counts.open++;
      r.onConnected(conn);
    };
    const onError = (err: Error & { code?: string }): void => {
      if (!settle()) return;
      socket.destroy();
      r.onConnectFailed(err.code ?? 'SY_CONNECT_ERROR', err);
    };
    const timer = setTimeout(() => {
      if (!settle()) return;
      socket.on('error', () => undefined);
      socket.destroy();
      r.onConnectFailed('SY_CONNECT_TIMEOUT', undefined);
    }, this.options.connectTimeoutMs);
    socket.once('connect', onConnect);
    socket.once('error', onError);
  }

  release(conn: Conn, reusable: boolean, dynoKeepAliveS?: number): void {
    // A dyno that says when it will close an idle connection is left a second's margin (as undici
    // does), so we stop using the connection before its timer can race our next request.
    const idleMs =
      dynoKeepAliveS === undefined
        ? this.options.idleMs
        : Math.min(this.options.idleMs, dynoKeepAliveS * 1000 - KEEP_ALIVE_MARGIN_MS);
    if (
      !reusable ||
      idleMs <= 0 ||
      this.#closed ||
      conn.socket.destroyed ||
      this.#idle.length >= this.options.maxIdle
    ) {
      conn.socket.destroy();
      return;
    }
    conn.idleUntil = performance.now() + idleMs;
    this.#idle.push(conn);
    this.counts.idle++;
  }

  /** Called by a connection as it closes, idle or not. */
  forget(conn: Conn): void {
    if (!this.#all.delete(conn)) return;
    this.counts.open--;
    const i = this.#idle.indexOf(conn);
    if (i !== -1) {
      this.#idle.splice(i, 1);
      this.counts.idle--;
    }
  }

  /** Closes idle connections whose time runs out before the next sweep. */
  sweep(now: number, sweepMs: number): void {
    const limit = now + sweepMs;
    let kept = 0;
    for (const conn of this.#idle) {
      if (conn.idleUntil > limit) this.#idle[kept++] = conn;
      else {
        this.counts.idle--;
        conn.destroy();
      }
    }
    this.#idle.length = kept;
  }

  /** No new requests; idle connections close now, busy ones when their response ends. */
  close(): void {
    this.#closed = true;
    for (const conn of this.#idle.splice(0)) {
      this.counts.idle--;
      conn.destroy();
    }
  }

  /** Every connection, busy or not, closed now. */
  destroy(): void {
    this.close();
    for (const conn of [...this.#all]) conn.destroy();
  }
}
