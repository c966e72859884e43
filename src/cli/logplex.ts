// `switchyard logplex`: not built yet (see the issues).
export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('switchyard logplex: not implemented yet\n');
  return 1;
}
