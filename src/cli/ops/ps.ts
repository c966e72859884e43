// `ps -a APP`: the app's dynos as the router sees them (design.md §Control API): state, address,
// lease (the heartbeat keeps it; a lapsed lease is not routed), requests in flight on this node.
import { controlCalls } from './calls';
import { print, printJson, table, viaControl, type OpsContext } from './context';

function lease(expiresAt: string, now: number): string {
  const s = Math.round((Date.parse(expiresAt) - now) / 1000);
  return s >= 0 ? `${s}s left` : `lapsed ${-s}s ago`;
}

export async function ps(ctx: OpsContext): Promise<void> {
  const view = await viaControl(`app ${ctx.app}`, controlCalls.getApp(ctx.admin, ctx.app));
  const dynos = [...view.dynos].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  if (ctx.json) return printJson(dynos);
  if (!dynos.length) return print(`${ctx.app} has no dynos (start one: switchyard dyno -a ${ctx.app} -- CMD)`);
  const now = Date.now();
  print(
    table(
      ['DYNO', 'STATE', 'ADDRESS', 'LEASE', 'IN-FLIGHT'],
      dynos.map((d) => [d.name, d.state, `${d.host}:${d.port}`, lease(d.lease_expires_at, now), String(d.in_flight)]),
    ),
  );
}
