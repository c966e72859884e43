// syslog:// and syslog+tls:// drains (design.md §Drain delivery): strictly valid RFC 5424, octet-counted
// (RFC 6587 §3.4.1) over one TCP or TLS connection, `<PRI>1 TIME d.TOKEN SOURCE DYNO - - MSG`
// (HOSTNAME = drain token, APP-NAME = source, PROCID = dyno). TLS is verified; a certificate
// failure is L14. One payload is in flight at a time and the next waits for the socket to
// take it (backpressure, bounded by the batch size); a write that does not complete within
// the write timeout destroys the connection. The runner's backoff paces reconnects.
import net from 'node:net';
import { rootCertificates } from 'node:tls';
import tls from 'node:tls';
import type { DrainLine } from './store/index';
import { frameBatch } from './frames';
import type { DrainKind, DrainTarget, Outcome, Payload, Transport, TransportOptions } from './transport';
import { failure } from './transport';

type Sock = net.Socket | tls.TLSSocket;

export class SyslogTransport implements Transport {
  #target: DrainTarget;
  #opts: TransportOptions;
  #tls: boolean;
  #sock: Sock | undefined;
  #broken: Error | undefined;

  constructor(target: DrainTarget, opts: TransportOptions) {
    this.#target = target;
    this.#opts = opts;
    this.#tls = target.url.protocol === 'syslog+tls:';
  }

  encode(lines: readonly DrainLine[], frameId: string): Payload {
    return { body: frameBatch(lines, 'rfc5424', this.#target.token), count: lines.length, frameId };
  }

  async send(payload: Payload): Promise<Outcome> {
    try {
      // Let pending socket events run first, so a receiver that hung up since the last batch
      // is noticed before we write into a dead connection (syslog has no application ack).
      if (this.#sock) await new Promise((r) => setImmediate(r));
      const sock = this.#sock && !this.#sock.destroyed && !this.#broken ? this.#sock : await this.#connect();
      await this.#write(sock, payload.body);
      return { kind: 'ok' };
    } catch (err) {
      this.#drop();
      return failure(err);
    }
  }

  #connect(): Promise<Sock> {
    this.#drop();
    const host = this.#target.url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(this.#target.url.port);
    return new Promise((resolve, reject) => {
      const ca = this.#opts.ca ? [...rootCertificates, this.#opts.ca.toString()] : undefined;
      const sock: Sock = this.#tls
        ? tls.connect({
            host,
            port,
            servername: net.isIP(host) ? undefined : host,
            rejectUnauthorized: true,
            ...(ca ? { ca } : {}),
          })
        : net.connect({ host, port });
      const timer = setTimeout(() => {
        sock.destroy(Object.assign(new Error(`connect to ${host}:${port} timed out`), { code: 'ETIMEDOUT' }));
      }, this.#opts.connectTimeoutMs);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      sock.once('error', onError);
      sock.once(this.#tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        sock.off('error', onError);
        sock.setNoDelay(true);
        // A receiver that talks back or hangs up: remember it, the next send reconnects.
        sock.on('error', (err) => (this.#broken = err));
        sock.on(
          'close',
          () => (this.#broken ??= Object.assign(new Error('connection closed'), { code: 'ECONNRESET' })),
        );
        sock.on('data', () => undefined);
        sock.on('end', () => (this.#broken ??= Object.assign(new Error('receiver hung up'), { code: 'ECONNRESET' })));
        this.#broken = undefined;
        this.#sock = sock;
        resolve(sock);
      });
    });
  }

  #write(sock: Sock, body: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err?: Error | null): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onClose = (): void =>
        finish(Object.assign(new Error('connection closed during write'), { code: 'ECONNRESET' }));
      const timer = setTimeout(
        () =>
          finish(
            Object.assign(new Error(`write not taken within ${this.#opts.responseTimeoutMs} ms`), {
              code: 'ETIMEDOUT',
            }),
          ),
        this.#opts.responseTimeoutMs,
      );
      sock.once('close', onClose);
      // Backpressure: the callback runs once the socket handed the bytes to the kernel, so a
      // receiver that stops reading stalls this write (and the runner) instead of our memory.
      sock.write(body, (err) => finish(err));
    });
  }

  #drop(): void {
    this.#sock?.destroy();
    this.#sock = undefined;
    this.#broken = undefined;
  }

  async close(): Promise<void> {
    const sock = this.#sock;
    this.#sock = undefined;
    if (!sock || sock.destroyed) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        sock.destroy();
        resolve();
      }, 1_000);
      sock.end(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

/** The registry's row for syslog:// and syslog+tls:// (./index.ts). */
export const SYSLOG_DRAIN: DrainKind = {
  schemes: ['syslog:', 'syslog+tls:'],
  http: false,
  problem(u: URL): string | undefined {
    // syslog:// has no default port (RFC 5424 transports differ: 514, 601, 6514): it must be named.
    if (!u.port) return 'missing port (syslog://host:port)';
    if (u.username || u.password) return 'credentials are not allowed in a syslog URL';
    if ((u.pathname && u.pathname !== '/') || u.search || u.hash) return 'a syslog URL has no path, query or fragment';
    return undefined;
  },
  // Lower-cased, without a trailing `/`: `syslog://Host:514/` and `syslog://host:514` are one drain.
  canonical: (u) => `${u.protocol}//${u.host.toLowerCase()}`,
  create: (t, o) => new SyslogTransport(t, o),
};
