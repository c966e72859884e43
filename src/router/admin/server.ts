// The admin listener (ROUTER_ADMIN_PORT): /healthz /readyz /metrics without auth, then the
// control API behind the bearer token. Every response is counted by route pattern and status.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { ApiError, checkAuth, sendError, serveApi, type RouteTable as ApiRoutes } from '../../shared/json-api';
import type { Logger } from '../../shared/log';
import { errorFields } from '../../shared/log';
import { serveOps, type Ops } from '../../shared/ops-http';
import type { RouterMetrics } from '../metrics';
import { adminRoutes, type AdminApiOptions } from './api';

export interface AdminServerOptions extends AdminApiOptions {
  apiToken: string | undefined;
  ops: Ops;
  metrics: RouterMetrics;
}

export function createAdminServer(o: AdminServerOptions): Server {
  const patterns = new WeakMap<IncomingMessage, string>();
  const routes: ApiRoutes = adminRoutes(o, (req, pattern) => patterns.set(req, pattern));
  const log: Logger = o.log;
  const server = createServer((req, res) => {
    if (serveOps(req, res, o.ops)) return;
    res.on('finish', () => {
      o.metrics.adminRequests.inc({
        route: patterns.get(req) ?? 'unmatched',
        method: req.method ?? '',
        status: String(res.statusCode),
      });
    });
    try {
      checkAuth(req, o.apiToken);
    } catch (err) {
      req.resume();
      sendError(res, err as ApiError);
      return;
    }
    void serveApi(
      routes,
      req,
      res,
      (err) => log.error('admin request failed', { method: req.method, path: req.url, ...errorFields(err) }),
      { down: () => (o.store.up ? undefined : 'the route store is unreachable; retry later') },
    );
  });
  // A malformed request line or header never reaches a handler: answer 400 and close.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  return server;
}
