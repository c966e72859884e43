#!/usr/bin/env node
// `switchyard` bin: argv → command. Each command module exports `run(argv)`; nothing else lives here.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError, unknownSettings } from '../shared/config';
import { OPS_COMMANDS } from './ops/index';

interface Command {
  usage: string;
  help: string;
  load: () => Promise<{ run: (argv: string[]) => Promise<number | void> }>;
}

const COMMANDS: Record<string, Command> = {
  dev: {
    usage: 'dev [--demo]',
    help: 'router + control API + Logplex in one process on the embedded store',
    load: () => import('./dev'),
  },
  router: {
    usage: 'router [--reseed]',
    help: 'one router node (data plane + control API) on Redis; --reseed: the running node writes its table back',
    load: () => import('./router'),
  },
  logplex: {
    usage: 'logplex [--reseed]',
    help: 'one Logplex node on Redis; --reseed: the running node writes the channels, tokens and drains it knows back',
    load: () => import('./logplex'),
  },
  dyno: {
    usage: 'dyno -a APP --name web.1 -- CMD...',
    help: 'run CMD as a dyno: register, heartbeat, ship its output, restart it when it crashes',
    load: () => import('./dyno'),
  },
  logs: {
    usage: 'logs --app A [--tail] [--num N] [--dyno web.1] [--source app]',
    help: "show or tail an app's logs, like `heroku logs`",
    load: () => import('./logs'),
  },
  ...Object.fromEntries(
    Object.entries(OPS_COMMANDS).map(([name, c]) => [
      name,
      {
        usage: c.usage,
        help: c.help,
        load: async () => {
          const { runOps } = await import('./ops/index');
          return { run: (argv: string[]) => runOps(name, argv) };
        },
      },
    ]),
  ),
};

/** The package's version, from the package.json above this file (dist/cli/ or build/src/cli/). */
export function version(): string {
  for (let dir = __dirname, i = 0; i < 5; i++, dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

export function helpText(): string {
  const lines = Object.values(COMMANDS).map((c) => `  switchyard ${c.usage.padEnd(62)} ${c.help}`);
  return [
    'Usage: switchyard COMMAND [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Settings are environment variables, or flags of the same name (--router-port 9000 = ROUTER_PORT=9000).',
    'Run `switchyard COMMAND --help` for the settings a command reads.',
    'Operator commands take -a APP (default: SWITCHYARD_APP); exit codes: 0 ok, 1 failed, 2 usage,',
    '3 not found, 4 refused by the API, 5 unreachable or unavailable, 6 unauthorized.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(helpText() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`switchyard ${version()}\n`);
    return 0;
  }
  for (const w of unknownSettings(process.env)) process.stderr.write(`switchyard: warning: ${w}\n`);
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`switchyard: unknown command "${name}"\n\n${helpText()}\n`);
    return 2;
  }
  const mod = await command.load();
  const code = await mod.run(rest);
  return typeof code === 'number' ? code : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      // Long-running commands resolve only when they stop; short ones set their own code.
      if (code !== 0) process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof ConfigError) process.stderr.write(`switchyard: ${err.message}\n`);
      else process.stderr.write(`switchyard: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(err instanceof ConfigError ? 2 : 1);
    },
  );
}
