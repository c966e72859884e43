// The dynos of the benches: node:http servers with keep-alive answering 100 bytes.
// Run as a child (`node backend.js [--serial-ms 2,2,2,20]`), one server per listed port.
// Without --serial-ms each server answers at once; with it, each server is ONE worker
// that serves its requests in order, taking that many ms each (a single-threaded dyno,
// the model behind Heroku's routing debate): a slow dyno then has a queue, as in life.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { announce, startChild, type ServerChild } from './child';

export const BODY = Buffer.alloc(100, 'x');
/** A dyno's queue bound: beyond it the dyno answers 503 at once (and the bench counts it). */
const MAX_QUEUE = 10_000;

export interface BackendOptions {
  /** One server per entry: 0 = answer at once; N = one worker taking N ms per request. */
  serialMs?: readonly number[];
  count?: number;
  cpu?: number;
}

export function startBackends(opts: BackendOptions): Promise<ServerChild> {
  const serial = opts.serialMs ?? new Array<number>(opts.count ?? 1).fill(0);
  return startChild('backend', __filename, ['--serial-ms', serial.join(',')], { cpu: opts.cpu });
}

/** `x-dyno` names the server that answered (its index), so a bench can count each one's share. */
function reply(res: ServerResponse, index: string): void {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length, 'x-dyno': index });
  res.end(BODY);
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function immediate(index: string): Handler {
  return (req, res) => {
    req.resume();
    reply(res, index);
  };
}

/**
 * One worker serving in arrival order, `ms` per request. Completion times are kept on a
 * virtual clock (each request starts when the previous one finished), so a timer that fires
 * late on a busy machine delays that one answer and does not slow the dyno down for good.
 */
function serialWorker(ms: number, index: string): Handler {
  let freeAt = 0;
  return (req, res) => {
    req.resume();
    const now = performance.now();
    const start = Math.max(now, freeAt);
    if (start - now >= MAX_QUEUE * ms) {
      res.writeHead(503, { 'content-length': 0 }).end();
      return;
    }
    freeAt = start + ms;
    setTimeout(() => {
      if (!res.destroyed) reply(res, index);
    }, freeAt - now);
  };
}

async function main(argv: string[]): Promise<void> {
  const i = argv.indexOf('--serial-ms');
  const serial = (i >= 0 ? argv[i + 1]! : '0').split(',').map(Number);
  const servers = serial.map((ms, i) =>
    createServer({ keepAlive: true }, ms > 0 ? serialWorker(ms, String(i)) : immediate(String(i))),
  );
  const ports = await Promise.all(
    servers.map(
      (s) =>
        new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port))),
    ),
  );
  announce(ports);
}

if (require.main === module) void main(process.argv.slice(2));
