// Our own stdout logs as logfmt: every line starts with `at=LEVEL` (STYLE habit 13),
// then `svc=` and the caller's fields in order.

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Record<string, string | number | boolean | null | undefined>;

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** One logfmt value: bare when safe, else double-quoted with `"` and `\` escaped and controls removed. */
export function logfmtValue(v: string | number | boolean | null): string {
  if (v === null) return '""';
  if (typeof v !== 'string') return String(v);
  if (v !== '' && /^[\x21\x23-\x3c\x3e-\x7e]+$/.test(v)) return v;
  return '"' + v.replace(/[\\"]/g, (c) => '\\' + c).replace(/[\x00-\x1f\x7f]/g, ' ') + '"';
}

export function logfmt(fields: Fields): string {
  let out = '';
  for (const key in fields) {
    const v = fields[key];
    if (v === undefined) continue;
    out += (out ? ' ' : '') + key + '=' + logfmtValue(v);
  }
  return out;
}

export interface Logger {
  debug(event: string, fields?: Fields): void;
  info(event: string, fields?: Fields): void;
  warn(event: string, fields?: Fields): void;
  error(event: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

export type Write = (line: string) => void;

const stdoutWrite: Write = (line) => {
  process.stdout.write(line + '\n');
};

export function createLogger(opts: { level?: Level; fields?: Fields; write?: Write } = {}): Logger {
  const min = RANK[opts.level ?? 'info'];
  const base = opts.fields ?? {};
  const write = opts.write ?? stdoutWrite;
  const emit = (level: Level, event: string, fields?: Fields): void => {
    if (RANK[level] < min) return;
    write(logfmt({ at: level, ...base, msg: event, ...fields }));
  };
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
    child: (fields) => createLogger({ level: opts.level, fields: { ...base, ...fields }, write }),
  };
}

/** A logger that writes nothing, for tests and benches that do not read our logs. */
export const silentLogger: Logger = createLogger({ write: () => undefined });

export function errorFields(err: unknown): Fields {
  if (err instanceof Error) {
    // ioredis' own wording ("Reached the max retries per request limit…") tells an operator
    // nothing; the line that names the Redis URL comes from shared/redis.ts.
    if (err.name === 'MaxRetriesPerRequestError') return { err: 'Redis unreachable', code: 'SY_REDIS_UNAVAILABLE' };
    const code = (err as { code?: unknown }).code;
    return { err: err.message, code: typeof code === 'string' ? code : undefined };
  }
  return { err: String(err) };
}
