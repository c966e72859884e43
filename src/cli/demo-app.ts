// The sample app `switchyard dev --demo` runs as `hello` (two dynos under `switchyard dyno`):
// answers every request with a greeting naming its dyno and writes one line per request to
// stdout, which the dyno agent ships as an `app[web.N]` line. Listens on $PORT, like any dyno.
import { createServer } from 'node:http';

const port = Number(process.env.PORT);
const dyno = process.env.DYNO ?? 'web.?';
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write(`demo-app: PORT must be a TCP port, not ${JSON.stringify(process.env.PORT)}\n`);
  process.exit(2);
}

const server = createServer((req, res) => {
  const started = process.hrtime.bigint();
  const body = `Hello from ${dyno}! You asked for ${req.url ?? '/'}\n`;
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
  res.once('finish', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const id = String(req.headers['x-request-id'] ?? '-');
    process.stdout.write(`${req.method} ${req.url} ${res.statusCode} ${ms.toFixed(1)}ms request_id=${id}\n`);
  });
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`demo app listening on ${port}\n`));
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
