// Reads a `node --cpu-prof` profile (bench:router -- --profile DIR writes one per
// Switchyard child) and prints where the time went: the top functions by self time and
// by inclusive time, as % of all samples, with file:line, so a slow step has a name.
//
//   node build/bench/profile-summary.js DIR/CPU.*.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { argValue } from './lib/report';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
}

function label(n: ProfileNode): string {
  const f = n.callFrame;
  const file = f.url.replace(/^file:\/\//, '').replace(/^.*\/(build|node_modules)\//, '$1/');
  return `${(f.functionName || '(anonymous)').slice(0, 80)} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
}

/** Where a function lives: our code per directory, a package, Node's core, or the VM itself. */
function moduleOf(n: ProfileNode): string {
  const url = n.callFrame.url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return `package ${pkg[1]}`;
  const ours = /\/build\/(src\/[^/]+(?:\/[^/.]+)?)\//.exec(url) ?? /\/build\/(src\/[^/]+|bench)\//.exec(url);
  if (ours) return ours[1]!;
  if (url.startsWith('node:')) return 'node core (JS)';
  return 'native: syscalls, V8, GC, regexps';
}

export function summarise(profile: Profile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const total = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0) || 1;
  const self = new Map<string, number>();
  const byModule = new Map<string, number>();
  let idle = 0;
  const inclusive = new Map<string, number>();
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    self.set(label(n), (self.get(label(n)) ?? 0) + hits);
    if (n.callFrame.functionName === '(idle)') idle += hits;
    else byModule.set(moduleOf(n), (byModule.get(moduleOf(n)) ?? 0) + hits);
    // Each sample counts once for every distinct function on its stack (recursion counted once).
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const l = label(byId.get(id)!);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + hits);
    }
  }
  const table = (m: Map<string, number>): string =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([l, h]) => `${((100 * h) / total).toFixed(1).padStart(6)}%  ${l}`)
      .join('\n');
  const busy = total - idle || 1;
  const modules = [...byModule]
    .sort((a, b) => b[1] - a[1])
    .map(([m, h]) => `${((100 * h) / busy).toFixed(1).padStart(6)}%  ${m}`)
    .join('\n');
  return (
    `samples: ${total}, idle ${((100 * idle) / total).toFixed(1)}%\n\nself time of the busy samples by module:\n${modules}\n\n` +
    `self time:\n${table(self)}\n\ninclusive time:\n${table(inclusive)}\n`
  );
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: profile-summary FILE.cpuprofile [--top N]');
    process.exit(2);
  }
  const top = Number(argValue(process.argv, '--top') ?? 25);
  process.stdout.write(summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, top));
}
