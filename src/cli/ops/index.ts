// The operator commands as data: name → usage, one line of help, options, and the step that runs
// it. `main.ts` lists them; `runOps` parses, runs, and turns every failure into one line on
// stderr and an exit code from EXIT (docs/operations.md "Exit codes").
import { ConfigError, describeSettings, settingsFor } from '../../shared/config';
import * as appsCmd from './apps';
import * as certsCmd from './certs';
import { EXIT, OpsError, opsContext, type OpsContext, type OpsSpec } from './context';
import * as domainsCmd from './domains';
import * as drainsCmd from './drains';
import { ps } from './ps';

interface OpsCommand extends OpsSpec {
  usage: string;
  help: string;
  run: (ctx: OpsContext) => Promise<void>;
}

export const OPS_COMMANDS: Record<string, OpsCommand> = {
  apps: { usage: 'apps [--json]', help: 'list the apps', app: false, run: appsCmd.apps },
  'apps:create': {
    usage: 'apps:create NAME [--json]',
    help: 'create an app (APP.ROUTER_DOMAIN and a log channel)',
    app: false,
    optional: 'NAME',
    run: appsCmd.create,
  },
  'apps:info': { usage: 'apps:info -a APP [--json]', help: "an app's settings", app: true, run: appsCmd.info },
  'apps:destroy': {
    usage: 'apps:destroy -a APP --confirm APP',
    help: 'delete an app, its domains, dynos and log channel',
    app: true,
    values: ['confirm'],
    run: appsCmd.destroy,
  },
  ps: { usage: 'ps -a APP [--json]', help: 'dynos: state, address, lease, requests in flight', app: true, run: ps },
  domains: { usage: 'domains -a APP [--json]', help: "an app's hostnames", app: true, run: domainsCmd.domains },
  'domains:add': {
    usage: 'domains:add HOST -a APP [--json]',
    help: 'route HOST (or *.example.com) to the app',
    app: true,
    positionals: ['HOST'],
    run: domainsCmd.addDomain,
  },
  'domains:remove': {
    usage: 'domains:remove HOST -a APP',
    help: 'stop routing HOST to the app',
    app: true,
    positionals: ['HOST'],
    run: domainsCmd.removeDomain,
  },
  certs: {
    usage: 'certs -a APP [--json]',
    help: 'each domain of the app with its TLS certificate: subject, SANs, expiry, fingerprint (- when none)',
    app: true,
    run: certsCmd.certs,
  },
  'certs:add': {
    usage: 'certs:add CHAIN.pem KEY.pem -a APP --domain HOST [--json]',
    help: 'serve the certificate chain (leaf first) and its unencrypted private key for HOST over TLS',
    app: true,
    values: ['domain'],
    positionals: ['CHAIN.pem', 'KEY.pem'],
    run: certsCmd.addCert,
  },
  'certs:info': {
    usage: 'certs:info -a APP --domain HOST [--json]',
    help: "HOST's certificate: subject, SANs, issuer, validity, fingerprint, chain length (never the key)",
    app: true,
    values: ['domain'],
    run: certsCmd.certInfo,
  },
  'certs:remove': {
    usage: 'certs:remove -a APP --domain HOST',
    help: "stop serving HOST's certificate",
    app: true,
    values: ['domain'],
    run: certsCmd.removeCert,
  },
  maintenance: {
    usage: 'maintenance -a APP [--json]',
    help: 'whether maintenance mode is on',
    app: true,
    run: domainsCmd.maintenance,
  },
  'maintenance:on': {
    usage: 'maintenance:on -a APP',
    help: 'every request gets the maintenance page (H80)',
    app: true,
    run: domainsCmd.setMaintenance(true),
  },
  'maintenance:off': {
    usage: 'maintenance:off -a APP',
    help: 'route requests to the dynos again',
    app: true,
    run: domainsCmd.setMaintenance(false),
  },
  drains: {
    usage: 'drains -a APP [--json]',
    help: "an app's log drains with delivery status",
    app: true,
    run: drainsCmd.drains,
  },
  'drains:add': {
    usage: 'drains:add URL -a APP [--json]',
    help: "send the app's logs to URL (syslog://, syslog+tls://, https://)",
    app: true,
    positionals: ['URL'],
    run: drainsCmd.addDrain,
  },
  'drains:remove': {
    usage: 'drains:remove URL|ID|TOKEN -a APP',
    help: 'stop draining to it',
    app: true,
    positionals: ['URL'],
    run: drainsCmd.removeDrain,
  },
};

export async function runOps(name: string, argv: string[]): Promise<number> {
  const cmd = OPS_COMMANDS[name]!;
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      `Usage: switchyard ${cmd.usage}\n${cmd.help}\n\nSettings:\n${describeSettings(settingsFor('operator'))}\n`,
    );
    return EXIT.ok;
  }
  try {
    await cmd.run(opsContext(argv, cmd));
    return EXIT.ok;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`switchyard ${name}: ${err.message}\n`);
      return EXIT.usage;
    }
    if (!(err instanceof OpsError)) throw err;
    process.stderr.write(
      `switchyard ${name}: ${err.message}\n` + (err.exit === EXIT.usage ? `Usage: switchyard ${cmd.usage}\n` : ''),
    );
    return err.exit;
  }
}
