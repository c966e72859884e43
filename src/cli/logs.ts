// `switchyard logs -a APP [-t] [-n N] [-d web.1] [-s app] [--search Q] [--since 10m]` (design.md
// §Processes and settings, §Tail sessions): like `heroku logs`. The app's channel comes from
// Logplex's `GET /v2/channels?name=A` (the newest channel of that name); a session
// (POST /v2/sessions) is read as Server-Sent Events, so every line comes with its stream id.
// With --tail, a lost connection is resumed from the last id (since_id): no line twice, none
// missed while it was away; it says so on stderr, and gives up with exit 1 after
// SWITCHYARD_LOGS_GIVE_UP_MS without Logplex.
import { request } from 'undici';
import { flagsToEnv, loadConfig } from '../shared/config';
import { ApiCallError, logplex, type Endpoint, type SessionRequest } from './platform/api';
import { intOption, parseOptions, UsageError } from './platform/argv';
import { colourLine } from './platform/colour';
import { SseParser } from './platform/sse';

const USAGE =
  'Usage: switchyard logs -a APP [-t|--tail] [-n|--num N] [-d|--dyno web.1] [-s|--source app]\n' +
  '                       [--search QUERY] [--since 10m|TIME] [--until TIME] [--json]\n' +
  '  -a, --app       the app (default SWITCHYARD_APP)\n' +
  '  --search        substring, key=value, or status>=500 / service>1000 (router lines)\n' +
  '  --json          one JSON object per line, with every field\n' +
  'Reads LOGPLEX_URL (default http://127.0.0.1:LOGPLEX_PORT), SWITCHYARD_API_TOKEN and\n' +
  'SWITCHYARD_LOGS_GIVE_UP_MS (how long --tail keeps reconnecting).\n';

/** Heroku's short flags, as the long ones. */
const SHORT: Readonly<Record<string, string>> = {
  '-a': '--app',
  '-t': '--tail',
  '-n': '--num',
  '-d': '--dyno',
  '-s': '--source',
};
/** Reconnect delays: doubling from 250 ms to 5 s. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5_000;

/** What `logs` asks Logplex for; `since_id` is added on each resume. */
type Query = Omit<SessionRequest, 'since_id'>;

export async function run(argv: string[]): Promise<number> {
  const { env, rest } = flagsToEnv(argv.map((a) => SHORT[a] ?? a));
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const config = loadConfig({ ...process.env, ...env });
  let opts;
  try {
    opts = parseOptions(rest, {
      values: ['app', 'num', 'dyno', 'ps', 'source', 'search', 'since', 'until'],
      flags: ['tail', 'json'],
    });
    if (!opts.values.get('app') && !config.SWITCHYARD_APP)
      throw new UsageError('--app (or SWITCHYARD_APP) is required');
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`switchyard logs: ${err.message}\n${USAGE}`);
    return 2;
  }
  const ep: Endpoint = {
    url: config.LOGPLEX_URL ?? `http://127.0.0.1:${config.LOGPLEX_PORT}`,
    token: config.SWITCHYARD_API_TOKEN,
  };
  const app = opts.values.get('app') ?? config.SWITCHYARD_APP!;
  try {
    const num = intOption(opts, 'num', 100, 0, 1_000_000);
    const found = (await logplex.listChannels(ep, app)).sort((a, b) => b.channel_id - a.channel_id)[0];
    if (!found) {
      const known = [...new Set((await logplex.listChannels(ep)).map((a) => a.name))].sort().join(', ') || 'none yet';
      process.stderr.write(`switchyard logs: no app named "${app}" (apps: ${known})\n`);
      return 1;
    }
    const dyno = opts.values.get('dyno') ?? opts.values.get('ps');
    const query: Query = {
      channel_id: found.channel_id,
      num,
      tail: opts.flags.has('tail'),
      ...(dyno ? { dyno } : {}),
      ...optional('source', opts.values.get('source')),
      ...optional('q', opts.values.get('search')),
      ...optional('since', opts.values.get('since')),
      ...optional('until', opts.values.get('until')),
      ...(opts.flags.has('json') ? { format: 'json' as const } : {}),
    };
    return await follow(ep, query, Number(config.SWITCHYARD_LOGS_GIVE_UP_MS), process.stdout.isTTY === true);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`switchyard logs: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ApiCallError) {
      process.stderr.write(`switchyard logs: ${err.message}${hint(err)}\n`);
      return 1;
    }
    throw err;
  }
}

const optional = <K extends string>(k: K, v: string | undefined): Partial<Record<K, string>> =>
  (v === undefined ? {} : { [k]: v }) as Partial<Record<K, string>>;

function hint(err: ApiCallError): string {
  if (err.id === 'unauthorized') return ' (set SWITCHYARD_API_TOKEN)';
  if (err.id === 'unreachable') return ' (is Logplex running? set LOGPLEX_URL)';
  return '';
}

/**
 * Reads sessions until the history is out (no --tail), or until interrupted (--tail): a session
 * that ends or fails is followed by one that resumes after the last stream id seen.
 */
async function follow(ep: Endpoint, query: Query, giveUpMs: number, colour: boolean): Promise<number> {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let lastId: string | undefined;
  let lostAt: number | undefined;
  let delay = RETRY_FIRST_MS;
  try {
    for (;;) {
      let why: string;
      try {
        const body = lastId === undefined ? query : { ...query, since_id: Number(lastId) };
        const session = await logplex.createSession(ep, body);
        const res = await request(session.url, {
          signal: ac.signal,
          headers: { accept: 'text/event-stream' },
          bodyTimeout: 0,
          headersTimeout: 10_000,
        });
        if (res.statusCode !== 200) {
          await res.body.dump();
          throw new ApiCallError(res.statusCode, 'session', `session answered ${res.statusCode}`);
        }
        if (lostAt !== undefined)
          process.stderr.write(`switchyard logs: reconnected; resuming after id ${lastId ?? '(none yet)'}\n`);
        lostAt = undefined;
        delay = RETRY_FIRST_MS;
        const parser = new SseParser();
        res.body.setEncoding('utf8');
        for await (const chunk of res.body as AsyncIterable<string>) {
          const out: string[] = [];
          for (const ev of parser.push(chunk)) {
            if (ev.id !== undefined) lastId = ev.id;
            if (ev.data !== undefined) out.push((colour && !query.format ? colourLine(ev.data) : ev.data) + '\n');
          }
          if (out.length) process.stdout.write(out.join(''));
        }
        if (!query.tail) return 0;
        why = 'Logplex ended the session';
      } catch (err) {
        if (ac.signal.aborted) return 0;
        // Before the first line, a refusal is an answer (bad app, token, query), not an outage.
        if (err instanceof ApiCallError && err.status >= 400 && err.status < 500) throw err;
        if (!query.tail) throw err;
        why = err instanceof Error ? err.message : String(err);
      }
      if (ac.signal.aborted) return 0;
      const now = Date.now();
      if (lostAt === undefined) {
        lostAt = now;
        process.stderr.write(`switchyard logs: lost Logplex (${why}); reconnecting…\n`);
      } else if (now - lostAt >= giveUpMs) {
        process.stderr.write(
          `switchyard logs: Logplex unreachable for ${Math.round((now - lostAt) / 1000)} s (${why}); giving up` +
            `${lastId ? ` after id ${lastId}` : ''}\n`,
        );
        return 1;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(delay, Math.max(0, lostAt! + giveUpMs - now)));
        ac.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
