// A Server-Sent Events reader for `logs` (WHATWG HTML §9.2.6 "Interpreting an event stream"):
// text in, events out, across chunk boundaries. Only what a Logplex session sends is kept:
// `id` and `data` (several `data` lines join with `\n`); an id-only event moves the position.
// A line longer than MAX_LINE is cut (a bound on what one event may hold in memory).

export interface SseEvent {
  id?: string;
  data?: string;
}

const MAX_LINE = 1024 * 1024;

export class SseParser {
  #partial = '';
  #id: string | undefined;
  #data: string[] = [];

  push(chunk: string): SseEvent[] {
    const text = this.#partial + chunk;
    const lines = text.split('\n');
    this.#partial = lines.pop()!.slice(0, MAX_LINE);
    const out: SseEvent[] = [];
    for (const raw of lines) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line === '') {
        if (this.#id !== undefined || this.#data.length) {
          out.push({
            ...(this.#id !== undefined ? { id: this.#id } : {}),
            ...(this.#data.length ? { data: this.#data.join('\n') } : {}),
          });
        }
        this.#id = undefined;
        this.#data = [];
        continue;
      }
      const colon = line.indexOf(':');
      if (colon === 0) continue; // a comment
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'id') this.#id = value;
      else if (field === 'data') this.#data.push(value);
    }
    return out;
  }
}
