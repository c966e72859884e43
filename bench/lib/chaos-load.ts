// The chaos harness's traffic: sequence-numbered lines over TCP syslog to every live Logplex node,
// the drain receiver that records each seq it accepts (and can answer 500 or hang on demand),
// and requests through the routers to a local backend. Each counts per phase.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { request } from 'undici';
import { encodeFrame } from '../../src/shared/syslog/frame';

/** `<134>1 TIME host TOKEN web.1 - seq N`: APP-NAME names the channel's token. */
const line = (token: string, seq: number): Buffer =>
  encodeFrame(`<134>1 ${new Date().toISOString()} host ${token} web.1 - seq ${seq}`);

/** Writes `rate` lines a second, round-robin over the ports `targets()` returns; reconnects. */
export class SyslogSender {
  sent = 0;
  #socks = new Map<number, Socket>();
  #timer: NodeJS.Timeout | undefined;
  constructor(
    readonly token: string,
    readonly rate: number,
    readonly targets: () => number[],
  ) {}

  start(): void {
    const perTick = Math.max(1, Math.round(this.rate / 100));
    let i = 0;
    this.#timer = setInterval(() => {
      const ports = this.targets();
      if (!ports.length) return;
      const port = ports[i++ % ports.length]!;
      const sock = this.#socket(port);
      if (!sock.writable || sock.writableLength > 1 << 20) return;
      const frames: Buffer[] = [];
      for (let k = 0; k < perTick; k++) frames.push(line(this.token, ++this.sent));
      sock.write(Buffer.concat(frames));
    }, 10);
  }

  #socket(port: number): Socket {
    const have = this.#socks.get(port);
    if (have && !have.destroyed) return have;
    const s = connect(port, '127.0.0.1');
    s.setNoDelay(true);
    s.on('error', () => s.destroy());
    this.#socks.set(port, s);
    return s;
  }

  stop(): void {
    clearInterval(this.#timer);
    for (const s of this.#socks.values()) s.end();
  }
}

export type ReceiverMode = 'ok' | '500' | 'hang';

/** The drain receiver: application/logplex-1 bodies; `seq N` messages recorded; L10 lines counted. */
export class Receiver {
  mode: ReceiverMode = 'ok';
  /** Copies of each seq accepted (answered 2xx). */
  readonly copies = new Map<number, number>();
  duplicates = 0;
  l10 = 0;
  requests = 0;
  #hung = new Set<ServerResponse>();
  #server: Server;
  port = 0;

  constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  /** Ends the hang phase: every held request is reset (the sender sees a network error and retries). */
  release(): void {
    for (const res of this.#hung) res.socket?.destroy();
    this.#hung.clear();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests++;
      if (this.mode === 'hang') return void this.#hung.add(res);
      if (this.mode === '500') return void res.writeHead(500).end();
      this.#record(Buffer.concat(chunks));
      res.writeHead(200).end();
    });
  }

  #record(body: Buffer): void {
    let i = 0;
    while (i < body.length) {
      const sp = body.indexOf(0x20, i);
      if (sp < 0) break;
      const len = Number(body.toString('latin1', i, sp));
      const frame = body.toString('utf8', sp + 1, sp + 1 + len);
      i = sp + 1 + len;
      const m = / seq (\d+)$/.exec(frame);
      if (m) {
        const seq = Number(m[1]);
        const n = (this.copies.get(seq) ?? 0) + 1;
        this.copies.set(seq, n);
        if (n > 1) this.duplicates++;
      } else if (frame.includes('Error L10')) this.l10++;
    }
  }

  async close(): Promise<void> {
    this.release();
    this.#server.closeAllConnections();
    await new Promise((r) => this.#server.close(r));
  }
}

/** A backend answering 200, and `rps` requests a second through the routers' ports round-robin. */
export class RequestLoad {
  ok = 0;
  errors = 0;
  #timer: NodeJS.Timeout | undefined;
  #backend = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  port = 0;

  constructor(
    readonly rps: number,
    readonly host: string,
    readonly routers: () => number[],
  ) {}

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.#backend.listen(0, '127.0.0.1', r));
    this.port = (this.#backend.address() as AddressInfo).port;
  }

  start(): void {
    let i = 0;
    const perTick = Math.max(1, Math.round(this.rps / 20));
    this.#timer = setInterval(() => {
      const ports = this.routers();
      for (let k = 0; k < perTick && ports.length; k++) {
        const port = ports[i++ % ports.length]!;
        request(`http://127.0.0.1:${port}/`, { headers: { host: this.host }, headersTimeout: 10_000 })
          .then(async (r) => {
            await r.body.dump();
            if (r.statusCode < 400) this.ok++;
            else this.errors++;
          })
          .catch(() => this.errors++);
      }
    }, 50);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async close(): Promise<void> {
    this.stop();
    this.#backend.closeAllConnections();
    await new Promise((r) => this.#backend.close(r));
  }
}
