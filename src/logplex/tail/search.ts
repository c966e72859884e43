// Which lines a session shows (design.md §Tail sessions): the dyno and source filters, a time
// range, and search terms, all ANDed. A term is a substring of MSG (`timeout`, `"two words"`),
// a logfmt pair (`method=POST`, `dyno!=web.2`) or a numeric comparison on a logfmt value
// (`status>=500`, `service>1000`: router lines carry `service=12ms`, the number is its leading
// digits). No user regex: every term is a plain comparison, so a line costs time linear in its
// length whatever the query, and a hostile query cannot stall the ingest path the live matching
// runs on.
import type { LogLine } from '../lines';
import { logfmtPairs } from './logfmt';

/** Bounds on a query, so its cost per line stays small and known. */
export const QUERY_LIMITS = { chars: 512, terms: 16 } as const;

export type Term =
  | { kind: 'text'; text: string }
  | { kind: 'eq' | 'ne'; key: string; value: string }
  | { kind: 'gt' | 'ge' | 'lt' | 'le'; key: string; value: number };

export interface LineQuery {
  /** Dyno prefix: `web` matches `web.1`, `web.1` matches only `web.1`. */
  ps?: string;
  source?: string;
  terms?: Term[];
  /** Times in the stored shape (`2026-11-26T10:00:00.123456+00:00`), which sort as strings. */
  since?: string;
  until?: string;
}

export class QueryError extends Error {}

const KEY_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const OPS = ['>=', '<=', '!=', '=', '>', '<'] as const;
const OP_KIND = { '>=': 'ge', '<=': 'le', '!=': 'ne', '=': 'eq', '>': 'gt', '<': 'lt' } as const;

/** Parses `status>=500 method=POST "connection reset"` into terms; errors name the term. */
export function parseQuery(q: string): Term[] {
  if (q.length > QUERY_LIMITS.chars) throw new QueryError(`query is longer than ${QUERY_LIMITS.chars} characters`);
  const words: { text: string; quoted: boolean }[] = [];
  let i = 0;
  while (i < q.length) {
    if (q[i] === ' ' || q[i] === '\t') {
      i++;
      continue;
    }
    if (q[i] === '"') {
      const end = q.indexOf('"', i + 1);
      if (end < 0) throw new QueryError('unclosed " in query');
      words.push({ text: q.slice(i + 1, end), quoted: true });
      i = end + 1;
      continue;
    }
    let end = i;
    while (end < q.length && q[end] !== ' ' && q[end] !== '\t') {
      // A quoted value inside a term (`path="/a b"`) runs to its closing quote.
      if (q[end] === '"') {
        const close = q.indexOf('"', end + 1);
        if (close < 0) throw new QueryError('unclosed " in query');
        end = close;
      }
      end++;
    }
    words.push({ text: q.slice(i, end), quoted: false });
    i = end;
  }
  if (words.length > QUERY_LIMITS.terms) throw new QueryError(`query has more than ${QUERY_LIMITS.terms} terms`);
  return words.filter((w) => w.text !== '').map((w) => (w.quoted ? { kind: 'text', text: w.text } : term(w.text)));
}

function term(word: string): Term {
  for (const op of OPS) {
    const at = word.indexOf(op);
    if (at <= 0) continue;
    const key = word.slice(0, at);
    if (!KEY_RE.test(key)) break;
    let value = word.slice(at + op.length);
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    const kind = OP_KIND[op];
    if (kind === 'eq' || kind === 'ne') return { kind, key, value };
    const n = Number(value);
    if (value === '' || !Number.isFinite(n)) throw new QueryError(`"${word}": ${op} needs a number`);
    return { kind, key, value: n };
  }
  return { kind: 'text', text: word };
}

export function matches(q: LineQuery, l: LogLine): boolean {
  if (q.source !== undefined && l.source !== q.source) return false;
  if (q.ps !== undefined && l.ps !== q.ps && !l.ps.startsWith(q.ps.endsWith('.') ? q.ps : q.ps + '.')) return false;
  if (q.since !== undefined && l.time < q.since) return false;
  if (q.until !== undefined && l.time > q.until) return false;
  if (q.terms === undefined || q.terms.length === 0) return true;
  let pairs: Map<string, string> | undefined;
  for (const t of q.terms) {
    if (t.kind === 'text') {
      if (!l.msg.includes(t.text)) return false;
      continue;
    }
    pairs ??= logfmtPairs(l.msg);
    const v = pairs.get(t.key);
    switch (t.kind) {
      case 'eq':
        if (v !== t.value) return false;
        break;
      case 'ne':
        if (v === t.value) return false;
        break;
      default: {
        const n = v === undefined ? NaN : leadingNumber(v);
        if (Number.isNaN(n) || !compare(t.kind, n, t.value)) return false;
      }
    }
  }
  return true;
}

function compare(kind: 'gt' | 'ge' | 'lt' | 'le', a: number, b: number): boolean {
  switch (kind) {
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
  }
}

/** `12ms` → 12, `0.5s` → 0.5, `-3` → -3; NaN without leading digits. */
export function leadingNumber(v: string): number {
  let end = v.startsWith('-') ? 1 : 0;
  let dot = false;
  while (end < v.length) {
    const c = v.charCodeAt(end);
    if (c >= 0x30 && c <= 0x39) end++;
    else if (c === 0x2e && !dot) {
      dot = true;
      end++;
    } else break;
  }
  return end === 0 || v.slice(0, end) === '-' ? NaN : Number(v.slice(0, end));
}
