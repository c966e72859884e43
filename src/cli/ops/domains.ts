// `domains`, `domains:add HOST`, `domains:remove HOST`, `maintenance`, `maintenance:on|off`
// (design.md §Control API): the app's hostnames and its maintenance switch (H80).
import { controlCalls } from './calls';
import { print, printJson, viaControl, type OpsContext } from './context';

export async function domains(ctx: OpsContext): Promise<void> {
  const view = await viaControl(`app ${ctx.app}`, controlCalls.getApp(ctx.admin, ctx.app));
  if (ctx.json) return printJson(view.domains);
  print(view.domains.join('\n') || `${ctx.app} has no domains`);
}

export async function addDomain(ctx: OpsContext): Promise<void> {
  const host = ctx.positionals[0]!;
  const r = await viaControl(`adding ${host} to ${ctx.app}`, controlCalls.addDomain(ctx.admin, ctx.app, host));
  if (ctx.json) return printJson(r);
  print(`Added ${r.host} to ${ctx.app}`);
}

export async function removeDomain(ctx: OpsContext): Promise<void> {
  const host = ctx.positionals[0]!;
  await viaControl(`removing ${host} from ${ctx.app}`, controlCalls.removeDomain(ctx.admin, ctx.app, host));
  print(`Removed ${host} from ${ctx.app}`);
}

export async function maintenance(ctx: OpsContext): Promise<void> {
  const view = await viaControl(`app ${ctx.app}`, controlCalls.getApp(ctx.admin, ctx.app));
  if (ctx.json) return printJson({ app: view.name, maintenance: view.maintenance });
  print(view.maintenance ? 'on' : 'off');
}

/** GET first: PUT would create an app that does not exist. */
export function setMaintenance(on: boolean) {
  return async (ctx: OpsContext): Promise<void> => {
    await viaControl(`app ${ctx.app}`, controlCalls.getApp(ctx.admin, ctx.app));
    await viaControl(`maintenance for ${ctx.app}`, controlCalls.putApp(ctx.admin, ctx.app, { maintenance: on }));
    print(`Maintenance mode ${on ? 'on' : 'off'} for ${ctx.app}${on ? ' (requests get H80)' : ''}`);
  };
}
