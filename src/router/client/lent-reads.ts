// The plain listener's client sockets read into the buffer the whole process shares
// (http1/read-buffer.ts), as pooled dyno connections do (upstream/pool.ts; docs/decisions.md,
// "Sockets read into one shared buffer"): Node's stream path allocates 64 KiB and runs the Readable
// machinery on every read, about 6,000 instructions of a proxied request on this side too. node:net
// offers `onread` only when it makes the Socket for us, so the accepted socket's handle is taken
// over by a Socket made with `onread`; the accepted one stays behind, as the server's count of open
// connections, until the new one closes (so `server.close()` still waits for it). Bytes are lent
// to the read's callback: whoever keeps some copies them (connection.ts).
import { Buffer } from 'node:buffer';
import { Socket, type SocketConstructorOpts } from 'node:net';
import { READ_BUFFER } from '../http1/read-buffer';

/** Where a socket's lent reads go; an upgrade's pipe takes them over from the connection. */
export class LentReads {
  reader: ((chunk: Buffer) => void) | undefined;
}

/**
 * The accepted TCP socket re-made to read into the shared buffer, or undefined when it cannot be
 * (no libuv handle of its own, e.g. a TLS socket's underlying stream): then it is served as a stream.
 */
export function adoptLent(accepted: Socket): { socket: Socket; reads: LentReads } | undefined {
  const internal = accepted as unknown as { _handle: object | null | undefined };
  const handle = internal._handle;
  if (handle === null || handle === undefined || accepted.readableLength > 0) return undefined;
  const reads = new LentReads();
  internal._handle = null;
  const opts = {
    handle,
    allowHalfOpen: accepted.allowHalfOpen,
    onread: {
      buffer: READ_BUFFER,
      callback: (n: number, buf: Uint8Array): boolean => {
        const reader = reads.reader;
        // Nobody reads (between a connection's end and its close): the bytes are dropped, as a
        // closing connection drops them in stream mode.
        if (reader !== undefined) reader((buf as Buffer).subarray(0, n));
        return true;
      },
    },
  } as SocketConstructorOpts;
  const socket = new Socket(opts);
  socket.once('close', () => accepted.destroy());
  return { socket, reads };
}
