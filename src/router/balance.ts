// Step 4 of the request path (design.md §Request path): pick a dyno. A Picker is built once per AppEntry
// (the entry object changes whenever the table does) and cached in a WeakMap, so a request
// does a WeakMap.get and a little arithmetic. Strategies sit in a registry keyed
// by the app's `balancer` name; affinity and outlier ejection wrap any strategy.
import { createHmac } from 'node:crypto';
import type { Balancer, DynoRecord, AppEntry } from './table/route-table';

/** In-flight requests per dyno, keyed `app/dyno`: outlives table swaps, so p2c keeps its view. */
export class DynoLoad {
  readonly #counts = new Map<string, number>();
  get(key: string): number {
    return this.#counts.get(key) ?? 0;
  }
  add(key: string, delta: 1 | -1): void {
    const n = (this.#counts.get(key) ?? 0) + delta;
    if (n <= 0) this.#counts.delete(key);
    else this.#counts.set(key, n);
  }
}

/** Dynos on connect-failure back-off (outlier ejection), keyed `app/dyno`, until a time. */
export class Ejections {
  readonly #until = new Map<string, number>();
  constructor(readonly backoffMs: number) {}
  eject(key: string, now: number): void {
    this.#until.set(key, now + this.backoffMs);
  }
  /** True while `key` is backing off; forgets it once the back-off is over. */
  has(key: string, now: number): boolean {
    const until = this.#until.get(key);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#until.delete(key);
    return false;
  }
  get size(): number {
    return this.#until.size;
  }
}

export type Strategy = (
  candidates: readonly DynoRecord[],
  keys: readonly string[],
  load: DynoLoad,
  state: { next: number },
) => number;

const random: Strategy = (c) => Math.floor(Math.random() * c.length);

const roundRobin: Strategy = (c, _k, _l, state) => state.next++ % c.length;

/** Power of two random choices (Mitzenmacher): two distinct dynos at random, the one with fewer in flight. */
const p2c: Strategy = (c, keys, load) => {
  if (c.length === 1) return 0;
  const a = Math.floor(Math.random() * c.length);
  let b = Math.floor(Math.random() * (c.length - 1));
  if (b >= a) b++;
  return load.get(keys[b]!) < load.get(keys[a]!) ? b : a;
};

export const STRATEGIES: Readonly<Record<Balancer, Strategy>> = { p2c, 'round-robin': roundRobin, random };

export const AFFINITY_COOKIE = 'switchyard-affinity';

export interface Pick {
  readonly dyno: DynoRecord;
  readonly key: string;
  /** A Set-Cookie value to send, when affinity is on and the client's cookie did not name this dyno. */
  readonly setCookie: string | undefined;
}

export class Picker {
  readonly #dynos: readonly DynoRecord[];
  readonly #keys: string[];
  readonly #strategy: Strategy;
  readonly #state = { next: 0 };
  /** dyno name → signed cookie value; undefined when affinity is off. */
  readonly #cookies: Map<string, string> | undefined;
  /** The other way: signed cookie value → index of its dyno, so a client's cookie is checked by one lookup. */
  readonly #byCookie: Map<string, number> | undefined;

  constructor(entry: AppEntry, secret: string) {
    this.#dynos = entry.routable;
    this.#keys = entry.routable.map((d) => `${entry.app.name}/${d.name}`);
    this.#strategy = STRATEGIES[entry.app.balancer] ?? p2c;
    if (entry.app.affinity) {
      const cookies = new Map<string, string>();
      const byCookie = new Map<string, number>();
      entry.routable.forEach((d, i) => {
        const value = signDyno(secret, entry.app.name, d.name);
        cookies.set(d.name, value);
        byCookie.set(value, i);
      });
      this.#cookies = cookies;
      this.#byCookie = byCookie;
    }
  }

