// Step 8 of the request path (design.md §Request path), after the dyno's 101: the raw byte pipe both ways, one
// idle window (H15), either side's end closes both. How it ended goes back to upgrade.ts, which
// releases the app's in-flight slot (H11) and writes the H15 line.
import type { Socket } from 'node:net';
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { LentReads } from './client/lent-reads';
import type { PlaneDeps } from './handle';

/** How a pipe ended: `idle` when the H15 window closed it; bytes the router wrote to the client. */
export interface PipeEnd {
  readonly idle: boolean;
  readonly openMs: number;
  readonly bytesToClient: number;
}

export function pipe(
  p: PlaneDeps,
  client: Duplex,
  upstream: Duplex,
  ended: (end: PipeEnd) => void,
  clientLent?: LentReads,
): void {
  const socket = client as Socket;
  const openedAt = performance.now();
  const writtenBefore = socket.bytesWritten ?? 0;
  let idle = false;
  p.pipes.add(client);
  p.metrics.live.websockets++;
  const close = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.once('close', () => {
    upstream.destroy();
    if (p.pipes.delete(client)) p.metrics.live.websockets--;
    ended({ idle, openMs: performance.now() - openedAt, bytesToClient: (socket.bytesWritten ?? 0) - writtenBefore });
  });
  upstream.once('close', () => client.destroy());
  // Socket#setTimeout counts reads and writes on the client socket, i.e. bytes either way.
  socket.setTimeout(p.config.ROUTER_IDLE_TIMEOUT_MS, () => {
    idle = true;
    p.metrics.upstreamErrors.labels('H15').inc();
    close();
  });
  if (clientLent === undefined) client.pipe(upstream);
  else pump(socket, clientLent, upstream);
  upstream.pipe(client);
}

/**
 * `client.pipe(upstream)` for a socket whose reads come lent (client/lent-reads.ts): each read is
 * copied (the upstream keeps what it cannot send at once), and the client is paused while the
 * upstream is full.
 */
function pump(client: Socket, reads: LentReads, upstream: Duplex): void {
  let waiting = false;
  const resume = (): void => {
    waiting = false;
    client.resume();
  };
  reads.reader = (chunk) => {
    if (!upstream.write(Buffer.copyBytesFrom(chunk)) && !waiting) {
      waiting = true;
      client.pause();
      upstream.once('drain', resume);
    }
  };
  client.once('end', () => upstream.end());
}
