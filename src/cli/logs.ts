// `switchyard logs --app A [--tail] [--num N] [--dyno web.1] [--source app]` (design.md §Processes and settings): like
// `heroku logs`. The app's channel comes from Logplex's `GET /v2/channels?name=A` (the newest
// channel of that name: a channel is named after its app);
// then a session (POST /v2/sessions) is streamed as text to stdout, coloured by source on a TTY.
import { request } from 'undici';
import { flagsToEnv, loadConfig } from '../shared/config';
import { ApiCallError, logplex, type Endpoint } from './platform/api';
import { intOption, parseOptions, UsageError } from './platform/argv';
import { colourLine } from './platform/colour';

const USAGE =
  'Usage: switchyard logs --app A [--tail] [--num N] [--dyno web.1] [--source app]\n' +
  'Reads LOGPLEX_URL (default http://127.0.0.1:LOGPLEX_PORT) and SWITCHYARD_API_TOKEN.\n';

export async function run(argv: string[]): Promise<number> {
  const { env, rest } = flagsToEnv(argv);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let opts;
  try {
    opts = parseOptions(rest, { values: ['app', 'num', 'dyno', 'ps', 'source'], flags: ['tail'] });
    if (!opts.values.get('app')) throw new UsageError('--app is required');
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`switchyard logs: ${err.message}\n${USAGE}`);
    return 2;
  }
  const config = loadConfig({ ...process.env, ...env });
  const ep: Endpoint = {
    url: config.LOGPLEX_URL ?? `http://127.0.0.1:${config.LOGPLEX_PORT}`,
    token: config.SWITCHYARD_API_TOKEN,
  };
  const app = opts.values.get('app')!;
  try {
    const num = intOption(opts, 'num', 100, 0, 1_000_000);
    const found = (await logplex.listChannels(ep, app)).sort((a, b) => b.channel_id - a.channel_id)[0];
    if (!found) {
      const known = [...new Set((await logplex.listChannels(ep)).map((a) => a.name))].sort().join(', ') || 'none yet';
      process.stderr.write(`switchyard logs: no app named "${app}" (apps: ${known})\n`);
      return 1;
    }
    const dyno = opts.values.get('dyno') ?? opts.values.get('ps');
    const source = opts.values.get('source');
    const session = await logplex.createSession(ep, {
      channel_id: found.channel_id,
      num,
      tail: opts.flags.has('tail'),
      ...(dyno ? { dyno } : {}),
      ...(source ? { source } : {}),
    });
    return await stream(session.url, process.stdout.isTTY === true);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`switchyard logs: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ApiCallError) {
      const hint =
        err.id === 'unauthorized'
          ? ' (set SWITCHYARD_API_TOKEN)'
          : err.id === 'unreachable'
            ? ' (is Logplex running? set LOGPLEX_URL)'
            : '';
      process.stderr.write(`switchyard logs: ${err.message}${hint}\n`);
      return 1;
    }
    throw err;
  }
}

/** Copies the session's text stream to stdout line by line until it ends or we are interrupted. */
async function stream(url: string, colour: boolean): Promise<number> {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const res = await request(url, { signal: ac.signal, bodyTimeout: 0, headersTimeout: 10_000 });
    if (res.statusCode !== 200) {
      process.stderr.write(`switchyard logs: session answered ${res.statusCode}\n`);
      await res.body.dump();
      return 1;
    }
    let partial = '';
    res.body.setEncoding('utf8');
    for await (const chunk of res.body as AsyncIterable<string>) {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      if (parts.length) process.stdout.write(parts.map((l) => (colour ? colourLine(l) : l) + '\n').join(''));
    }
    if (partial) process.stdout.write((colour ? colourLine(partial) : partial) + '\n');
    return 0;
  } catch (err) {
    if (ac.signal.aborted) return 0;
    throw err;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
