// ioredis factory shared by both services (design.md §Stores, §Scale-out). Keys are built by each
// store from `prefix` (ioredis' keyPrefix does not cover pub/sub channels or SCAN patterns, so we
// do not use it). Every multi-key command and script stays inside one hash tag; pipelines that
// span tags go through `bySlot`, and scans through `masters`, so Cluster works unchanged.
import { EventEmitter } from 'node:events';
import Redis, { Cluster, ReplyError, type ClusterOptions, type Command, type RedisOptions } from 'ioredis';
import { parseRedisUrl, type RedisTarget } from './redis-url';

export type RedisClient = Redis | Cluster;

/** Reconnect pacing: quick at first, then every 2 s (each failed attempt is one line at most). */
const retryStrategy = (times: number): number => Math.min(100 * times, 2_000);

/**
 * How long a command may go unanswered before the client counts as not answering. A stopped or
 * hung redis-server keeps its sockets open, so ioredis stays "ready" and would wait for ever:
 * past this, the client is reported down (the APIs answer 503, the router freezes leases, TCP
 * ingest holds) until Redis answers again. Below the APIs' 1 s so they can answer 503 in time.
 */
export const SILENCE_MS = 750;
/**
 * Commands one client may have waiting on a silent Redis; beyond, new ones fail at once. Below it
 * they are sent and wait like the rest (a brief pause, a slow SHUTDOWN, must not fail an append
 * that would have been stored); the bound keeps a long hang from piling up API requests.
 */
export const MAX_WAITING_ON_SILENCE = 10_000;
/** How often a client with commands in flight is looked at for silence. */
const SILENCE_CHECK_MS = 250;

const COMMON: RedisOptions = {
  // Fail commands within about a second while Redis is away instead of queueing forever:
  // callers keep serving from caches and report themselves degraded.
  maxRetriesPerRequest: 2,
  connectTimeout: 2_000,
  retryStrategy,
  enableReadyCheck: true,
  // A Sentinel failover demotes the master we are connected to: its READONLY answer means
  // "ask the sentinels again" (reconnect and resend the command), not a failed write.
  reconnectOnError: (err) => (err.message.includes('READONLY') ? 2 : false),
};

/** Parses REDIS_URL (config.ts already checked it) and opens a client for its topology. */
export function createRedis(url: string, extra: RedisOptions = {}): RedisClient {
  const target = parseRedisUrl(url);
  if (typeof target === 'string') throw new RedisUnavailable(url, `REDIS_URL invalid: expected ${target}`);
  return openRedis(target, extra);
}

export function openRedis(target: RedisTarget, extra: RedisOptions = {}): RedisClient {
  const auth = {
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
  };
  const tls = target.tls ? { tls: {} } : {};
  const client = ((): RedisClient => {
    switch (target.topology) {
      case 'single':
        return new Redis({ ...COMMON, ...extra, ...auth, ...tls, ...target.hosts[0]!, db: target.db });
      case 'sentinel':
        return new Redis({
          ...COMMON,
          ...extra,
          ...auth,
          ...tls,
          db: target.db,
          sentinels: target.hosts,
          name: target.name!,
          // The sentinels share the data nodes' password unless they run without one.
          ...(target.password ? { sentinelPassword: target.password } : {}),
          ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
          sentinelRetryStrategy: retryStrategy,
        });
      case 'cluster': {
        const options: ClusterOptions = {
          redisOptions: { ...COMMON, ...extra, ...auth, ...tls },
          clusterRetryStrategy: retryStrategy,
          // MOVED/ASK/TRYAGAIN during a failover: retried by ioredis within this budget.
          retryDelayOnFailover: 200,
          retryDelayOnTryAgain: 200,
          retryDelayOnClusterDown: 200,
          maxRedirections: 16,
          enableReadyCheck: true,
          ...(target.tls ? { dnsLookup: (address, cb) => cb(null, address) } : {}),
        };
        return new Cluster(target.hosts, options);
      }
    }
  })();
  displays.set(client, target.display);
  watches.set(client, watchAnswers(client, target.display));
  return client;
}

/** Commands of `client` sent and not answered yet (a gauge: bounded while Redis is silent). */
export function commandsInFlight(client: RedisClient): number {
  return watches.get(client)?.inFlight ?? 0;
}

/** The URL (without password) each client was opened for: what errors name. */
const displays = new WeakMap<object, string>();

export function redisDisplay(client: RedisClient): string {
  return displays.get(client) ?? 'redis';
}

/**
 * Whether Redis answers the commands it was sent (design.md §Stores). It watches every command of
 * one client: when the oldest one in flight has waited SILENCE_MS, the client is silent until a
 * reply arrives or nothing is left in flight. A verdict is never given on a tick that came late
 * (our own event loop was blocked: replies may be waiting unread), so a busy process is not
 * mistaken for a hung Redis, and nothing is sent just to find out (no probe to flap).
 */
