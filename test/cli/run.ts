// Runs the built `switchyard` CLI once and collects what it said: exit code, stdout, stderr.
// Bounded: a run that does not end within `ms` is killed and reported.
import { spawn } from 'node:child_process';
import { MAIN } from '../fixtures/dev';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: Record<string, string | undefined> = {}, ms = 20_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`switchyard ${args.join(' ')} did not end within ${ms} ms:\n${stdout}\n${stderr}`));
    }, ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Env that points the operator commands at a running platform and hides the caller's own settings. */
export function platformEnv(admin: string, logplex: string): Record<string, string | undefined> {
  return { ROUTER_ADMIN_URL: admin, LOGPLEX_URL: logplex, SWITCHYARD_APP: undefined, SWITCHYARD_API_TOKEN: undefined };
}
