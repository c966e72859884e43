// `certs`, `certs:add CHAIN KEY --domain HOST`, `certs:info`, `certs:remove` (design.md §Control
// API): the TLS certificate of each of an app's domains, set from PEM files, never showing the key.
import { readFile, stat } from 'node:fs/promises';
import { CERT_LIMITS } from '../../router/tls/certificate';
import { ApiCallError } from '../platform/api';
import { controlCalls, type CertView } from './calls';
import { EXIT, explain, OpsError, print, printJson, table, viaControl, type OpsContext } from './context';

const DAY_MS = 86_400_000;

function domainOf(ctx: OpsContext): string {
  const host = ctx.values.get('domain');
  if (host === undefined)
    throw new OpsError(EXIT.usage, `no domain given: use --domain HOST (see switchyard domains -a ${ctx.app})`);
  return host;
}

/** `2027-02-26 (in 89 days)`: the date and how far off it is, the part an operator acts on. */
function expiry(notAfter: string, now: number): string {
  const ms = Date.parse(notAfter) - now;
  const when = ms <= 0 ? 'expired' : `in ${Math.floor(ms / DAY_MS)} days`;
  return `${notAfter.slice(0, 10)} (${when})`;
}

/** The domain's certificate, or null when it has none (404 for a domain of an app just read). */
async function certOrNull(ctx: OpsContext, host: string): Promise<CertView | null> {
  try {
    return await controlCalls.getCert(ctx.admin, ctx.app, host);
  } catch (err) {
    if (err instanceof ApiCallError && err.status === 404) return null;
    throw explain(err, `certificate of ${host}`, 'ROUTER_ADMIN_URL');
  }
}

function printCert(title: string, c: CertView): void {
  const rows: [string, string][] = [
    ['Subject', c.subject],
    ['SANs', c.sans.join(', ') || '-'],
    ['Issuer', c.issuer],
    ['Not before', c.not_before],
    ['Expires', expiry(c.not_after, Date.now())],
    ['Fingerprint', c.fingerprint_sha256],
  ];
  if (c.chain_length !== undefined) rows.push(['Chain', `${c.chain_length} certificate(s)`]);
  print(`=== ${title}\n` + rows.map(([k, v]) => `${(k + ':').padEnd(13)} ${v}`).join('\n'));
}

export async function certs(ctx: OpsContext): Promise<void> {
  const view = await viaControl(`app ${ctx.app}`, controlCalls.getApp(ctx.admin, ctx.app));
  const list: { host: string; certificate: CertView | null }[] = [];
  for (const host of view.domains) list.push({ host, certificate: await certOrNull(ctx, host) });
  if (ctx.json) return printJson(list);
  if (!list.length) return print(`${ctx.app} has no domains (add one: switchyard domains:add HOST -a ${ctx.app})`);
  const now = Date.now();
  print(
    table(
      ['DOMAIN', 'SUBJECT', 'SANS', 'EXPIRES', 'FINGERPRINT'],
      list.map(({ host, certificate: c }) =>
        c
          ? [host, c.subject, c.sans.join(',') || '-', expiry(c.not_after, now), c.fingerprint_sha256]
          : [host, '-', '-', '-', '-'],
      ),
    ),
  );
}

/** A PEM file, bounded: the router takes at most CERT_LIMITS.pemBytes of chain and key together. */
async function readPem(path: string): Promise<string> {
  try {
    const size = (await stat(path)).size;
    if (size > CERT_LIMITS.pemBytes)
      throw new OpsError(EXIT.usage, `${path} is ${size} bytes; the router takes at most ${CERT_LIMITS.pemBytes}`);
    return await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof OpsError) throw err;
    throw new OpsError(EXIT.usage, `cannot read ${path}: ${(err as { code?: string }).code ?? String(err)}`);
  }
}

/** What to do about each problem the router names (tls/certificate.ts), by its words. */
const HINTS: [RegExp, string][] = [
  [/does not match the certificate/, 'give the key the first certificate of CHAIN was made for'],
  [/does not cover/, 'use a certificate that names the domain, or pick the domain it names with --domain'],
  [/did not issue/, 'put the certificates in order: the domain certificate first, then each issuer'],
  [/expired|not valid before/, 'use a certificate valid now'],
  [/does not parse/, 'give PEM files (-----BEGIN CERTIFICATE-----, an unencrypted -----BEGIN PRIVATE KEY-----)'],
];

/** A 422's problems in the operator's terms: the files as given, and what to do. */
function refusal(message: string, chainPath: string, keyPath: string): string {
  const named = message.replaceAll('private_key', `the key ${keyPath}`).replaceAll('certificate_chain', chainPath);
  const hints = HINTS.filter(([re]) => re.test(message)).map(([, h]) => h.replace('CHAIN', chainPath));
  return named + (hints.length ? ` (${hints.join('; ')})` : '');
}

export async function addCert(ctx: OpsContext): Promise<void> {
  const [chainPath, keyPath] = ctx.positionals as [string, string];
  const host = domainOf(ctx);
  const pems = { certificate_chain: await readPem(chainPath), private_key: await readPem(keyPath) };
  const what = `setting the certificate of ${host} (${ctx.app})`;
  let c: CertView;
  try {
    c = await controlCalls.putCert(ctx.admin, ctx.app, host, pems);
  } catch (err) {
    if (err instanceof ApiCallError && err.status === 422)
      throw new OpsError(
        EXIT.refused,
        `the router refused the certificate: ${refusal(err.message, chainPath, keyPath)}`,
      );
    const e = explain(err, what, 'ROUTER_ADMIN_URL');
    if (e.exit === EXIT.notFound) e.message += ` (see switchyard domains -a ${ctx.app})`;
    throw e;
  }
  if (ctx.json) return printJson(c);
  printCert(`Certificate set for ${host} (${ctx.app})`, c);
}

export async function certInfo(ctx: OpsContext): Promise<void> {
  const host = domainOf(ctx);
  const c = await viaControl(`certificate of ${host} (${ctx.app})`, controlCalls.getCert(ctx.admin, ctx.app, host));
  if (ctx.json) return printJson(c);
  printCert(`${host} (${ctx.app})`, c);
}

export async function removeCert(ctx: OpsContext): Promise<void> {
  const host = domainOf(ctx);
  await viaControl(
    `removing the certificate of ${host} (${ctx.app})`,
    controlCalls.deleteCert(ctx.admin, ctx.app, host),
  );
  print(
    `Removed the certificate of ${host} from ${ctx.app} (new connections get a wildcard certificate of the app that covers it, else the router's default)`,
  );
}
