#!/usr/bin/env node
// `switchyard` bin: argv → command. Each command module exports `run(argv)`; nothing else lives here.
import { ConfigError } from '../shared/config';

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
  logplex: { usage: 'logplex', help: 'one Logplex node on Redis', load: () => import('./logplex') },
  dyno: {
    usage: 'dyno --app A --name web.1 -- CMD...',
    help: 'run CMD as a dyno: register, heartbeat, ship its output to Logplex',
    load: () => import('./dyno'),
  },
  logs: {
    usage: 'logs --app A [--tail] [--num N] [--dyno web.1] [--source app]',
    help: "show or tail an app's logs, like `heroku logs`",
    load: () => import('./logs'),
  },
};

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
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(helpText() + '\n');
    return name === undefined ? 2 : 0;
  }
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
