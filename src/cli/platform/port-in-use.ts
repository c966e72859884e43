// A port already taken, said the same way by `dev`, `router` and `logplex` (design.md §Processes
// and settings): which address, and which flags choose other ports. Anything else goes on up.
/** Each command's port flags; 0 is any free port. */
export const PORT_FLAGS: Readonly<Record<'dev' | 'router' | 'logplex', readonly string[]>> = {
  dev: ['--router-port', '--router-tls-port', '--router-admin-port', '--logplex-port', '--logplex-syslog-port'],
  router: ['--router-port', '--router-tls-port', '--router-admin-port'],
  logplex: ['--logplex-port', '--logplex-syslog-port'],
};

/** The one line for EADDRINUSE, or undefined when `err` is something else. */
export function portInUseMessage(command: 'dev' | 'router' | 'logplex', err: unknown): string | undefined {
  const e = err as { code?: string; address?: string; port?: number };
  if (e?.code !== 'EADDRINUSE') return undefined;
  const flags = PORT_FLAGS[command]!;
  return `switchyard ${command}: ${e.address}:${e.port} is already in use; choose other ports with ${flags.slice(0, -1).join(', ')} and ${flags.at(-1)} (0 = any free port)`;
}

/** EADDRINUSE as a one-line message and exit 1; anything else is rethrown. */
export function portInUse(command: 'dev' | 'router' | 'logplex', err: unknown): number {
  const msg = portInUseMessage(command, err);
  if (msg === undefined) throw err;
  process.stderr.write(msg + '\n');
  return 1;
}
