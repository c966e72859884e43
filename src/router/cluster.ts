// ROUTER_WORKERS > 1 (design.md §Processes and settings): N worker processes on one port through node:cluster. Each
// worker runs the whole router node — its own TableSync, admin API and data plane — and the
// primary only supervises: forks, re-forks a worker that died, and on SIGTERM passes the signal
// on and waits for every worker's graceful exit. See docs/decisions.md for why not a primary-held table.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../shared/log';
import { stopOnSignals } from '../shared/ops-http';

export interface Stoppable {
  close(): Promise<void>;
}

export interface ClusterOptions {
  workers: number;
  /** Runs in each worker (or in this process when workers is 1). */
  start: () => Promise<Stoppable>;
  log: Logger;
  /** How long the primary waits for workers after SIGTERM before SIGKILL. */
  graceMs: number;
  /** A worker that dies is re-forked after this delay, so a crash loop cannot spin. */
  restartDelayMs?: number;
}

/** Starts the node (workers = 1) or the cluster; stops on SIGTERM/SIGINT with exit code 0. */
export async function runClustered(o: ClusterOptions): Promise<void> {
  if (o.workers <= 1 || cluster.isWorker) {
    const node = await o.start();
    stopOnSignals(() => node.close(), o.log);
    return;
  }
  supervise(o);
}

function supervise(o: ClusterOptions): void {
  let stopping = false;
  const live = new Set<Worker>();
  const fork = (): void => {
    const w = cluster.fork();
    live.add(w);
    w.once('exit', (code, signal) => {
      live.delete(w);
      if (stopping) return;
      o.log.warn('worker exited', { pid: w.process.pid, code, signal: signal ?? undefined });
      setTimeout(fork, o.restartDelayMs ?? 1_000).unref();
    });
  };
  for (let i = 0; i < o.workers; i++) fork();
  o.log.info('router cluster started', { workers: o.workers });
  stopOnSignals(async () => {
    stopping = true;
    const exited = [...live].map((w) => new Promise<void>((resolve) => w.once('exit', () => resolve())));
    for (const w of live) w.process.kill('SIGTERM');
    const kill = setTimeout(() => {
      for (const w of live) w.process.kill('SIGKILL');
    }, o.graceMs + 5_000);
    await Promise.all(exited);
    clearTimeout(kill);
  }, o.log);
}
