// The two ways a session reaches its reader (design.md §Tail sessions): a streaming response
// (text/plain, NDJSON or an event stream), one rendered line per `\n`, or a WebSocket on the same
// URL, one line per message. Both report a full transport buffer as `write() === false` and call
// back on the socket's drain.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { TailSink } from './session';

/** Bytes a WebSocket may have queued before the session buffers instead (like a stream's highWaterMark). */
const WS_HIGH_WATER = 64 * 1024;
/** A quiet tail is pinged this often; a reader that has not answered the previous ping is gone (RFC 6455 §5.5.2). */
const WS_PING_MS = 30_000;

/** A transport may report its end as 'close', 'error' or both: the session hears of it once. */
class CloseLatch {
  #closed = false;
  #cb: (() => void) | undefined;

  get closed(): boolean {
    return this.#closed;
  }

  readonly fire = (): void => {
    if (this.#closed) return;
    this.#closed = true;
    this.#cb?.();
  };

  readonly onClose = (cb: () => void): void => {
    this.#cb = cb;
  };
}

export function textSink(res: ServerResponse): TailSink {
  const latch = new CloseLatch();
  res.on('close', latch.fire);
  res.on('error', latch.fire);
  // A reader that vanished without a FIN is noticed by TCP keep-alive even on a quiet channel.
  res.socket?.setKeepAlive(true, WS_PING_MS);
  return {
    write: (lines) => (latch.closed ? false : res.write(lines.join('\n') + '\n')),
    onDrain: (cb) => void res.on('drain', cb),
    onClose: latch.onClose,
    end: () => {
      if (!latch.closed) res.end();
    },
  };
}

export function webSocketSink(ws: WebSocket, socket: Socket): TailSink {
  const latch = new CloseLatch();
  let alive = true;
  ws.on('pong', () => (alive = true));
  const ping = setInterval(() => {
    if (!alive) return ws.terminate();
    alive = false;
    ws.ping();
  }, WS_PING_MS);
  ping.unref();
  ws.on('close', () => clearInterval(ping));
  ws.on('close', latch.fire);
  ws.on('error', latch.fire);
  return {
    write: (lines) => {
      if (latch.closed || ws.readyState !== ws.OPEN) return false;
      // The whole batch as one buffer of complete frames, written in one call: one
      // ws.send per line cost two buffers and a writev slot each. Safe beside ws's own
      // writes (pings, close) because frames are never split and the server negotiates
      // no extensions (perMessageDeflate is off), so ws never queues a frame of its own.
      socket.write(textFrames(lines));
      return ws.bufferedAmount < WS_HIGH_WATER;
    },
    onDrain: (cb) => void socket.on('drain', cb),
    onClose: latch.onClose,
    end: () => {
      if (!latch.closed) ws.close(1000, 'end of history');
    },
  };
}

/** RFC 6455 §5.2: FIN + text opcode, unmasked (server to client), 7/16/64-bit payload length. */
export function textFrames(lines: readonly string[]): Buffer {
  const lens = new Array<number>(lines.length);
  let total = 0;
  for (let i = 0; i < lines.length; i++) {
    const len = Buffer.byteLength(lines[i]!, 'utf8');
    lens[i] = len;
    total += len + (len < 126 ? 2 : len < 65536 ? 4 : 10);
  }
  const buf = Buffer.allocUnsafe(total);
  let o = 0;
  for (let i = 0; i < lines.length; i++) {
    const len = lens[i]!;
    buf[o++] = 0x81;
    if (len < 126) buf[o++] = len;
    else if (len < 65536) {
      buf[o++] = 126;
      buf.writeUInt16BE(len, o);
      o += 2;
    } else {
      buf[o++] = 127;
      buf.writeUInt32BE(0, o);
      buf.writeUInt32BE(len, o + 4);
      o += 8;
    }
    // Same byte and character count: pure ASCII, which latin1 copies without UTF-8 encoding.
    o += buf.write(lines[i]!, o, len, len === lines[i]!.length ? 'latin1' : 'utf8');
  }
  return buf;
}
