// The correctness harness (design.md §Scale-out, §Drain delivery): N Logplex nodes and M routers,
// each the real binary in a child process on one Redis topology, one channel with one HTTP drain
// to a receiver here, sequence-numbered lines over TCP syslog to every node and requests through
// every router. Faults run one after another with load on: kill -9 of the drain's owner,
// SIGSTOP of the owner until another node took the drain (then SIGCONT), a receiver answering
// 500, a receiver that hangs, a master failover (topologies with replicas), a Redis restart
// on its AOF and a hung Redis (SIGSTOP, then SIGCONT). Per fault it prints lines lost,
// duplicated, the takeover time and router errors. A line counts as acknowledged when it is in
// the channel log (Logplex stored it); the run exits 1 if any acknowledged line never reached
// the receiver. Bounded: every wait has a deadline, the run a fixed number of phases.
//
//   node build/bench/chaos.js [--nodes 2] [--routers 1] [--rate 2000] [--rps 200] [--phase-s 6]
//     [--lease-ms 3000] [--renew-ms 500] [--faults kill9,stall,r500,hang,redis-restart,redis-hang]
//     [--topology single|cluster]  (an own redis-server with AOF, or an own 6-node Redis Cluster)
//     [--redis-url URL]  (an existing topology: faults needing control of Redis are skipped)
import { performance } from 'node:perf_hooks';
import { Receiver, RequestLoad, SyslogSender } from './lib/chaos-load';
import { api, startLogplexNode, startRouterNode, type Proc } from './lib/chaos-procs';
import { clusterRedis, existingRedis, singleRedis, type Topology } from './lib/chaos-topology';

const FAULTS = ['kill9', 'stall', 'r500', 'hang', 'failover', 'redis-restart', 'redis-hang'] as const;
type Fault = (typeof FAULTS)[number];

function args(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) if (argv[i]!.startsWith('--')) out[argv[i]!.slice(2)] = argv[++i] ?? '';
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 50 ms until it returns a value; undefined after `timeoutMs`. */
async function until<T>(fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(50);
  }
  return undefined;
}

interface Row {
  fault: string;
  /** The seqs sent during this phase: [from, to]. */
  seqs: [number, number];
  lost: number;
  duplicated: number;
  takeoverMs: number | null;
  routerErrors: number;
  note: string;
}

