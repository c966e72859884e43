// Reads a logfmt message (`at=info method=GET path="/" status=200`, the shape of the router's
// lines, design.md §Router line) into key/value pairs, for the attributes of OTLP drains. A small
// state machine over the string: a bare word without `=` is skipped, a quoted value may hold
// `\"` and `\\`, and named limits bound the work on any input.

/** Pairs read at most; the rest of a longer message stays only in the body. */
export const MAX_PAIRS = 64;
/** Longer keys are not logfmt keys: the pair is skipped. */
export const MAX_KEY = 64;

const enum S {
  Between,
  Key,
  Bare,
  Quoted,
  Skip,
}

export function parseLogfmt(msg: string): [key: string, value: string][] {
  const out: [string, string][] = [];
  let state = S.Between;
  let keyStart = 0;
  let key = '';
  let value = '';
  let valueStart = 0;
  const push = (k: string, v: string): void => {
    if (k.length > 0 && k.length <= MAX_KEY && out.length < MAX_PAIRS) out.push([k, v]);
  };
  for (let i = 0; i < msg.length && out.length < MAX_PAIRS; i++) {
    const c = msg.charCodeAt(i);
    const space = c === 0x20 || c === 0x09;
    switch (state) {
      case S.Between:
        if (space) break;
        keyStart = i;
        state = c === 0x3d || c === 0x22 ? S.Skip : S.Key;
        break;
      case S.Key:
        if (c === 0x3d) {
          key = msg.slice(keyStart, i);
          if (msg.charCodeAt(i + 1) === 0x22) {
            state = S.Quoted;
            value = '';
            i++;
          } else {
            state = S.Bare;
            valueStart = i + 1;
          }
        } else if (space) state = S.Between;
        else if (c === 0x22) state = S.Skip;
        break;
      case S.Bare:
        if (space) {
          push(key, msg.slice(valueStart, i));
          state = S.Between;
        }
        break;
      case S.Quoted:
        if (c === 0x5c && i + 1 < msg.length) value += msg[++i];
        else if (c === 0x22) {
          push(key, value);
          state = S.Skip;
        } else value += msg[i];
        break;
      case S.Skip:
        if (space) state = S.Between;
        break;
    }
  }
  if (state === S.Bare) push(key, msg.slice(valueStart));
  return out;
}
