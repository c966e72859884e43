// The Redis under the chaos harness, as a topology with the faults it supports. `single`: a
// redis-server of our own (free port, AOF on, its own directory), which can be restarted with
// its AOF. `cluster`: a local Redis Cluster of our own (3 masters, 3 replicas, the test suite's
// fixture), whose master can be failed over. `url`: an existing Redis that the harness can use
// but not break.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedis, type RedisClient } from '../../src/shared/redis';
import { freePort, pingUntilUp, shutdownRedis, startOwnCluster } from '../../test/fixtures/redis-server';

export interface Topology {
  readonly kind: string;
  readonly url: string;
  /** A client for the harness's own reads (the channel log, as the acknowledged record). */
  client(): RedisClient;
  /** Graceful restart: SHUTDOWN (the AOF is fsynced), start again on the same files. */
  restart?(): Promise<void>;
  /** SIGSTOP of redis-server for `ms`, then SIGCONT: a hung server whose sockets stay open. */
  hang?(ms: number): Promise<void>;
  /** Promotes the replica of the master serving `key` (Cluster, Sentinel). */
  failover?(key: string): Promise<void>;
  close(): Promise<void>;
}

export async function singleRedis(): Promise<Topology> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sy-chaos-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
    child = spawn('redis-server', [...args, '--appendonly', 'yes', '--appendfsync', 'everysec'], { stdio: 'ignore' });
    await pingUntilUp(url, 10_000);
  };
  const stop = (): Promise<void> => shutdownRedis(child, url, [], 5000);
  await start();
  return {
    kind: 'single',
    url,
    client: () => createRedis(url),
    restart: async () => {
      await stop();
      await start();
    },
    hang: async (ms) => {
      const c = child!;
      c.kill('SIGSTOP');
      try {
        await new Promise((res) => setTimeout(res, ms));
      } finally {
        c.kill('SIGCONT');
      }
    },
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function clusterRedis(): Promise<Topology> {
  const c = await startOwnCluster();
  if (!c) throw new Error('redis-server and redis-cli are needed for --topology cluster');
  return {
    kind: 'cluster',
    url: c.url,
    client: () => createRedis(c.url),
    failover: (key) => c.failover(key),
    close: () => c.destroy(),
  };
}

export function existingRedis(url: string): Topology {
  return { kind: 'url', url, client: () => createRedis(url), close: async () => undefined };
}
