// Syslog on LOGPLEX_SYSLOG_PORT (design.md §Ingest): TCP with RFC 6587 framing (octet
// counting, or LF when a frame does not start with a digit; one FrameSplitter per socket, so a
// sender stalled mid-frame holds at most the 10 KiB frame limit), and UDP with one message per
// datagram (RFC 5426 §3.1). One TCP read or one tick of datagrams is one batch for accept.ts.
// While the store is away a TCP connection stops reading, so the sender's own queue holds its
// lines; what was already read waits in a bounded hold and goes to the store when it returns
// (past the bound it is dropped, counted, and reported in-band as L12 by accept.ts). UDP cannot
// push back: its lines fail, counted the same way.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Socket } from 'node:net';
import type { Logger } from '../../shared/log';
import { errorFields } from '../../shared/log';
import { endWithoutNewlines, FrameSplitter, MAX_FRAME } from '../../shared/syslog/frame';
import type { AcceptReport, Acceptor, Frame } from '../accept';
import type { LogplexMetrics, Transport } from '../metrics';

/** Batches one TCP connection may have waiting on the store before we stop reading it (TCP backpressure). */
const MAX_PENDING_BATCHES = 16;
/** Bytes of frames one TCP connection holds while the store is away (about four reads); past it, dropped. */
export const MAX_HELD_BYTES = 256 * 1024;
/** Datagrams gathered in one tick before a batch is cut (bounds the UDP queue). */
const MAX_UDP_BATCH = 1000;
/** UDP batches waiting on the store; past this, datagrams are dropped and counted (UDP cannot push back). */
const MAX_UDP_PENDING = 16;

export interface SyslogIngest {
  port: number;
  /** The store is reachable again: held frames go to it and paused connections read again. */
  storeBack(): void;
  close(graceMs: number): Promise<void>;
}

export interface SyslogDeps {
  acceptor: Acceptor;
  metrics: LogplexMetrics;
  log: Logger;
  /** Whether the store can take lines now (a TCP connection stops reading while it cannot). */
  storeUp: () => boolean;
}

/** A TCP connection paused while the store is away, with the frames it holds. */
interface Held {
  resume(): void;
  drop(): void;
}

export async function startSyslog(deps: SyslogDeps, host: string, port: number): Promise<SyslogIngest> {
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>): void => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  const report = (transport: Transport) => (r: AcceptReport) => {
    if (r.rejected)
      deps.log.debug('frames rejected', {
        transport,
        accepted: r.accepted,
        rejected: r.rejected,
        first_error: r.firstError,
      });
  };
  const sockets = new Set<Socket>();
  const waiting = new Set<Held>();
  const tcp = createServer((socket) => {
    sockets.add(socket);
    deps.metrics.syslogConnections.inc();
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sockets.delete(socket);
      deps.metrics.syslogConnections.dec();
    });
    connection(deps, socket, track, report('tcp'), waiting);
  });
  tcp.maxConnections = 10_000;
  const boundPort = await new Promise<number>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, host, () => {
      tcp.off('error', reject);
      resolve((tcp.address() as { port: number }).port);
    });
  });
  let udp: UdpSocket;
  try {
    udp = await bindUdp(deps, host, boundPort, track, report('udp'));
  } catch (err) {
    tcp.close();
    throw err;
  }
  return {
    port: boundPort,
    storeBack() {
      for (const h of [...waiting]) h.resume();
    },
    async close(graceMs: number) {
      // Held frames have nowhere to go once we stop: dropped and counted, as lines that never came.
      for (const h of [...waiting]) h.drop();
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      udp.close();
      for (const s of sockets) s.end();
      const timer = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, graceMs);
      await Promise.allSettled([...pending]);
      await closed;
      clearTimeout(timer);
    },
  };
}