class AnswerWatch extends EventEmitter {
  /** Command → when it was sent (insertion order: the first entry is the oldest in flight). */
  #inFlight = new Map<Command, number>();
  #lastAnswer = Date.now();
  #silentSince: number | undefined;
  #lastTick = Date.now();
  readonly #timer: NodeJS.Timeout;

  constructor(readonly display: string) {
    super();
    this.#timer = setInterval(() => this.#tick(), SILENCE_CHECK_MS);
    this.#timer.unref();
  }

  get silent(): boolean {
    return this.#silentSince !== undefined;
  }
  /** When Redis last owed an answer it did not give: where the silence began. */
  get silentSince(): number | undefined {
    return this.#silentSince;
  }
  get reason(): string {
    return `Redis at ${this.display} not answering (no reply for ${SILENCE_MS} ms)`;
  }
  /** Commands sent and not answered yet. */
  get inFlight(): number {
    return this.#inFlight.size;
  }
  /** Silent, with as many commands waiting as it may hold: new ones are refused. */
  get full(): boolean {
    return this.silent && this.#inFlight.size >= MAX_WAITING_ON_SILENCE;
  }

  track(command: Command): void {
    if (this.#inFlight.has(command)) return;
    this.#inFlight.set(command, Date.now());
    command.promise.then(
      () => this.#settled(command, true),
      (err: unknown) => this.#settled(command, err instanceof ReplyError),
    );
  }

  /** A new connection answered its handshake: what is still in flight (resent) waits from now. */
  restart(): void {
    const now = Date.now();
    for (const c of this.#inFlight.keys()) this.#inFlight.set(c, now);
    this.#lastAnswer = now;
    this.#set(undefined);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #settled(command: Command, answered: boolean): void {
    this.#inFlight.delete(command);
    if (answered) this.#lastAnswer = Date.now();
    if (answered || this.#inFlight.size === 0) this.#set(undefined);
  }

  #tick(): void {
    const now = Date.now();
    const late = now - this.#lastTick > 2 * SILENCE_CHECK_MS;
    this.#lastTick = now;
    if (late || this.silent) return;
    const oldest = this.#inFlight.values().next();
    if (oldest.done || now - oldest.value < SILENCE_MS) return;
    this.#set(Math.max(oldest.value, this.#lastAnswer));
  }

  #set(since: number | undefined): void {
    if ((since === undefined) === (this.#silentSince === undefined)) return;
    this.#silentSince = since;
    this.emit('change');
  }
}

const watches = new WeakMap<object, AnswerWatch>();

/**
 * Every command of `client` goes through the watch. While Redis is silent, commands are still
 * sent and wait their turn (Redis runs them in order when it wakes: nothing lost, nothing twice)
 * up to MAX_WAITING_ON_SILENCE; past it, new ones are refused at once with RedisUnavailable.
 */
function watchAnswers(client: RedisClient, display: string): AnswerWatch {
  const watch = new AnswerWatch(display);
  type Send = (command: Command, ...rest: unknown[]) => unknown;
  const target = client as unknown as { sendCommand: Send };
  const send = target.sendCommand.bind(client) as Send;
  target.sendCommand = (command, ...rest) => {
    if (watch.full && client.status === 'ready') {
      command.reject(new RedisUnavailable(display, watch.reason));
      return command.promise;
    }
    watch.track(command);
    return send(command, ...rest);
  };
  client.on('ready', () => watch.restart());
  client.on('end', () => watch.stop());
  return watch;
}

/** A store call failed because Redis is away or refused it: the APIs answer 503 with Retry-After. */
export class RedisUnavailable extends Error {
  readonly code = 'SY_REDIS_UNAVAILABLE';
  constructor(
    readonly url: string,
    message: string,
    readonly cause?: unknown,
  ) {
    super(message);
  }
}

/**
 * ioredis' error in our words, naming the URL: "Reached the max retries per request limit" says
 * nothing to an operator; "Redis at redis://10.0.0.5:6379 unreachable (ECONNREFUSED)" does.
 */
export function redisError(client: RedisClient, err: unknown): RedisUnavailable {
  if (err instanceof RedisUnavailable) return err;
  const url = redisDisplay(client);
  const e = err as { name?: string; code?: string; message?: string };
  const why =
    e.name === 'MaxRetriesPerRequestError'
      ? 'unreachable (connection lost; commands failed after retrying)'
      : e.code
        ? `unreachable (${e.code})`
        : /Connection is closed|Stream isn't writeable|None of startup nodes|Failed to refresh slots/.test(
              e.message ?? '',
            )
          ? 'unreachable (connection closed)'
          : `failed: ${String(e.message ?? err).split('\n', 1)[0]}`;
  return new RedisUnavailable(url, `Redis at ${url} ${why}`, err);
}

/** The nodes a SCAN must walk: every master of a Cluster, or the one client. */
export function masters(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

type Pipeline = ReturnType<RedisClient['pipeline']>;

/**
 * Runs one command per key, pipelined: one pipeline on a single node, one per hash slot on a
 * Cluster (a Cluster pipeline must stay in one slot). Results come back in `keys` order, each
 * as [error, value] like ioredis' exec.
 */
export async function bySlot(
  client: RedisClient,
  keys: readonly string[],
  add: (p: Pipeline, key: string, index: number) => void,
): Promise<[Error | null, unknown][]> {
  const out = new Array<[Error | null, unknown]>(keys.length);
  const groups = new Map<number, number[]>();
  const cluster = client instanceof Cluster;
  keys.forEach((k, i) => {
    const slot = cluster ? keySlot(k) : 0;
    let g = groups.get(slot);
    if (!g) groups.set(slot, (g = []));
    g.push(i);
  });
  await Promise.all(
    [...groups.values()].map(async (idx) => {
      const p = client.pipeline();
      for (const i of idx) add(p, keys[i]!, i);
      const res = (await p.exec()) ?? [];
      idx.forEach((i, j) => (out[i] = (res[j] as [Error | null, unknown]) ?? [new Error('no reply'), null]));
    }),
  );
  return out;
}

/** Redis Cluster's key slot: CRC16 (XMODEM) of the hash tag, or of the key, mod 16384. */
export function keySlot(key: string): number {
  let s = key;
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) s = key.slice(open + 1, close);
  }
  const b = Buffer.from(s);
  let crc = 0;
  for (let i = 0; i < b.length; i++) {
    crc ^= b[i]! << 8;
    for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/**
 * Tracks whether a client can reach Redis: connected (`ready` until `close`/`end`) and answering
 * (AnswerWatch). Listeners get every change, so a node can report itself degraded and catch up later.
 */
export class RedisHealth extends EventEmitter {
  #connected = false;
  #up = false;
  #since = Date.now();
  #lastError: string | undefined;
  readonly #watch: AnswerWatch | undefined;
  constructor(client: RedisClient) {
    super();
    this.#watch = watches.get(client);
    client.on('ready', () => this.#connect(true));
    client.on('close', () => this.#connect(false));
    client.on('end', () => this.#connect(false));
    // ioredis emits 'error' on every failed reconnect; the listener keeps it from crashing us,
    // and keeps the last reason for the "unreachable" line.
    client.on('error', (err: Error) => {
      this.#lastError = redisError(client, err).message;
    });
    this.#watch?.on('change', () => {
      if (this.#watch!.silent) this.#lastError = this.#watch!.reason;
      this.#update(this.#watch!.silentSince);
    });
    if ((client as Redis).status === 'ready') this.#connect(true);
  }
  get up(): boolean {
    return this.#up;
  }
  /** ms since epoch of the last change; for a silent Redis, when the silence began. */
  get since(): number {
    return this.#since;
  }
  /** Why the last connection attempt failed, in our words. */
  get lastError(): string | undefined {
    return this.#lastError;
  }
  #connect(connected: boolean): void {
    this.#connected = connected;
    this.#update();
  }
  #update(since = Date.now()): void {
    const up = this.#connected && !this.#watch?.silent;
    if (up === this.#up) return;
    this.#up = up;
    this.#since = up ? Date.now() : since;
    this.emit(up ? 'up' : 'down');
  }
}

/** Interval of the "still unreachable" line while a service waits for Redis. */
export const UNREACHABLE_LOG_MS = 10_000;

/**
 * The one start-up behaviour of both services when Redis is away (design.md §Processes and
 * settings): stay up and not ready, and say so once per interval, naming the URL. Returns the stop.
 */
export function reportUnreachable(
  client: RedisClient,
  health: RedisHealth,
  warn: (msg: string, fields: { url: string; reason: string; down_s: number }) => void,
  everyMs = UNREACHABLE_LOG_MS,
): () => void {
  const url = redisDisplay(client);
  const say = (): void => {
    if (health.up) return;
    warn('Redis unreachable; not ready, retrying', {
      url,
      reason: health.lastError ?? 'connecting',
      down_s: Math.round((Date.now() - health.since) / 1000),
    });
  };
  const first = setTimeout(say, Math.min(everyMs, 2_000));
  const timer = setInterval(say, everyMs);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}

/** QUIT when connected (replies flushed), otherwise drop the connection: never waits on a dead Redis. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if ((client as Redis).status !== 'ready' || watches.get(client)?.silent) return client.disconnect();
  const quit = client.quit().then(
    () => undefined,
    () => undefined,
  );
  const t = setTimeout(() => client.disconnect(), 1_000);
  await quit;
  clearTimeout(t);
}

/** Waits until the client is ready, or rejects after `timeoutMs` (tools and tests; services never wait). */
export function waitReady(client: RedisClient, timeoutMs = 10_000): Promise<void> {
  if ((client as Redis).status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      client.off('ready', ok);
      reject(
        new RedisUnavailable(redisDisplay(client), `Redis at ${redisDisplay(client)} not ready after ${timeoutMs} ms`),
      );
    }, timeoutMs);
    const ok = (): void => {
      clearTimeout(t);
      resolve();
    };
    client.once('ready', ok);
  });
}
