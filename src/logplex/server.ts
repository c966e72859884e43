// Logplex's HTTP listener (design.md §Logplex API): ops endpoints, then a route table that route modules
// fill in (channels, sessions, /logs; drains adds its own), and WebSocket upgrades for
// /sessions/:id. Every socket gets an error handler the moment it exists.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { checkAuth, RouteTable, serveApi, type RouteHandler, type StoreGuard } from '../shared/json-api';
import { serveOps, type Ops } from '../shared/ops-http';
import type { Logger } from '../shared/log';
import { errorFields } from '../shared/log';

/** A group of routes added to the table at start-up (channels, sessions, ingest, drains…). */
export type RouteModule = (table: RouteTable) => void;

/** Handles `Upgrade` requests for its paths; returns false to let the server refuse them. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;

/** The API's auth (Bearer, or Basic with the token as password) in front of a handler. */
export function authed(apiToken: string | undefined, handler: RouteHandler): RouteHandler {
  return (req, res, params) => {
    checkAuth(req, apiToken);
    return handler(req, res, params);
  };
}

export function createLogplexServer(opts: {
  ops: Ops;
  routes: readonly RouteModule[];
  upgrades: readonly UpgradeHandler[];
  log: Logger;
  /** The log store: while it is away the API answers 503 with Retry-After. */
  guard?: StoreGuard;
}): Server {
  const table = new RouteTable();
  for (const add of opts.routes) add(table);
  const onUnexpected = (err: unknown): void => opts.log.error('request failed', errorFields(err));
  const server = createServer({ requestTimeout: 60_000 }, (req, res) => {
    if (serveOps(req, res, opts.ops)) return;
    void serveApi(table, req, res, onUnexpected, opts.guard);
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    for (const handle of opts.upgrades) if (handle(req, socket, head)) return;
    socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  return server;
}
