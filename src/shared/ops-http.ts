// The endpoints every service answers (design.md §Processes and settings): /healthz, /readyz, /metrics,
// and the graceful stop on SIGTERM.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from './log';

export interface ReadyState {
  ready: boolean;
  /** Shown in the /readyz body: store reachability, table age, degraded reasons. */
  detail: Record<string, unknown>;
}

export interface Ops {
  registry: Registry;
  readiness: () => ReadyState;
}

/** Answers an ops path and returns true, or returns false for the caller to route. */
export function serveOps(req: IncomingMessage, res: ServerResponse, ops: Ops): boolean {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  switch (path) {
    case '/healthz':
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return true;
    case '/readyz': {
      const state = ops.readiness();
      res
        .writeHead(state.ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify({ status: state.ready ? 'ready' : 'not_ready', ...state.detail }));
      return true;
    }
    case '/metrics':
      ops.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': ops.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return true;
    default:
      return false;
  }
}

/** Stops accepting, lets in-flight requests finish within `graceMs`, then destroys what is left. */
export async function closeServer(server: Server, graceMs: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  // Keep-alive connections that finish a response while we wait would otherwise linger.
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  try {
    await closed;
  } finally {
    clearTimeout(timer);
    clearInterval(sweep);
  }
}

/** Runs `stop` once on SIGTERM or SIGINT, then exits 0 (1 if stopping failed). */
export function stopOnSignals(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error('stop failed', { err: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/** Resolves with the bound port once `server` listens on host:port (port 0 = ephemeral). */
export function listen(server: Server | import('node:net').Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}
