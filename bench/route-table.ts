// Route-table costs at 10, 10,000 and 100,000 apps (3 dynos each): lookup per request (ns/op,
// bare and with Host normalisation), heap held by the records + table, and a full load from
// Redis (loadAll + build). Lookup figures are the best of 5 interleaved rounds. Goals: lookup flat across sizes (within 20%); 100,000 apps
// loaded in under 5 s and held in under 300 MB.
//   npx tsc -p tsconfig.test.json && node --expose-gc build/bench/route-table.js [--sizes 10,10000,100000] [--no-redis]
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { normaliseHost } from '../src/router/resolve';
import { appKeys } from '../src/router/store/redis-load';
import { RedisRouteStore } from '../src/router/store/redis';
import { RouteTable, type AppRecord } from '../src/router/table/route-table';
import { deleteKeys, REDIS_URL } from '../test/fixtures/redis';
import { printReport } from './lib/report';

const LOOKUPS = 1_000_000;
const WRITE_CHUNK = 2_000;

const args = process.argv.slice(2);
const sizesArg = args[args.indexOf('--sizes') + 1];
const SIZES = args.includes('--sizes') && sizesArg ? sizesArg.split(',').map(Number) : [10, 10_000, 100_000];
const WITH_REDIS = !args.includes('--no-redis');

const name = (i: number): string => `app-${i.toString(36).padStart(4, '0')}`;

/**
 * Strings as Redis replies give them: flat, not V8 cons-strings (which a template literal makes,
 * and which a Map compares far more slowly).
 */
const flat = (s: string): string => Buffer.from(s, 'latin1').toString('latin1');

function makeApps(n: number, now: number): AppRecord[] {
  const apps: AppRecord[] = [];
  for (let i = 0; i < n; i++) {
    const a = flat(name(i));
    apps.push({
      name: a,
      maintenance: false,
      balancer: 'p2c',
      affinity: false,
      domains: [flat(`${a}.localhost`)],
      dynos: [1, 2, 3].map((d) => ({
        name: `web.${d}`,
        host: '127.0.0.1',
        port: 10_000 + d,
        state: 'up' as const,
        leaseExpiresAt: now + 3_600_000,
      })),
      version: 1,
    });
  }
  return apps;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Hosts a "hot" run draws from: the same working set at every size, so only the algorithm differs. */
const HOT = 10;

/**
 * ns per lookup over a random sequence of hosts (the same count at every size): drawn from the
 * whole table (`uniform`: every lookup a likely cache miss at large sizes) or from HOT hosts.
 */
function lookupCost(
  table: RouteTable,
  hosts: string[],
  normalise: boolean,
  spread: 'uniform' | 'hot',
): { ns: number; hits: number } {
  const seq = new Uint32Array(LOOKUPS);
  const range = spread === 'hot' ? Math.min(HOT, hosts.length) : hosts.length;
  for (let i = 0; i < LOOKUPS; i++) seq[i] = Math.floor(Math.random() * range);
  let hits = 0;
  if (spread === 'uniform' && normalise) return requestLike(table, hosts, seq);
  // Warm up, then measure.
  for (let i = 0; i < 100_000; i++) if (table.lookup(hosts[seq[i]!]!)) hits++;
  hits = 0;
  const t0 = process.hrtime.bigint();
  if (normalise) {
    for (let i = 0; i < LOOKUPS; i++) {
      const h = normaliseHost(hosts[seq[i]!]!);
      if (h !== undefined && table.lookup(h)) hits++;
    }
  } else {
    for (let i = 0; i < LOOKUPS; i++) if (table.lookup(hosts[seq[i]!]!)) hits++;
  }
  return { ns: Number(process.hrtime.bigint() - t0) / LOOKUPS, hits };
}

/**
 * As a request sees it: the Host value is a fresh string cut from the bytes just read (one
 * contiguous buffer here, like a socket read), then normalised and looked up.
 */
function requestLike(table: RouteTable, hosts: string[], seq: Uint32Array): { ns: number; hits: number } {
  const buf = Buffer.from(hosts.join(''), 'latin1');
  const start = new Uint32Array(hosts.length + 1);
  for (let i = 0; i < hosts.length; i++) start[i + 1] = start[i]! + hosts[i]!.length;
  let hits = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < LOOKUPS; i++) {
    const j = seq[i]!;
    const h = normaliseHost(buf.toString('latin1', start[j]!, start[j + 1]!));
    if (h !== undefined && table.lookup(h)) hits++;
  }
  return { ns: Number(process.hrtime.bigint() - t0) / LOOKUPS, hits };
}

