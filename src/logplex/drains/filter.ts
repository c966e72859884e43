// A drain's filter (design.md §Drains): the sources (token names, `app`, `heroku`) and process
// types (`web` for `web.1`, `router`) it takes, so router lines can go one place and app lines
// another. Lines it refuses are still acked (the drain is done with them), never sent. Logplex's
// own L-lines about the drain (`heroku[logplex]`) always pass: they report loss on that drain.
import type { DrainFilter, DrainLine } from './store/index';

/** Values per list, and length of a value: the API refuses more. */
export const FILTER_LIMITS = { values: 16, length: 64 } as const;
const VALUE = /^[A-Za-z0-9_-]+$/;

/** The process type of a PROCID: `web.1` → `web`, `router` → `router`. */
const typeOf = (ps: string): string => {
  const dot = ps.indexOf('.');
  return dot < 0 ? ps : ps.slice(0, dot);
};

export function keepLine(filter: DrainFilter | undefined): ((line: DrainLine) => boolean) | undefined {
  if (!filter || (!filter.sources?.length && !filter.processes?.length)) return undefined;
  const sources = filter.sources?.length ? new Set(filter.sources) : undefined;
  const processes = filter.processes?.length ? new Set(filter.processes) : undefined;
  return (line) =>
    (line.source === 'heroku' && line.ps === 'logplex') ||
    ((!sources || sources.has(line.source)) && (!processes || processes.has(typeOf(line.ps))));
}

/** The filter of an API body (`{"sources": [...], "processes": [...]}`), or a message naming what is wrong. */
export function parseFilter(raw: unknown): DrainFilter | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return '"filter" must be an object';
  const out: DrainFilter = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k !== 'sources' && k !== 'processes') return `unknown filter field "${k}" (sources, processes)`;
    if (!Array.isArray(v) || v.length === 0 || v.length > FILTER_LIMITS.values)
      return `filter.${k} must be a list of 1 to ${FILTER_LIMITS.values} names`;
    for (const x of v)
      if (typeof x !== 'string' || x.length > FILTER_LIMITS.length || !VALUE.test(x))
        return `filter.${k}: ${JSON.stringify(x)} is not a name ([A-Za-z0-9_-], at most ${FILTER_LIMITS.length})`;
    out[k] = [...new Set(v as string[])];
  }
  return out;
}
