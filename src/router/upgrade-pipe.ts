// Step 8 of the request path (design.md §Request path), after the dyno's 101: the raw byte pipe both ways, one
// idle window (H15), either side's end closes both. How it ended goes back to upgrade.ts, which
// releases the app's in-flight slot (H11) and writes the H15 line.
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { PlaneDeps } from './handle';

/** How a pipe ended: `idle` when the H15 window closed it; bytes the router wrote to the client. */
export interface PipeEnd {
  readonly idle: boolean;
  readonly openMs: number;
  readonly bytesToClient: number;
}

export function pipe(p: PlaneDeps, client: Duplex, upstream: Duplex, ended: (end: PipeEnd) => void): void {
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
  client.pipe(upstream);
  upstream.pipe(client);
}
