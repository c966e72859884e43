// The peers Switchyard is measured against in the same run. Each spreads
// requests over the same backends in turn and reuses upstream connections, the fairest
// setup of each: node-http-proxy with a keep-alive Agent, a bare undici proxy (node:http
// server + one undici Pool per backend + `stream`, no features), and nginx when it is installed.
// A byte pipe (no HTTP at all) gives the ceiling of any proxy on Node's `net.Socket`: the same two
// reads and two writes per request a proxy pays, and nothing else.
// The Node peers run as a child: `node baseline.js http-proxy|undici|byte-pipe PORT,PORT...`.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createNetServer, connect, type AddressInfo, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import httpProxy from 'http-proxy';
import { Pool } from 'undici';
import { announce, pinned, startChild, type ServerChild } from './child';

export type NodePeer = 'http-proxy' | 'undici' | 'byte-pipe';

/** `profileDir`: run under `node --cpu-prof`, as Switchyard can, to compare where time goes. */
export function startNodePeer(
  kind: NodePeer,
  backends: readonly number[],
  cpu?: number,
  profileDir?: string,
): Promise<ServerChild> {
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  return startChild(kind, __filename, [kind, backends.join(',')], { cpu, nodeArgs });
}

const NGINX = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((p) => existsSync(p));

/**
 * nginx as a proxy, or why it was skipped: one process (`master_process off`, `worker_processes
 * 1`) on one core, or `workers` worker processes under a master. It writes an access log line
 * per request to a file (buffered, as our router line is batched), as Switchyard writes its line.
 */
export async function startNginx(
  backends: readonly number[],
  cpu?: number,
  workers = 1,
): Promise<ServerChild | { skipped: string }> {
  if (!NGINX) return { skipped: 'nginx not installed (apt-get install -y nginx to include it)' };
  const port = await freePort();
  // Upstream keepalive with HTTP/1.1 and an empty Connection header is how nginx reuses
  // upstream connections.
  return runNginx(
    'nginx',
    port,
    cpu,
    workers,
    (dir) => `  access_log ${dir}/access.log combined buffer=64k;
  upstream dynos {
${backends.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
    keepalive 256;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://dynos;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`,
  );
}

/** The bench's dynos as nginx answering 100 bytes on `count` ports: a backend that is never the bottleneck. */
export async function startNginxBackends(count: number, cpu?: number): Promise<ServerChild | { skipped: string }> {
  if (!NGINX) return { skipped: 'nginx not installed' };
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  const started = await runNginx(
    'nginx-backends',
    ports[0]!,
    cpu,
    1,
    () => `  access_log off;
  server {
${ports.map((p) => `    listen 127.0.0.1:${p};`).join('\n')}
    keepalive_requests 1000000;
    location / { default_type text/plain; return 200 "${'x'.repeat(100)}"; }
  }`,
  );
  return 'skipped' in started ? started : { ...started, ports };
}

async function runNginx(
  name: string,
  port: number,
  cpu: number | undefined,
  workers: number,
  http: (dir: string) => string,
): Promise<ServerChild | { skipped: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bench-nginx-'));
  // One worker: master_process off, one process serves (no setuid to a worker user that could not
  // read the temp dir). More: a master, and workers as the user running the bench.
  const processes =
    workers > 1
      ? `master_process on;\nworker_processes ${workers};\n${process.getuid?.() === 0 ? 'user root;\n' : ''}`
      : 'master_process off;\nworker_processes 1;\n';
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
${processes}pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${http(dir)}
}
`,
  );
  const [cmd, argv] = pinned(cpu, NGINX!, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')]);
  const child = spawn(cmd, argv, { stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGQUIT');
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    if (await canConnect(port)) return { name, ports: [port], pid: child.pid!, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  return { skipped: 'nginx did not start (see its error log)' };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

// RFC 9110 §7.6.1: connection-specific fields are not forwarded.
const HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

function endToEnd(h: IncomingHttpHeaders): IncomingHttpHeaders {
  const out = { ...h };
  for (const name of HOP) delete out[name];
  return out;
}

function httpProxyPeer(ports: readonly number[]): Server {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const proxy = httpProxy.createProxyServer({ agent });
  // node-http-proxy kills the process on an error without a listener.
  proxy.on('error', (_err, _req, res) => {
    if ('writeHead' in res && !res.headersSent) res.writeHead(502);
    res.end();
  });
  const targets = ports.map((port) => ({ host: '127.0.0.1', port, protocol: 'http:' }));
  let next = 0;
  return createServer((req, res) => proxy.web(req, res, { target: targets[next++ % targets.length]! }));
}

/** undici's `stream` API writes the answer straight into `res`: its fastest call for a proxy. */
function undiciPeer(ports: readonly number[]): Server {
  const pools = ports.map((port) => new Pool(`http://127.0.0.1:${port}`, { pipelining: 1 }));
  let next = 0;
  return createServer((req, res) => {
    const pool = pools[next++ % pools.length]!;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const opts = {
      path: req.url ?? '/',
      method: req.method as 'GET',
      headers: endToEnd(req.headers),
      body: hasBody ? req : null,
    };
    pool
      .stream(opts, ({ statusCode, headers }) => {
        res.writeHead(statusCode, endToEnd(headers as IncomingHttpHeaders));
        return res;
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
  });
}

/**
 * Each client connection spliced to its own backend connection, bytes relayed as they come: no
 * parsing, no headers, no pool. Not a proxy anyone should run; it shows what the sockets alone cost.
 */
function bytePipePeer(ports: readonly number[]): NetServer {
  let next = 0;
  return createNetServer((client) => {
    const backend = connect(ports[next++ % ports.length]!, '127.0.0.1');
    client.on('data', (d: Buffer) => backend.write(d));
    backend.on('data', (d: Buffer) => client.write(d));
    client.on('close', () => backend.destroy());
    backend.on('close', () => client.destroy());
    client.on('error', () => undefined);
    backend.on('error', () => undefined);
  });
}

async function main(argv: string[]): Promise<void> {
  const kind = argv[0] as NodePeer;
  const ports = (argv[1] ?? '').split(',').map(Number);
  if (kind === 'byte-pipe') {
    const pipe = bytePipePeer(ports);
    pipe.listen(0, '127.0.0.1', () => announce([(pipe.address() as AddressInfo).port]));
    return;
  }
  const server = kind === 'undici' ? undiciPeer(ports) : httpProxyPeer(ports);
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => announce([(server.address() as AddressInfo).port]));
}

if (require.main === module) void main(process.argv.slice(2));