async function main(): Promise<number> {
  const a = args(process.argv.slice(2));
  const n = Number(a.nodes ?? 2);
  const m = Number(a.routers ?? 1);
  const phaseMs = Number(a['phase-s'] ?? 6) * 1000;
  const leaseMs = Number(a['lease-ms'] ?? 3000);
  const renewMs = Number(a['renew-ms'] ?? 500);
  const faults = (a.faults ?? FAULTS.join(',')).split(',').filter((f): f is Fault => FAULTS.includes(f as Fault));
  const prefix = `sychaos:${process.pid}:`;
  const topo: Topology = a['redis-url']
    ? existingRedis(a['redis-url'])
    : a.topology === 'cluster'
      ? await clusterRedis()
      : await singleRedis();
  const settings = { redisUrl: topo.url, prefix, leaseMs, renewMs, historyLines: 1_000_000 };
  const nodes: Proc[] = [];
  const routers: Proc[] = [];
  const receiver = new Receiver();
  const redis = topo.client();
  redis.on('error', () => undefined);
  let sender: SyslogSender | undefined;
  let load: RequestLoad | undefined;
  const rows: Row[] = [];
  try {
    await receiver.listen();
    for (let i = 0; i < n; i++) nodes.push(await startLogplexNode(`logplex${i}`, settings));
    const live = (): Proc[] => nodes.filter((p) => p.alive());
    // The API is asked on a node that answers (not one stopped by the stall fault).
    const lp = (): number => live().find((p) => !p.stopped)!.port;
    const ch = await api(lp(), 'POST', '/v2/channels', { name: 'chaos', tokens: ['app'] });
    const drain = await api(lp(), 'POST', `/v2/channels/${ch.channel_id}/drains`, {
      url: `http://127.0.0.1:${receiver.port}/drain`,
    });
    const statusPath = `/v2/channels/${ch.channel_id}/drains/${drain.id}`;
    const status = async (): Promise<any> => (await api(lp(), 'GET', statusPath)).status;
    const ownerProc = (id: string | null): Proc | undefined => nodes.find((p) => id && p.nodeIds.has(id));

    load = new RequestLoad(Number(a.rps ?? 200), 'chaos.localhost', () =>
      routers.filter((r) => r.alive()).map((r) => r.port),
    );
    await load.listen();
    for (let i = 0; i < m; i++)
      routers.push(await startRouterNode(`router${i}`, topo.url, prefix, `http://127.0.0.1:${nodes[0]!.port}`));
    if (m > 0) {
      await api(routers[0]!.port2, 'PUT', '/v1/apps/chaos', {});
      await api(routers[0]!.port2, 'PUT', '/v1/apps/chaos/dynos/web.1', {
        host: '127.0.0.1',
        port: load.port,
        ttl_s: 3600,
      });
      await sleep(500); // the other routers hear of the app over pub/sub
    }
    sender = new SyslogSender(ch.tokens[0].token, Number(a.rate ?? 2000), () => live().map((p) => p.port2));
    sender.start();
    load.start();
    await sleep(phaseMs);

    for (const fault of faults) {
      const seq0 = sender.sent + 1;
      const dup0 = receiver.duplicates;
      const err0 = load.errors;
      let takeoverMs: number | null = null;
      let note = '';
      const st = await status();
      const owner = ownerProc(st.owner);
      const t0 = performance.now();
      const takenOver = (): Promise<number | undefined> =>
        until(
          async () => {
            const s = await status();
            return s.owner && s.owner !== st.owner ? performance.now() - t0 : undefined;
          },
          leaseMs * 3 + 10_000,
        );
      switch (fault) {
        case 'kill9':
        case 'stall': {
          if (!owner) {
            note = 'no owner found';
            break;
          }
          owner.signal(fault === 'kill9' ? 'SIGKILL' : 'SIGSTOP');
          takeoverMs = (await takenOver()) ?? null;
          if (fault === 'stall') owner.signal('SIGCONT');
          else nodes.push(await startLogplexNode(`logplex${nodes.length}`, settings));
          note = `${owner.name} ${fault === 'kill9' ? 'killed, a fresh node started' : 'stopped then continued'}`;
          break;
        }
        case 'r500':
        case 'hang':
          receiver.mode = fault === 'r500' ? '500' : 'hang';
          await sleep(phaseMs);
          receiver.mode = 'ok';
          receiver.release();
          note = `receiver ${fault === 'r500' ? 'answered 500' : 'hung'} for ${phaseMs / 1000} s`;
          break;
        case 'failover':
          if (!topo.failover) {
            note = `skipped: topology ${topo.kind} has no replica to promote`;
            break;
          }
          await topo.failover(`${prefix}channel:{${ch.channel_id}}:log`);
          note = 'master failed over';
          break;
        case 'redis-restart':
          if (!topo.restart) {
            note = `skipped: topology ${topo.kind} cannot be restarted here`;
            break;
          }
          await topo.restart();
          note = 'SHUTDOWN, started again on its AOF';
          break;
        case 'redis-hang':
          if (!topo.hang) {
            note = `skipped: topology ${topo.kind} cannot be stopped here`;
            break;
          }
          await topo.hang(phaseMs);
          note = `redis-server stopped (SIGSTOP) for ${phaseMs / 1000} s, then continued`;
          break;
      }
      await sleep(phaseMs);
      rows.push({
        fault,
        seqs: [seq0, sender.sent],
        lost: 0,
        duplicated: receiver.duplicates - dup0,
        takeoverMs,
        routerErrors: load.errors - err0,
        note,
      });
    }

    sender.stop();
    load.stop();
    // Drain what is left, then compare with what Logplex stored.
    const last = await until(async () => {
      const s = await status();
      return s.backlog === 0 ? s : undefined;
    }, 60_000);
    const acked = await storedSeqs(redis, `${prefix}channel:{${ch.channel_id}}:log`);
    const lost = [...acked].filter((s) => !receiver.copies.has(s));
    for (const r of rows) r.lost = lost.filter((s) => s >= r.seqs[0] && s <= r.seqs[1]).length;
    const summary = {
      sent: sender.sent,
      acknowledged: acked.size,
      delivered: receiver.copies.size,
      lost: lost.length,
      duplicated: receiver.duplicates,
      l10: receiver.l10,
      requests_ok: load.ok,
      requests_failed: load.errors,
      status: last
        ? { delivered: last.delivered, lost: last.lost, backlog: last.backlog }
        : 'backlog not drained in 60 s',
    };
    console.log(`topology=${topo.kind} nodes=${n} routers=${m} lease_ms=${leaseMs} renew_ms=${renewMs}`);
    console.log('fault          lines sent   lost  duplicated  takeover_ms  router_errors  note');
    for (const r of rows) {
      const t = r.takeoverMs === null ? '-' : String(Math.round(r.takeoverMs));
      const cols = [
        r.fault.padEnd(14),
        String(r.seqs[1] - r.seqs[0] + 1).padStart(10),
        String(r.lost).padStart(6),
        String(r.duplicated).padStart(11),
        t.padStart(12),
        String(r.routerErrors).padStart(14),
      ];
      console.log(`${cols.join(' ')}  ${r.note}`);
    }
    console.log(JSON.stringify(summary));
    if (lost.length) console.log(`LOST acknowledged lines (first 20): ${lost.slice(0, 20).join(' ')}`);
    return lost.length > 0 || !last ? 1 : 0;
  } finally {
    sender?.stop();
    await load?.close();
    await Promise.all([...nodes, ...routers].map((p) => p.stop()));
    await receiver.close();
    redis.disconnect();
    await topo.close();
  }
}

/** Every `seq N` message in the channel log (what Logplex acknowledged by storing it). */
async function storedSeqs(redis: ReturnType<Topology['client']>, key: string): Promise<Set<number>> {
  const out = new Set<number>();
  let from = '-';
  for (let i = 0; i < 10_000; i++) {
    const entries = (await redis.xrange(key, from, '+', 'COUNT', 5000)) as [string, string[]][];
    for (const [, f] of entries) {
      const msg = f[f.indexOf('m') + 1] ?? '';
      const mm = /^seq (\d+)$/.exec(msg);
      if (mm) out.add(Number(mm[1]));
    }
    if (entries.length < 5000) break;
    from = `(${entries[entries.length - 1]![0]}`;
  }
  return out;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
