// `npm test` runs this first (package.json "pretest"): the suite needs Redis at REDIS_URL (default
// redis://127.0.0.1:6379), so without one it stops at once with one line saying how to start it,
// instead of skipping every Redis test and reporting green. Plain JS: it runs before the build.
'use strict';
const net = require('node:net');

const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
let host = '127.0.0.1';
let port = 6379;
try {
  const u = new URL(url);
  host = u.hostname.replace(/^\[|\]$/g, '') || host;
  port = Number(u.port) || port;
} catch {
  // An unparsable REDIS_URL is the fixture's business; probe the default.
}

const fail = (why) => {
  process.stderr.write(
    `npm test needs Redis at ${host}:${port} (${why}): start one with \`redis-server --daemonize yes\` (Debian: apt-get install -y redis-server), or point REDIS_URL at yours\n`,
  );
  process.exit(1);
};
const sock = net.connect({ host, port });
sock.setTimeout(2000, () => (sock.destroy(), fail('no answer within 2 s')));
sock.once('error', (err) => fail(err.code || err.message));
sock.once('connect', () => sock.write('PING\r\n'));
// +PONG, or -NOAUTH from a Redis that wants a password: either way one is there.
sock.once('data', (b) => (/^[+-]/.test(b.toString()) ? (sock.end(), process.exit(0)) : fail('not Redis')));