function connection(
  deps: SyslogDeps,
  socket: Socket,
  track: (p: Promise<void>) => void,
  done: (r: AcceptReport) => void,
  waiting: Set<Held>,
): void {
  let batch: Frame[] = [];
  let inFlight = 0;
  let held: Frame[] = [];
  let heldBytes = 0;
  const takeHeld = (): Frame[] => {
    const frames = held;
    held = [];
    heldBytes = 0;
    waiting.delete(waiter);
    deps.metrics.syslogHeldFrames.dec(frames.length);
    return frames;
  };
  const waiter: Held = {
    resume: () => {
      const frames = takeHeld();
      if (frames.length) send(frames);
      if (inFlight < MAX_PENDING_BATCHES && !socket.destroyed) socket.resume();
    },
    drop: () => {
      const frames = takeHeld();
      if (frames.length) deps.acceptor.drop(frames, 'tcp');
    },
  };
  /** Store away: stop reading, keep what was read (bounded), drop and count the rest. */
  const hold = (frames: Frame[]): void => {
    socket.pause();
    waiting.add(waiter);
    let over: Frame[] | undefined;
    for (const f of frames) {
      if (heldBytes + f.frame.length <= MAX_HELD_BYTES) {
        held.push(f);
        heldBytes += f.frame.length;
        deps.metrics.syslogHeldFrames.inc();
      } else (over ??= []).push(f);
    }
    if (over) deps.acceptor.drop(over, 'tcp');
  };
  // Set while an earlier batch still waits for a token lookup: later batches queue behind it so
  // that one connection's lines are appended in the order they were sent.
  let gate: Promise<void> | undefined;
  const splitter = new FrameSplitter({
    maxFrame: MAX_FRAME,
    onFrame: (frame, truncated) => batch.push({ frame, truncated }),
    onError: (err) => {
      deps.metrics.framesRejected.inc({ transport: 'tcp', reason: 'parse' });
      deps.log.debug('bad syslog frame', { transport: 'tcp', ...errorFields(err) });
    },
  });
  const run = (frames: Frame[]): Promise<void> | undefined => {
    const b = deps.acceptor.syslog(frames, 'tcp');
    track(
      b.done
        .then(done, (err: unknown) => deps.log.error('syslog batch failed', errorFields(err)))
        .finally(() => {
          if (--inFlight < MAX_PENDING_BATCHES && socket.isPaused() && held.length === 0 && deps.storeUp())
            socket.resume();
        }),
    );
    return b.issued;
  };
  const gateOn = (p: Promise<void>): void => {
    gate = p;
    void p.finally(() => {
      if (gate === p) gate = undefined;
    });
  };
  const flush = (): void => {
    if (batch.length === 0) return;
    const frames = batch;
    batch = [];
    // Frames held earlier go first: a connection's lines keep their order.
    if (held.length > 0 || !deps.storeUp()) hold(frames);
    else send(frames);
  };
  const send = (frames: Frame[]): void => {
    if (++inFlight >= MAX_PENDING_BATCHES) socket.pause();
    if (gate) gateOn(gate.then(() => run(frames)));
    else {
      const issued = run(frames);
      if (issued) gateOn(issued);
    }
  };
  socket.on('data', (chunk: Buffer) => {
    splitter.push(chunk);
    flush();
  });
  socket.on('end', () => {
    // A last LF-less line counts as a frame when the sender closes (RFC 6587 §3.4.2).
    splitter.end();
    flush();
  });
}

async function bindUdp(
  deps: SyslogDeps,
  host: string,
  port: number,
  track: (p: Promise<void>) => void,
  done: (r: AcceptReport) => void,
): Promise<UdpSocket> {
  const udp = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
  udp.on('error', (err) => deps.log.warn('syslog udp error', errorFields(err)));
  let batch: Frame[] = [];
  let pending = 0;
  const flush = (): void => {
    if (batch.length === 0) return;
    const frames = batch;
    batch = [];
    pending++;
    track(
      deps.acceptor
        .syslog(frames, 'udp')
        .done.then(done, (err: unknown) => deps.log.error('syslog batch failed', errorFields(err)))
        .finally(() => pending--),
    );
  };
  udp.on('message', (msg: Buffer) => {
    if (pending >= MAX_UDP_PENDING) {
      deps.metrics.framesRejected.inc({ transport: 'udp', reason: 'overload' });
      return;
    }
    const end = endWithoutNewlines(msg);
    const truncated = end > MAX_FRAME;
    batch.push({ frame: msg.subarray(0, Math.min(end, MAX_FRAME)), truncated });
    if (batch.length === 1) setImmediate(flush);
    else if (batch.length >= MAX_UDP_BATCH) flush();
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, host, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  return udp;
}
