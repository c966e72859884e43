// Waits until something accepts TCP connections on host:port (the dyno agent's boot check,
// like Heroku's R10 boot timeout): polls with a bounded number of connects, stops early when
// `alive()` turns false (the process exited).
import { connect } from 'node:net';

const POLL_MS = 100;

function tryConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.setTimeout(1_000);
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.once('timeout', () => done(false));
  });
}

export async function waitListening(
  host: string,
  port: number,
  timeoutMs: number,
  alive: () => boolean,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && alive()) {
    if (await tryConnect(host, port)) return true;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return false;
}

/** A free TCP port on host, chosen by the OS. */
export async function freePort(host: string): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}
