// What a session writes before its live lines (design.md §Tail sessions), read from the channel
// log in pages so that no read is unbounded:
//   - `num` lines: the newest `num` lines the query matches, found by reading backwards until
//     `num` matched or the retained log ran out (so `--num 3 --dyno web.2` shows three web.2
//     lines, not the web.2 lines among the last three);
//   - after a stream id (resume): every line after it, oldest first, and how many lines after
//     it left the log before they could be read (the in-band L17 line reports that count).
import type { LogLine } from '../lines';
import type { LogStore } from '../store/index';
import { matches, type LineQuery } from './search';

/** Lines per backward read after the first one. */
const PAGE = 5000;

export interface History {
  lines: LogLine[];
  /** The newest seq the read covered (matched or not): live lines up to it are not new. */
  afterSeq: number;
  /** Lines after the resume point that left the log unread (0 when none, or not resuming). */
  lost: number;
  /** The resume id is ahead of the log (a store that started over): read from its start instead. */
  reset?: boolean;
  /** How far the log was read, when more than `afterSeq` says (no history asked for): what a resume starts from. */
  position?: number;
}

/** The newest `num` matching lines, oldest first; reads at most `retention` lines (and a page). */
export async function newestMatching(
  store: LogStore,
  channel: number,
  query: LineQuery,
  num: number,
  retention: number,
): Promise<History> {
  // No history: every line the subscription brings (appended after the session subscribed) is live;
  // the newest seq is still the position a reader resumes from if it goes away before a line comes.
  if (num <= 0) {
    const newest = (await store.readBefore(channel, Infinity, 1))[0]?.seq ?? 0;
    return { lines: [], afterSeq: 0, lost: 0, position: newest };
  }
  const found: LogLine[][] = [];
  let count = 0;
  const before = Infinity;
  let afterSeq = 0;
  let scanned = 0;
  let page = Math.max(num * 2, 500);
  let next: Promise<LogLine[]> | undefined = store.readBefore(channel, before, page);
  let from = before;
  while (count < num && scanned <= retention) {
    const lines: LogLine[] = await (next ?? store.readBefore(channel, from, PAGE));
    next = undefined;
    if (lines.length === 0) break;
    if (afterSeq === 0) afterSeq = lines[lines.length - 1]!.seq;
    scanned += lines.length;
    // A search past its first page is a long one: ask for the next page now, so the store works on
    // it while this one is matched (dropped unread if this page finishes the search).
    const long = page === PAGE;
    if (long && lines.length === page && lines[0]!.seq > 1 && scanned <= retention) {
      next = store.readBefore(channel, lines[0]!.seq, PAGE);
      next.catch(() => undefined);
    }
    const hit: LogLine[] = [];
    for (let i = lines.length - 1; i >= 0 && count + hit.length < num; i--)
      if (matches(query, lines[i]!)) hit.push(lines[i]!);
    count += hit.length;
    found.push(hit);
    if (lines.length < page || lines[0]!.seq <= 1) break;
    from = lines[0]!.seq;
    page = PAGE;
  }
  const out: LogLine[] = [];
  for (let p = found.length - 1; p >= 0; p--) for (let i = found[p]!.length - 1; i >= 0; i--) out.push(found[p]![i]!);
  return { lines: out, afterSeq, lost: 0 };
}

/** Every line after `sinceId`, oldest first, and how many after it are gone from the log. */
export async function afterId(
  store: LogStore,
  channel: number,
  query: LineQuery,
  sinceId: number,
  retention: number,
): Promise<History> {
  const out: LogLine[] = [];
  const newest = (await store.readBefore(channel, Infinity, 1))[0]?.seq ?? 0;
  const reset = sinceId > newest;
  if (reset) sinceId = 0;
  let after = sinceId;
  let lost = 0;
  // The log keeps growing while it is read: bound the pages by what it can hold, twice over.
  for (let pages = 0; pages < Math.ceil((2 * retention) / PAGE) + 2; pages++) {
    const { lines, firstSeq } = await store.readAfter(channel, after, PAGE);
    if (pages === 0 && firstSeq > sinceId + 1) lost = firstSeq - sinceId - 1;
    for (const l of lines) if (matches(query, l)) out.push(l);
    if (lines.length) after = lines[lines.length - 1]!.seq;
    if (lines.length < PAGE) break;
  }
  return { lines: out, afterSeq: after, lost, ...(reset ? { reset } : {}) };
}