  /**
   * A dyno not in `tried`, or undefined when none is left. Dynos backing off are skipped, unless
   * that would leave out more than half of the routable dynos: then every dyno is a candidate
   * again (Envoy's panic threshold), since refusing all traffic helps nobody.
   */
  pick(
    load: DynoLoad,
    ejections: Ejections,
    now: number,
    tried: readonly string[] | undefined,
    cookieHeader: string | undefined,
  ): Pick | undefined {
    const sticky = this.#byCookie === undefined ? undefined : this.#fromCookie(cookieHeader, ejections, now, tried);
    if (sticky !== undefined) return { dyno: this.#dynos[sticky]!, key: this.#keys[sticky]!, setCookie: undefined };
    let dynos = this.#dynos;
    let keys: readonly string[] = this.#keys;
    if (ejections.size > 0 || (tried !== undefined && tried.length > 0)) {
      ({ dynos, keys } = this.#candidates(ejections, now, tried));
      if (dynos.length === 0) return undefined;
    }
    const i = this.#strategy(dynos, keys, load, this.#state);
    const dyno = dynos[i]!;
    return { dyno, key: keys[i]!, setCookie: this.#cookies?.get(dyno.name) };
  }

  #candidates(
    ejections: Ejections,
    now: number,
    tried: readonly string[] | undefined,
  ): { dynos: DynoRecord[]; keys: string[] } {
    const fresh: DynoRecord[] = [];
    const freshKeys: string[] = [];
    const untried: DynoRecord[] = [];
    const untriedKeys: string[] = [];
    for (let i = 0; i < this.#dynos.length; i++) {
      const d = this.#dynos[i]!;
      if (tried !== undefined && tried.includes(d.name)) continue;
      untried.push(d);
      untriedKeys.push(this.#keys[i]!);
      if (!ejections.has(this.#keys[i]!, now)) {
        fresh.push(d);
        freshKeys.push(this.#keys[i]!);
      }
    }
    const ejected = untried.length - fresh.length;
    return ejected * 2 > this.#dynos.length || fresh.length === 0
      ? { dynos: untried, keys: untriedKeys }
      : { dynos: fresh, keys: freshKeys };
  }

  /**
   * Index of the dyno a valid cookie names, if it is usable. Only a value this picker signed is
   * found, so a forged cookie, or one for a dyno no longer routable, is ignored.
   */
  #fromCookie(
    header: string | undefined,
    ejections: Ejections,
    now: number,
    tried: readonly string[] | undefined,
  ): number | undefined {
    const value = cookieValue(header, AFFINITY_PAIR);
    const i = value === undefined ? undefined : this.#byCookie!.get(value);
    if (i === undefined) return undefined;
    if ((tried !== undefined && tried.includes(this.#dynos[i]!.name)) || ejections.has(this.#keys[i]!, now))
      return undefined;
    return i;
  }
}

/** `web.1~<HMAC-SHA256(secret, app NUL dyno), base64url, 22 chars>`: only the router can mint one. */
export function signDyno(secret: string, app: string, dyno: string): string {
  const mac = createHmac('sha256', secret).update(`${app}\0${dyno}`).digest('base64url').slice(0, 22);
  return `${dyno}~${mac}`;
}

/** `switchyard-affinity=`: built once, not per request. */
const AFFINITY_PAIR = `${AFFINITY_COOKIE}=`;

/** The Set-Cookie value that sticks a client to the dyno `value` (a signDyno value) names. */
export const affinityCookie = (value: string): string => `${AFFINITY_PAIR}${value}; Path=/; HttpOnly; SameSite=Lax`;

/** The value of the cookie whose `name=` is `pair`, from a Cookie header. */
function cookieValue(header: string | undefined, pair: string): string | undefined {
  if (!header) return undefined;
  const at = header.indexOf(pair);
  if (at === -1 || (at > 0 && header[at - 1] !== ' ' && header[at - 1] !== ';')) return undefined;
  const start = at + pair.length;
  const end = header.indexOf(';', start);
  return header.slice(start, end === -1 ? undefined : end).trim();
}

/** Pickers cached per AppEntry object: a new table brings new entries, hence new pickers. */
export class Pickers {
  readonly #cache = new WeakMap<AppEntry, Picker>();
  constructor(readonly secret: string) {}
  for(entry: AppEntry): Picker {
    let p = this.#cache.get(entry);
    if (p === undefined) {
      p = new Picker(entry, this.secret);
      this.#cache.set(entry, p);
    }
    return p;
  }
}
