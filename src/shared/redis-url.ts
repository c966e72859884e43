// REDIS_URL's forms (design.md §Scale-out), parsed without ioredis so config.ts can check them:
//   redis://[[user]:pass@]host[:port][/db]     rediss://… the same over TLS (a single node or a proxy)
//   redis-sentinel://[[user]:pass@]host:port,host:port/MASTER   Sentinel (rediss-sentinel: TLS)
//   redis-cluster://[[user]:pass@]host:port,host:port           Redis Cluster (rediss-cluster: TLS)
// WHATWG URL refuses `h:p,h:p`, so the authority is split here; the password never reaches a log
// (`display` drops it).

export type RedisTopology = 'single' | 'sentinel' | 'cluster';

export interface RedisTarget {
  topology: RedisTopology;
  tls: boolean;
  hosts: { host: string; port: number }[];
  username?: string;
  password?: string;
  /** Database number (single node and Sentinel only; Cluster has only 0). */
  db: number;
  /** Sentinel's master name. */
  name?: string;
  /** The URL without its password: what our logs and errors name. */
  display: string;
}

const SCHEMES: Record<string, { topology: RedisTopology; tls: boolean }> = {
  redis: { topology: 'single', tls: false },
  rediss: { topology: 'single', tls: true },
  'redis-sentinel': { topology: 'sentinel', tls: false },
  'rediss-sentinel': { topology: 'sentinel', tls: true },
  'redis-cluster': { topology: 'cluster', tls: false },
  'rediss-cluster': { topology: 'cluster', tls: true },
};

export const REDIS_SCHEMES: readonly string[] = Object.keys(SCHEMES);

/** Hosts per URL: a seed list, not an inventory. */
const MAX_HOSTS = 64;

/** The target, or a message saying what is wrong (config.ts turns it into a one-line error). */
export function parseRedisUrl(raw: string): RedisTarget | string {
  const m = /^([a-z-]+):\/\/(?:([^@/]*)@)?([^/?#]*)(?:\/([^?#]*))?$/.exec(raw);
  if (!m) return `a URL like redis://host:6379 (schemes: ${REDIS_SCHEMES.join(', ')})`;
  const scheme = SCHEMES[m[1]!];
  if (!scheme) return `a URL with scheme ${REDIS_SCHEMES.join(', ')}`;
  const hosts: { host: string; port: number }[] = [];
  for (const part of m[3]!.split(',')) {
    const hp = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(part.trim());
    if (!hp) return `host:port pairs separated by commas (got "${part}")`;
    const port = hp[3] ? Number(hp[3]) : scheme.topology === 'sentinel' ? 26379 : 6379;
    if (port < 1 || port > 65535) return `ports from 1 to 65535 (got ${port})`;
    hosts.push({ host: hp[1] ?? hp[2]!, port });
  }
  if (hosts.length > MAX_HOSTS) return `at most ${MAX_HOSTS} hosts`;
  if (scheme.topology === 'single' && hosts.length > 1)
    return `one host for ${m[1]}: (use redis-sentinel:// or redis-cluster:// for several)`;
  const path = decodeURIComponent(m[4] ?? '');
  let db = 0;
  let name: string | undefined;
  if (scheme.topology === 'sentinel') {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(path))
      return 'the Sentinel master name as the path (redis-sentinel://h:p,h:p/NAME)';
    name = path;
  } else if (path !== '') {
    if (scheme.topology === 'cluster' || !/^\d{1,2}$/.test(path))
      return 'a database number as the path (redis://h:p/0)';
    db = Number(path);
  }
  const auth = m[2];
  let username: string | undefined;
  let password: string | undefined;
  if (auth) {
    const colon = auth.indexOf(':');
    username = decodeURIComponent(colon < 0 ? auth : auth.slice(0, colon)) || undefined;
    password = colon < 0 ? undefined : decodeURIComponent(auth.slice(colon + 1)) || undefined;
  }
  const display = `${m[1]}://${username ? `${username}@` : ''}${m[3]}${m[4] ? `/${m[4]}` : ''}`;
  return {
    topology: scheme.topology,
    tls: scheme.tls,
    hosts,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    db,
    ...(name ? { name } : {}),
    display,
  };
}
