// logfmt pairs of a message (`at=info method=GET path="/a b" status=200`), as the router writes
// its lines (design.md §Router line). One left-to-right pass with a bound on pairs: linear in
// the message, never a backtracking pattern. Bare words without `=` are skipped.

/** At most this many pairs are read from one message; the rest is ignored. */
export const MAX_PAIRS = 64;

export function logfmtPairs(msg: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  const n = msg.length;
  while (i < n && out.size < MAX_PAIRS) {
    while (i < n && msg.charCodeAt(i) === 0x20) i++;
    const keyStart = i;
    while (i < n && msg.charCodeAt(i) !== 0x3d && msg.charCodeAt(i) !== 0x20) i++;
    const key = msg.slice(keyStart, i);
    if (i >= n || msg.charCodeAt(i) !== 0x3d) continue; // a bare word
    i++; // '='
    let value: string;
    if (msg.charCodeAt(i) === 0x22) {
      i++;
      let v = '';
      let from = i;
      while (i < n && msg.charCodeAt(i) !== 0x22) {
        if (msg.charCodeAt(i) === 0x5c && i + 1 < n) {
          v += msg.slice(from, i);
          i++;
          from = i;
        }
        i++;
      }
      value = v + msg.slice(from, i);
      i++; // closing quote (or past the end)
    } else {
      const from = i;
      while (i < n && msg.charCodeAt(i) !== 0x20) i++;
      value = msg.slice(from, i);
    }
    if (key !== '' && !out.has(key)) out.set(key, value);
  }
  return out;
}
