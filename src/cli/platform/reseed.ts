// `switchyard router --reseed` and `switchyard logplex --reseed` (design.md §Route table, §Scale-out):
// start nothing, ask the running node to write what it knows back into a store that came back
// empty, and print its answer; exit 1 when it refused or could not be reached.
import { request } from 'undici';

export async function askReseed(command: 'router' | 'logplex', url: string, token: string): Promise<number> {
  try {
    const res = await request(url, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    const text = await res.body.text();
    if (res.statusCode === 200) {
      process.stdout.write(`reseeded from the ${command} node at ${url}: ${text}\n`);
      return 0;
    }
    process.stderr.write(`switchyard ${command} --reseed: ${url} answered ${res.statusCode}: ${text}\n`);
    return 1;
  } catch (err) {
    process.stderr.write(`switchyard ${command} --reseed: cannot reach ${url}: ${(err as Error).message}\n`);
    return 1;
  }
}
