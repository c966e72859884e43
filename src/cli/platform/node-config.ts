// Start-up checks shared by the two Redis-backed node commands (`switchyard router`,
// `switchyard logplex`, design.md §Processes and settings): --help, no stray arguments, and the settings both require,
// each refusal one line on stderr naming the variable, exit 2.
import { describeSettings, flagsToEnv, loadConfig, settingsFor, type Config } from '../../shared/config';

export type NodeConfig = Config & { readonly REDIS_URL: string; readonly SWITCHYARD_API_TOKEN: string };

/** The validated config, or the exit code when the command must not start. */
export function nodeConfig(command: 'router' | 'logplex', argv: readonly string[]): NodeConfig | number {
  const { env, rest } = flagsToEnv(argv);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(
      `Usage: switchyard ${command} [--SETTING value ...]\n\nSettings:\n${describeSettings(settingsFor(command))}\n`,
    );
    return 0;
  }
  if (rest.length) {
    process.stderr.write(
      `switchyard ${command}: unknown argument ${JSON.stringify(rest[0])} (see switchyard ${command} --help)\n`,
    );
    return 2;
  }
  const config = loadConfig({ ...process.env, ...env });
  if (!config.REDIS_URL) {
    process.stderr.write(
      `switchyard ${command}: REDIS_URL is not set (e.g. REDIS_URL=redis://127.0.0.1:6379); \`switchyard dev\` runs without Redis\n`,
    );
    return 2;
  }
  if (!config.SWITCHYARD_API_TOKEN) {
    process.stderr.write(
      `switchyard ${command}: SWITCHYARD_API_TOKEN is not set (16-256 printable ASCII characters; the APIs require it)\n`,
    );
    return 2;
  }
  return config as NodeConfig;
}
