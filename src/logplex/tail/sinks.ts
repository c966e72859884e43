// The two ways a session reaches its reader (DESIGN §4): a streaming text/plain response,
// one line per `\n`, or a WebSocket on the same URL, one line per message. Both report a full
// transport buffer as `write() === false` and call back on the socket's drain.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { TailSink } from './session';

/** Bytes a WebSocket may have queued before the session buffers instead (like a stream's highWaterMark). */
const WS_HIGH_WATER = 64 * 1024;

export function textSink(res: ServerResponse): TailSink {
  let closeCb: (() => void) | undefined;
  let closed = false;
  const onClose = (): void => {
    if (closed) return;
    closed = true;
    closeCb?.();
  };
  res.on('close', onClose);
  res.on('error', onClose);
  return {
    write: (lines) => (closed ? false : res.write(lines.join('\n') + '\n')),
    onDrain: (cb) => void res.on('drain', cb),
    onClose: (cb) => {
      closeCb = cb;
    },
    end: () => {
      if (!closed) res.end();
    },
  };
}

export function webSocketSink(ws: WebSocket, socket: Socket): TailSink {
  let closeCb: (() => void) | undefined;
  let closed = false;
  const onClose = (): void => {
    if (closed) return;
    closed = true;
    closeCb?.();
  };
  ws.on('close', onClose);
  ws.on('error', onClose);
  return {
    write: (lines) => {
      if (closed || ws.readyState !== ws.OPEN) return false;
      // One syscall for the batch rather than one per frame.
      socket.cork();
      for (const l of lines) ws.send(l);
      socket.uncork();
      return ws.bufferedAmount < WS_HIGH_WATER;
    },
    onDrain: (cb) => void socket.on('drain', cb),
    onClose: (cb) => {
      closeCb = cb;
    },
    end: () => {
      if (!closed) ws.close(1000, 'end of history');
    },
  };
}