async function writeApps(client: Redis, prefix: string, apps: AppRecord[]): Promise<void> {
  for (let i = 0; i < apps.length; i += WRITE_CHUNK) {
    const p = client.pipeline();
    for (const app of apps.slice(i, i + WRITE_CHUNK)) {
      const k = appKeys(prefix, app.name);
      p.sadd(`${prefix}apps`, app.name);
      p.hset(k.app, 'maintenance', '0', 'balancer', 'p2c', 'affinity', '0', 'version', '1');
      p.sadd(k.domains, ...app.domains);
      for (const host of app.domains) p.set(`${prefix}domain:${host}`, app.name);
      for (const d of app.dynos) {
        p.hset(k.dynos, d.name, JSON.stringify({ host: d.host, port: d.port, state: d.state }));
        p.zadd(k.leases, d.leaseExpiresAt, d.name);
      }
    }
    await p.exec();
  }
}

async function loadFromRedis(
  n: number,
  apps: AppRecord[],
): Promise<{ loadMs: number; buildMs: number; loaded: number }> {
  const prefix = `sybench:${randomBytes(4).toString('hex')}:`;
  const client = new Redis(REDIS_URL);
  const store = new RedisRouteStore(REDIS_URL, prefix);
  try {
    await writeApps(client, prefix, apps);
    const t0 = performance.now();
    const loaded = await store.loadAll();
    const t1 = performance.now();
    const table = RouteTable.build(loaded, Date.now());
    const t2 = performance.now();
    if (table.stats().apps !== n) throw new Error(`loaded ${table.stats().apps} of ${n} apps`);
    return { loadMs: t1 - t0, buildMs: t2 - t1, loaded: loaded.length };
  } finally {
    await store.close();
    client.disconnect();
    await deleteKeys(prefix);
  }
}

/** Lookup runs per size, interleaved across sizes so load from other processes hits all alike. */
const ROUNDS = 5;
const MODES = [
  ['lookup hot', false, 'hot'],
  ['norm+lookup hot', true, 'hot'],
  ['lookup uniform', false, 'uniform'],
  ['request-like uniform', true, 'uniform'],
] as const;

async function main(): Promise<void> {
  if (!(globalThis as { gc?: unknown }).gc) process.stderr.write('note: run with --expose-gc for heap figures\n');
  const sized = SIZES.map((n) => {
    const now = Date.now();
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    const apps = makeApps(n, now);
    const table = RouteTable.build(apps, now);
    gc();
    const heapMb = (process.memoryUsage().heapUsed - heap0) / 1e6;
    const hosts = apps.map((a) => a.domains[0]!);
    // What clients send: mixed case, ports, absolute names (RFC 1034 §3.1 trailing dot).
    const raw = hosts.map((h, i) => flat(i % 2 ? `${h.toUpperCase()}:8080` : `${h}.`));
    return { n, apps, table, hosts, raw, heapMb, best: new Map<string, number>() };
  });
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of sized) {
      for (const [label, normalise, spread] of MODES) {
        const r = lookupCost(s.table, normalise ? s.raw : s.hosts, normalise, spread);
        if (r.hits !== LOOKUPS) throw new Error(`${label}: a lookup missed`);
        s.best.set(label, Math.min(s.best.get(label) ?? Infinity, r.ns));
      }
    }
  }
  const rows: Record<string, string | number>[] = [];
  for (const s of sized) {
    const row: Record<string, string | number> = { apps: s.n };
    for (const [label] of MODES) row[`${label} ns`] = s.best.get(label)!.toFixed(1);
    row['heap MB'] = s.heapMb.toFixed(1);
    if (WITH_REDIS) {
      const r = await loadFromRedis(s.n, s.apps);
      row['loadAll s'] = (r.loadMs / 1000).toFixed(2);
      row['build s'] = (r.buildMs / 1000).toFixed(2);
      row['load+build s'] = ((r.loadMs + r.buildMs) / 1000).toFixed(2);
    }
    rows.push(row);
    process.stderr.write(`# ${s.n} apps measured\n`);
  }
  const first = rows[0]!;
  const last = rows[rows.length - 1]!;
  const columns = Object.keys(first);
  printReport({
    title: 'Router route table: lookup, memory, load from Redis',
    setup: [
      `Best of ${ROUNDS} interleaved rounds of ${LOOKUPS.toLocaleString('en-US')} lookups per size;` +
        ` heap after a forced GC${WITH_REDIS ? '; load = RedisRouteStore.loadAll() + RouteTable.build' : ''}.`,
    ],
    columns,
    rows: rows.map((r) => columns.map((c) => r[c] ?? '')),
    ratios: MODES.map(([label]) => {
      const key = `${label} ns`;
      return `${key}: ${last.apps} apps / ${first.apps} apps = ${(Number(last[key]) / Number(first[key])).toFixed(2)}`;
    }),
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
