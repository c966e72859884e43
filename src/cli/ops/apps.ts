// `apps`, `apps:create`, `apps:info`, `apps:destroy` (design.md §Control API, §How the parts meet):
// apps by name through the control API; the app's log channel through Logplex.
import { controlCalls, logplexCalls, type AppDetail } from './calls';
import { EXIT, OpsError, print, printJson, viaControl, viaLogplex, type OpsContext } from './context';

export async function apps(ctx: OpsContext): Promise<void> {
  const { apps } = await viaControl('listing apps', controlCalls.listApps(ctx.admin));
  const names = [...apps].sort();
  if (ctx.json) return printJson(names);
  print(names.length ? names.join('\n') : 'no apps yet (create one: switchyard apps:create NAME)');
}

export async function create(ctx: OpsContext): Promise<void> {
  const name = ctx.positionals[0] ?? ctx.app;
  if (!name) throw new OpsError(EXIT.usage, 'missing NAME (switchyard apps:create NAME)');
  const view = await viaControl(`creating app ${name}`, controlCalls.putApp(ctx.admin, name));
  if (ctx.json) return printJson(view);
  print(`Created ${view.name}: ${view.domains.map((d) => `http://${d}/`).join(' ')}`);
  print(view.channel ? `Log channel ${view.channel}` : 'No log channel: the router runs without LOGPLEX_URL');
}

/** Drains of the app's channel, or [] when it has none or Logplex cannot say. */
async function drainCount(ctx: OpsContext, view: AppDetail): Promise<number | undefined> {
  if (!view.channel) return 0;
  try {
    return (await logplexCalls.listDrains(ctx.logplex, view.channel)).length;
  } catch {
    return undefined;
  }
}

export async function info(ctx: OpsContext): Promise<void> {
  const view = await viaControl(`app ${ctx.app}`, controlCalls.getApp(ctx.admin, ctx.app));
  const drains = await drainCount(ctx, view);
  if (ctx.json) return printJson({ ...view, drains: drains ?? null });
  const up = view.dynos.filter((d) => d.state === 'up' && d.lease_live).length;
  const rows: [string, string][] = [
    ['Domains', view.domains.join(', ') || '-'],
    ['Dynos', `${view.dynos.length} (${up} up)`],
    ['Maintenance', view.maintenance ? 'on' : 'off'],
    ['Balancer', view.balancer + (view.affinity ? ', session affinity' : '')],
    ['Log channel', view.channel ?? 'none'],
    ['Drains', drains === undefined ? 'unknown (Logplex did not answer)' : String(drains)],
  ];
  print(`=== ${view.name}\n` + rows.map(([k, v]) => `${(k + ':').padEnd(13)} ${v}`).join('\n'));
}

export async function destroy(ctx: OpsContext): Promise<void> {
  const confirm = ctx.values.get('confirm');
  if (confirm !== ctx.app)
    throw new OpsError(
      EXIT.usage,
      `this destroys ${ctx.app} with its domains, dynos and logs; to proceed, run switchyard apps:destroy -a ${ctx.app} --confirm ${ctx.app}`,
    );
  const view = await viaControl(`app ${ctx.app}`, controlCalls.getApp(ctx.admin, ctx.app));
  await viaControl(`destroying ${ctx.app}`, controlCalls.deleteApp(ctx.admin, ctx.app));
  if (view.channel) {
    // The channel goes too, with its history and drains; a Logplex that is away leaves it behind, said so.
    await viaLogplex(
      `deleting log channel ${view.channel} (the app is gone)`,
      logplexCalls.deleteChannel(ctx.logplex, view.channel),
    ).catch((err: OpsError) => {
      if (err.exit !== EXIT.notFound) throw err;
    });
  }
  print(`Destroyed ${ctx.app}`);
}
