// TLS and HTTP/2 from clients: Switchyard's TLS listener against nginx (TLS + h2, one worker),
// each on cpu 0, the backends and h2load on cpu 1, in the same run. Two figures per peer:
//   h2 req/s     h2load -c 4 -m 100 (100 streams per connection), same certificate type
//   handshakes/s h2load -c N -n N (every request on a new TLS connection: a full handshake)
// Usage: node build/bench/router-tls.js [--seconds-free N]   (run it alone on the machine: flock a lock file)
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackends } from './lib/backend';
import { pinSelf, type ServerChild } from './lib/child';
import { startChild, announce } from './lib/child';
import { selfSigned } from '../src/router/tls/self-signed';

const PROXY_CPU = 0;
const LOAD_CPU = 1;
const HOST = 'app.bench.localhost';
const H2_REQUESTS = 100_000;
const HANDSHAKES = 3_000;

interface Figures {
  h2ReqPerSec: number;
  handshakesPerSec: number;
}

function h2load(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('taskset', ['-c', String(LOAD_CPU), 'h2load', ...args], { maxBuffer: 1 << 24 }, (err, out) =>
      err ? reject(err as Error) : resolve(out),
    ),
  );
}

const reqPerSec = (out: string): number => Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);

async function measure(port: number): Promise<Figures> {
  const url = `https://127.0.0.1:${port}/`;
  const authority = ['-H', `:authority: ${HOST}`];
  const warm = await h2load(['-n', '20000', '-c', '4', '-m', '100', ...authority, url]);
  process.stderr.write(`warm-up: ${/requests: .*/.exec(warm)?.[0] ?? warm}\n`);
  const h2 = await h2load(['-n', String(H2_REQUESTS), '-c', '4', '-m', '100', ...authority, url]);
  const hs = await h2load(['-n', String(HANDSHAKES), '-c', String(HANDSHAKES), '-m', '1', ...authority, url]);
  const failed = /(\d+) failed/.exec(h2)?.[1];
  if (failed !== '0') throw new Error(`h2load reported failures:\n${h2}`);
  return { h2ReqPerSec: reqPerSec(h2), handshakesPerSec: reqPerSec(hs) };
}

async function startNginxTls(backends: readonly number[], pem: { cert: string; key: string }): Promise<ServerChild> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bench-nginx-tls-'));
  writeFileSync(join(dir, 'cert.pem'), pem.cert);
  writeFileSync(join(dir, 'key.pem'), pem.key);
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream dynos {
${backends.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
    keepalive 256;
  }
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    http2_max_concurrent_streams 100;
    # nginx closes a connection after keepalive_requests (default 1000), HTTP/2 ones too; h2load does not reconnect.
    keepalive_requests 10000000;
    location / {
      proxy_pass http://dynos;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  const child = spawn('taskset', ['-c', String(PROXY_CPU), 'nginx', '-p', dir, '-c', join(dir, 'nginx.conf')], {
    stdio: 'ignore',
  });
  await new Promise((r) => setTimeout(r, 500));
  return {
    name: 'nginx',
    ports: [port],
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGQUIT');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3]!.split(',').map(Number));
  await pinSelf(LOAD_CPU);
  const backends = await startBackends({ count: 4, cpu: LOAD_CPU });
  const pem = selfSigned({ commonName: HOST, dnsNames: [HOST] });
  const results: [string, Figures][] = [];
  try {
    const sy = await startChild('switchyard-tls', __filename, ['--child', backends.ports.join(',')], {
      cpu: PROXY_CPU,
    });
    try {
      results.push(['switchyard', await measure(sy.ports[0]!)]);
    } finally {
      await sy.stop();
    }
    const nginx = await startNginxTls(backends.ports, pem);
    try {
      results.push(['nginx', await measure(nginx.ports[0]!)]);
    } finally {
      await nginx.stop();
    }
  } finally {
    await backends.stop();
  }
  const ng = results.find(([n]) => n === 'nginx')![1];
  process.stdout.write('| server | h2 req/s (4 conns × 100 streams) | new TLS handshakes/s |\n|---|---:|---:|\n');
  for (const [name, f] of results) {
    const ratio = (a: number, b: number) => (name === 'nginx' ? '' : ` (${(a / b).toFixed(2)}× nginx)`);
    process.stdout.write(
      `| ${name} | ${Math.round(f.h2ReqPerSec)}${ratio(f.h2ReqPerSec, ng.h2ReqPerSec)} | ${Math.round(f.handshakesPerSec)}${ratio(f.handshakesPerSec, ng.handshakesPerSec)} |\n`,
    );
  }
}

/** The child: one router node on the memory store, TLS on an ephemeral port, one app on the backends. */
async function child(ports: number[]): Promise<void> {
  const { startRouter } = await import('../src/router/index');
  const { MemoryRouteStore } = await import('../src/router/store/memory');
  const { loadConfig } = await import('../src/shared/config');
  const { silentLogger } = await import('../src/shared/log');
  const store = new MemoryRouteStore();
  await store.putApp('app', {});
  await store.attachDomain('app', HOST);
  for (const [i, port] of ports.entries())
    await store.putDyno('app', `web.${i + 1}`, { host: '127.0.0.1', port, ttl_s: 3600, state: 'up' });
  const node = await startRouter({
    config: loadConfig({ ROUTER_PORT: '0', ROUTER_ADMIN_PORT: '0', ROUTER_TLS_PORT: '0' }),
    store,
    host: '127.0.0.1',
    apiToken: undefined,
    log: silentLogger,
    writeLine: () => undefined,
    tlsPort: 0,
  });
  announce([node.tls!.port], () => void node.close().then(() => process.exit(0)));
}

void main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
