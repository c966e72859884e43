// Every server under test runs in its own child process, pinned to one CPU with taskset
// when it is installed, so the load generator never shares an event loop (or a core) with
// the proxy it measures. A child announces its ports with one stdout line and exits when
// its stdin closes, so a crashed or interrupted bench never leaves servers behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p));

/** How long a child may take to start listening. */
const START_TIMEOUT_MS = 10_000;
/** How long a child may take to exit after SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;

export const canPin = TASKSET !== undefined;
let pinning = canPin;

/**
 * Turns pinning off (`--no-pin`): when other work crowds both cores, a process held to one
 * busy core waits for it, where the scheduler would have moved it to the other.
 */
export function disablePinning(): void {
  pinning = false;
}

export const isPinning = (): boolean => pinning;

/** `cmd args` wrapped in `taskset -c CPU` when a CPU is asked for and pinning is on. */
export function pinned(cpu: number | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  if (cpu === undefined || TASKSET === undefined || !pinning) return [cmd, [...args]];
  return [TASKSET, ['-c', String(cpu), cmd, ...args]];
}

/** Pins the current process (every thread) to `cpu`; false when taskset is missing. */
export async function pinSelf(cpu: number): Promise<boolean> {
  if (TASKSET === undefined || !pinning) return false;
  const child = spawn(TASKSET, ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
  const code = await new Promise<number | null>((resolve) =>
    child.on('exit', resolve).on('error', () => resolve(null)),
  );
  return code === 0;
}

export interface ServerChild {
  readonly name: string;
  readonly ports: readonly number[];
  readonly pid: number;
  stop(): Promise<void>;
}

export interface ChildOptions {
  cpu?: number;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: readonly string[];
  /** A non-node command line instead of `node script` (nginx). */
  command?: readonly string[];
}

/** Starts `node script ...args` and resolves once it printed `listening PORT[,PORT...]`. */
export function startChild(
  name: string,
  script: string,
  args: readonly string[],
  opts: ChildOptions = {},
): Promise<ServerChild> {
  const [cmd, argv] = pinned(opts.cpu, process.execPath, [...(opts.nodeArgs ?? []), script, ...args]);
  const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => fail(new Error(`${name}: not listening after ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const fail = (err: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.on('error', fail);
    child.on('exit', (code) => fail(new Error(`${name}: exited with ${code} before listening`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = /^listening ([0-9,]+)$/m.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume();
      resolve({ name, ports: m[1]!.split(',').map(Number), pid: child.pid!, stop: () => stopChild(child) });
    });
  });
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin?.end();
    child.kill('SIGTERM');
  });
}

/** Child side: print the ports, and exit when the parent goes away or asks us to. */
export function announce(ports: readonly number[], onStop: () => void = () => process.exit(0)): void {
  process.stdout.write(`listening ${ports.join(',')}\n`);
  process.stdin.on('end', onStop);
  process.stdin.on('error', onStop);
  process.stdin.resume();
  // A plain exit (not death by signal) lets `--cpu-prof` write its profile.
  process.once('SIGTERM', onStop);
}

/** Kernel clock ticks per second of /proc/PID/stat times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/**
 * CPU seconds (user + system, every thread) a process has used so far, from /proc; undefined
 * off Linux. On a machine shared with other work, requests per CPU-second of the proxy is
 * the figure that other processes disturb least: it is what one whole core would serve.
 */
export function cpuSeconds(pid: number): number | undefined {
  const own = procCpuSeconds(pid);
  if (own === undefined) return undefined;
  // A server with worker processes (nginx's master, node:cluster's primary): count its children too.
  let total = own;
  try {
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)) {
      if (child !== '') total += procCpuSeconds(Number(child)) ?? 0;
    }
  } catch {
    // No children file: the process's own time is all there is.
  }
  return total;
}

function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / USER_HZ;
  } catch {
    return undefined;
  }
}
