// `drains`, `drains:add URL`, `drains:remove URL|ID` by app name (design.md §Drains, §Drain
// delivery): the control API names the app's channel, Logplex holds its drains and their status.
import { canonicalUrl, validateDrainUrl } from '../../logplex/drains/index';
import { controlCalls, logplexCalls, type DrainStatusView } from './calls';
import { EXIT, OpsError, print, printJson, table, viaControl, viaLogplex, type OpsContext } from './context';

async function channelOf(ctx: OpsContext): Promise<string> {
  const view = await viaControl(`app ${ctx.app}`, controlCalls.getApp(ctx.admin, ctx.app));
  if (!view.channel)
    throw new OpsError(
      EXIT.failed,
      `${ctx.app} has no log channel: its router runs without LOGPLEX_URL, or Logplex was away when the app was made (run switchyard apps:create ${ctx.app} again to retry)`,
    );
  return view.channel;
}

/** The URL as Logplex stores it (`SYSLOG://Host:1/` → `syslog://host:1`), or undefined when it is none. */
function canonical(raw: string): string | undefined {
  try {
    return canonicalUrl(validateDrainUrl(raw));
  } catch {
    return undefined;
  }
}

function ago(ms: number | null, now: number): string {
  return ms === null ? 'never' : `${Math.max(0, Math.round((now - ms) / 1000))}s ago`;
}

export async function drains(ctx: OpsContext): Promise<void> {
  const channel = await channelOf(ctx);
  const list = await viaLogplex(`drains of ${ctx.app}`, logplexCalls.listDrains(ctx.logplex, channel));
  const full: DrainStatusView[] = [];
  for (const d of list) full.push(await viaLogplex(`drain ${d.id}`, logplexCalls.getDrain(ctx.logplex, channel, d.id)));
  if (ctx.json) return printJson(full);
  if (!full.length) return print(`${ctx.app} has no drains (add one: switchyard drains:add URL -a ${ctx.app})`);
  const now = Date.now();
  print(
    table(
      ['URL', 'ID', 'TOKEN', 'DELIVERED', 'BACKLOG', 'LOST', 'LAST SUCCESS', 'LAST ERROR'],
      full.map((d) => [
        d.url,
        String(d.id),
        d.token,
        String(d.status.delivered),
        String(d.status.backlog),
        String(d.status.lost + d.status.dropped),
        ago(d.status.last_success_at, now),
        d.status.last_error ?? '-',
      ]),
    ),
  );
}

export async function addDrain(ctx: OpsContext): Promise<void> {
  const url = ctx.positionals[0]!;
  const channel = await channelOf(ctx);
  const d = await viaLogplex(`adding drain ${url}`, logplexCalls.addDrain(ctx.logplex, channel, url));
  if (ctx.json) return printJson(d);
  print(`Added drain ${d.url} to ${ctx.app} (id ${d.id}, token ${d.token})`);
  // The signing secret is shown once, at creation (design.md §Drains): the receiver needs it to verify.
  const secret = (d as { secret?: unknown }).secret;
  if (typeof secret === 'string') print(`Signing secret (shown once): ${secret}`);
}

export async function removeDrain(ctx: OpsContext): Promise<void> {
  const which = ctx.positionals[0]!;
  const channel = await channelOf(ctx);
  const list = await viaLogplex(`drains of ${ctx.app}`, logplexCalls.listDrains(ctx.logplex, channel));
  const d = list.find(
    (x) => x.url === which || x.url === canonical(which) || String(x.id) === which || x.token === which,
  );
  if (!d) throw new OpsError(EXIT.notFound, `${ctx.app} has no drain ${which} (see switchyard drains -a ${ctx.app})`);
  await viaLogplex(`removing drain ${d.url}`, logplexCalls.removeDrain(ctx.logplex, channel, d.id));
  print(`Removed drain ${d.url} from ${ctx.app}`);
}
