// The control API (DESIGN §3): every route, its errors, auth, and garbage bodies answered
// 4xx while the node keeps serving. Memory store here; the Redis store passes the same contract.
import net from 'node:net';
import t, { type Test } from 'tap';
import { WebSocket } from 'ws';
import { startDyno } from '../fixtures/dyno';
import { eventually, startTestRouter, TEST_TOKEN, type TestRouter, type TestRouterOptions } from '../fixtures/router';

async function node(t: Test, opts: TestRouterOptions = {}): Promise<TestRouter> {
  const r = await startTestRouter(t, opts);
  if (!r) throw new Error('router did not start');
  return r;
}

t.test('apps: create with default domain, update, get, list, delete', async (t) => {
  const r = await node(t);
  const created = await r.api('PUT', '/v1/apps/hello', {});
  t.equal(created.status, 201);
  t.match(created.body, {
    name: 'hello',
    maintenance: false,
    balancer: 'p2c',
    affinity: false,
    domains: ['hello.localhost'],
    dynos: [],
  });
  const updated = await r.api('PUT', '/v1/apps/hello', { maintenance: true, balancer: 'random', affinity: true });
  t.equal(updated.status, 200);
  t.match(updated.body, { maintenance: true, balancer: 'random', affinity: true, domains: ['hello.localhost'] });
  await r.api('PUT', '/v1/apps/world', {});
  t.same((await r.api('GET', '/v1/apps')).body, { apps: ['hello', 'world'] });
  const got = await r.api('GET', '/v1/apps/hello');
  t.equal(got.status, 200);
  t.equal(got.body.balancer, 'random');
  const del = await r.api('DELETE', '/v1/apps/hello');
  t.equal(del.status, 204);
  t.match(await r.api('GET', '/v1/apps/hello'), { status: 404, body: { id: 'not_found' } });
  t.match(await r.api('DELETE', '/v1/apps/hello'), { status: 404, body: { id: 'not_found' } });
  t.same((await r.api('GET', '/v1/apps')).body, { apps: ['world'] });
});

t.test(
  'the onAppCreated hook gives a new app its channel; a failed hook is an error and is retried by the next PUT',
  async (t) => {
    let fail = true;
    const calls: string[] = [];
    const r = await node(t, {
      onAppCreated: async (app: string) => {
        calls.push(app);
        if (fail) throw Object.assign(new Error('logplex away'), { code: 'ECONNREFUSED' });
        return { channel: '7', router_token: 't.router' };
      },
    });
    const first = await r.api('PUT', '/v1/apps/hello', {});
    t.equal(first.status, 503, 'a missing channel is an error, not "channel": null');
    t.match(first.body, {
      id: 'unavailable',
      message: /hello exists, but its Logplex channel could not be made \(logplex away\)/,
    });
    t.equal((await r.api('GET', '/v1/apps/hello')).status, 200, 'the app itself was created');
    fail = false;
    const second = await r.api('PUT', '/v1/apps/hello', {});
    t.equal(second.status, 200);
    t.equal(second.body.channel, '7');
    t.equal((await r.store.loadApp('hello'))!.routerToken, 't.router', 'the router token is stored on the app');
    await r.api('PUT', '/v1/apps/hello', { affinity: true });
    t.same(calls, ['hello', 'hello'], 'not called again once the app has a channel');
  },
);

t.test('ROUTER_DOMAIN names the default domain', async (t) => {
  const r = await node(t, { config: { ROUTER_DOMAIN: 'apps.example.net' } });
  t.same((await r.api('PUT', '/v1/apps/hello', {})).body.domains, ['hello.apps.example.net']);
});

t.test('domains: attach, 409 when another app has it, detach, 404s', async (t) => {
  const r = await node(t);
  await r.api('PUT', '/v1/apps/alpha', {});
  await r.api('PUT', '/v1/apps/bravo', {});
  t.match(await r.api('PUT', '/v1/apps/alpha/domains/WWW.Example.com'), {
    status: 201,
    body: { app: 'alpha', host: 'www.example.com' },
  });
  t.equal((await r.api('PUT', '/v1/apps/alpha/domains/www.example.com')).status, 200, 'attaching again is idempotent');
  const taken = await r.api('PUT', '/v1/apps/bravo/domains/www.example.com');
  t.match(taken, { status: 409, body: { id: 'conflict', message: /alpha/ } });
  t.match(
    await r.api('PUT', '/v1/apps/bravo/domains/alpha.localhost'),
    { status: 409 },
    'default domains are owned too',
  );
  t.equal((await r.api('PUT', '/v1/apps/bravo/domains/*.example.com')).status, 201, 'wildcards attach');
  t.same((await r.api('GET', '/v1/apps/alpha')).body.domains, ['alpha.localhost', 'www.example.com']);
  t.equal((await r.api('DELETE', '/v1/apps/alpha/domains/www.example.com')).status, 204);
  t.match(await r.api('DELETE', '/v1/apps/alpha/domains/www.example.com'), { status: 404, body: { id: 'not_found' } });
  t.match(await r.api('PUT', '/v1/apps/nosuch/domains/x.example.com'), { status: 404, body: { id: 'not_found' } });
  t.equal((await r.api('PUT', '/v1/apps/bravo/domains/www.example.com')).status, 201, 'free after detach');
});

t.test('an app whose default domain is taken is refused with 409 and not created', async (t) => {
  const r = await node(t);
  await r.api('PUT', '/v1/apps/squatter', {});
  await r.api('PUT', '/v1/apps/squatter/domains/victim.localhost');
  t.match(await r.api('PUT', '/v1/apps/victim', {}), { status: 409, body: { id: 'conflict' } });
  t.equal((await r.api('GET', '/v1/apps/victim')).status, 404);
});

t.test('dynos: register with defaults, heartbeat, deregister; routes follow', async (t) => {
  const r = await node(t);
  await r.api('PUT', '/v1/apps/hello', {});
  const reg = await r.api('PUT', '/v1/apps/hello/dynos/web.1', { host: '127.0.0.1', port: 5001 });
  t.equal(reg.status, 201);
  t.match(reg.body, { app: 'hello', dyno: 'web.1', host: '127.0.0.1', port: 5001, ttl_s: 30, state: 'up' });
  const lease = Date.parse(reg.body.lease_expires_at);
  t.ok(lease > Date.now() + 25_000 && lease <= Date.now() + 30_000, 'lease_expires_at is ttl_s ahead');
  const hb = await r.api('PUT', '/v1/apps/hello/dynos/web.1', {
    host: '127.0.0.1',
    port: 5001,
    ttl_s: 3600,
    state: 'up',
  });
  t.equal(hb.status, 200);
  t.ok(Date.parse(hb.body.lease_expires_at) > lease);
  await r.api('PUT', '/v1/apps/hello/dynos/web.2', { host: 'localhost', port: 5002, state: 'starting' });
  const app = await r.api('GET', '/v1/apps/hello');
  t.match(app.body.dynos, [
    { name: 'web.1', host: '127.0.0.1', port: 5001, state: 'up', lease_live: true, in_flight: 0 },
    { name: 'web.2', host: 'localhost', port: 5002, state: 'starting', lease_live: true, in_flight: 0 },
  ]);
  await eventually(async () => (await r.api('GET', '/v1/routes/hello.localhost')).body.routable?.length === 1);
  const route = await r.api('GET', '/v1/routes/Hello.LocalHost.:8080');
  t.same(route.body, {
    host: 'hello.localhost',
    app: 'hello',
    routable: [{ dyno: 'web.1', host: '127.0.0.1', port: 5001, in_flight: 0 }],
  });
  t.equal((await r.api('DELETE', '/v1/apps/hello/dynos/web.1')).status, 204);
  t.match(await r.api('DELETE', '/v1/apps/hello/dynos/web.1'), { status: 404, body: { id: 'not_found' } });
  t.match(await r.api('PUT', '/v1/apps/nosuch/dynos/web.1', { host: '127.0.0.1', port: 1 }), { status: 404 });
  await eventually(async () => (await r.api('GET', '/v1/routes/hello.localhost')).body.code === 'H14');
});

t.test('routes: H11 counts open WebSockets, as the data plane does', async (t) => {
  const d = await startDyno(t);
  const r = await node(t, { config: { ROUTER_APP_MAX_INFLIGHT: '1' } });
  await r.api('PUT', '/v1/apps/piped', {});
  await r.api('PUT', '/v1/apps/piped/dynos/web.1', { host: '127.0.0.1', port: d.port });
  const code = async (): Promise<string | undefined> => (await r.api('GET', '/v1/routes/piped.localhost')).body.code;
  await eventually(async () => (await code()) === undefined, 2000, 'routable → no code');
  const ws = new WebSocket(`ws://127.0.0.1:${r.node.port}/`, { headers: { host: 'piped.localhost' } });
  ws.on('error', () => undefined);
  await new Promise((resolve, reject) =>
    ws.once('open', resolve).once('unexpected-response', () => reject(new Error('not upgraded'))),
  );
  t.equal(await code(), 'H11', 'one open pipe fills a cap of 1, though no request is in flight at the dyno');
  ws.close();
  await eventually(async () => (await code()) === undefined, 2000, 'the closed pipe gave its slot back');
});

t.test('routes: the H code this node would answer with, from its own table', async (t) => {
  const inFlight = new Map<string, number>();
  const r = await node(t, {
    inspector: { inFlight: (app: string, dyno: string) => inFlight.get(`${app}/${dyno}`) ?? 0 },
    config: { ROUTER_APP_MAX_INFLIGHT: '2' },
  });
  t.match(await r.api('GET', '/v1/routes/nosuch.localhost'), { status: 404, body: { id: 'not_found' } });
  t.match(await r.api('GET', '/v1/routes/bad_host!'), { status: 400, body: { id: 'invalid_params' } });
  await r.api('PUT', '/v1/apps/coded', {});
  const code = async (): Promise<string | undefined> => (await r.api('GET', '/v1/routes/coded.localhost')).body.code;
  await eventually(async () => (await code()) === 'H14', 2000, 'no dynos → H14');
  await r.api('PUT', '/v1/apps/coded/dynos/web.1', { host: '127.0.0.1', port: 5001, state: 'crashed' });
  await eventually(async () => (await code()) === 'H10', 2000, 'all crashed → H10');
  await r.api('PUT', '/v1/apps/coded/dynos/web.1', { host: '127.0.0.1', port: 5001 });
  await eventually(async () => (await code()) === undefined, 2000, 'routable → no code');
  inFlight.set('coded/web.1', 2);
  const busy = await r.api('GET', '/v1/routes/coded.localhost');
  t.equal(busy.body.code, 'H11', 'in flight at the cap → H11');
  t.equal(busy.body.routable[0].in_flight, 2);
  inFlight.clear();
  await r.api('PUT', '/v1/apps/coded', { maintenance: true });
  await eventually(async () => (await code()) === 'H80', 2000, 'maintenance → H80');
  await r.api('PUT', '/v1/apps/wild', {});
  await r.api('PUT', '/v1/apps/wild/domains/*.wild.example.com');
  await eventually(
    async () => (await r.api('GET', '/v1/routes/a.wild.example.com')).body.app === 'wild',
    2000,
    'wildcard route',
  );
});

t.test('auth: missing or wrong token is 401 before anything is read; ops endpoints are open', async (t) => {
  const r = await node(t);
  for (const authorization of [
    '',
    'Bearer wrong-token-wrong-token',
    `Basic ${Buffer.from(`x:nope`).toString('base64')}`,
  ]) {
    const res = await r.api('PUT', '/v1/apps/hello', {}, { authorization });
    t.match(res, { status: 401, body: { id: 'unauthorized' } }, `authorization=${JSON.stringify(authorization)}`);
  }
  t.equal((await r.api('GET', '/v1/apps/hello', undefined, { authorization: `Bearer ${TEST_TOKEN}x` })).status, 401);
  t.equal((await r.api('GET', '/v1/apps')).status, 200);
  t.equal((await r.api('GET', '/healthz', undefined, { authorization: '' })).status, 200);
  t.equal((await r.api('GET', '/readyz', undefined, { authorization: '' })).status, 200);
  const metrics = await r.api('GET', '/metrics', undefined, { authorization: '' });
  t.match(metrics.body, /switchyard_router_route_table_stale_seconds/);
  t.match(metrics.body, /switchyard_router_admin_requests_total\{route="\/v1\/apps",method="GET",status="200"/);
  t.equal((await r.api('GET', '/v1/apps/hello')).status, 404, 'the refused PUT created nothing');
});

t.test('no token configured (dev): requests need no Authorization', async (t) => {
  const r = await node(t, { token: null });
  t.equal((await r.api('PUT', '/v1/apps/hello', {})).status, 201);
});

// Every bad input is a 400 invalid_params naming the field or the rule.
const invalid: [string, string, string, unknown, RegExp][] = [
  ['app name too short', 'PUT', '/v1/apps/ab', {}, /app name/],
  ['app name upper case', 'PUT', '/v1/apps/Hello', {}, /app name/],
  ['app name starts with digit', 'PUT', '/v1/apps/1app', {}, /app name/],
  ['app name too long', 'PUT', `/v1/apps/${'a'.repeat(31)}`, {}, /app name/],
  ['maintenance not boolean', 'PUT', '/v1/apps/hello', { maintenance: 1 }, /maintenance/],
  ['affinity a string', 'PUT', '/v1/apps/hello', { affinity: 'yes' }, /affinity/],
  [
    'unknown balancer',
    'PUT',
    '/v1/apps/hello',
    { balancer: 'least-conn' },
    /balancer must be one of p2c, round-robin, random/,
  ],
  ['unknown app field', 'PUT', '/v1/apps/hello', { name: 'x' }, /unknown field "name"/],
  ['body an array', 'PUT', '/v1/apps/hello', [1], /JSON object/],
  ['truncated JSON', 'PUT', '/v1/apps/hello', '{"maintenance": tr', /not valid JSON/],
  ['dyno name without number', 'PUT', '/v1/apps/hello/dynos/web', { host: '127.0.0.1', port: 1 }, /dyno name/],
  ['dyno name upper case', 'PUT', '/v1/apps/hello/dynos/Web.1', { host: '127.0.0.1', port: 1 }, /dyno name/],
  ['dyno without host', 'PUT', '/v1/apps/hello/dynos/web.1', { port: 5000 }, /host is required/],
  ['dyno host not a hostname', 'PUT', '/v1/apps/hello/dynos/web.1', { host: 'bad host', port: 5000 }, /host/],
  ['dyno host wildcard', 'PUT', '/v1/apps/hello/dynos/web.1', { host: '*.example.com', port: 5000 }, /host/],
  ['port missing', 'PUT', '/v1/apps/hello/dynos/web.1', { host: '127.0.0.1' }, /port is required/],
  [
    'port 0',
    'PUT',
    '/v1/apps/hello/dynos/web.1',
    { host: '127.0.0.1', port: 0 },
    /port must be an integer from 1 to 65535/,
  ],
  ['port 65536', 'PUT', '/v1/apps/hello/dynos/web.1', { host: '127.0.0.1', port: 65536 }, /port/],
  ['port a string', 'PUT', '/v1/apps/hello/dynos/web.1', { host: '127.0.0.1', port: '5000' }, /port/],
  ['port fractional', 'PUT', '/v1/apps/hello/dynos/web.1', { host: '127.0.0.1', port: 50.5 }, /port/],
  [
    'ttl_s 0',
    'PUT',
    '/v1/apps/hello/dynos/web.1',
    { host: '127.0.0.1', port: 1, ttl_s: 0 },
    /ttl_s must be an integer from 1 to 3600/,
  ],
  ['ttl_s 3601', 'PUT', '/v1/apps/hello/dynos/web.1', { host: '127.0.0.1', port: 1, ttl_s: 3601 }, /ttl_s/],
  ['ttl_s null', 'PUT', '/v1/apps/hello/dynos/web.1', { host: '127.0.0.1', port: 1, ttl_s: null }, /ttl_s/],
  [
    'unknown state',
    'PUT',
    '/v1/apps/hello/dynos/web.1',
    { host: '127.0.0.1', port: 1, state: 'down' },
    /state must be one of up, starting, crashed/,
  ],
  [
    'unknown dyno field',
    'PUT',
    '/v1/apps/hello/dynos/web.1',
    { host: '127.0.0.1', port: 1, weight: 2 },
    /unknown field "weight"/,
  ],
  ['domain with underscore', 'PUT', '/v1/apps/hello/domains/bad_host.example.com', undefined, /RFC 1123/],
  ['domain label too long', 'PUT', `/v1/apps/hello/domains/${'a'.repeat(64)}.example.com`, undefined, /RFC 1123/],
  ['domain label ends with hyphen', 'PUT', '/v1/apps/hello/domains/bad-.example.com', undefined, /RFC 1123/],
  ['wildcard too broad', 'PUT', '/v1/apps/hello/domains/*.com', undefined, /RFC 1123/],
  ['wildcard in the middle', 'PUT', '/v1/apps/hello/domains/a.*.example.com', undefined, /RFC 1123/],
  ['domain with a body', 'PUT', '/v1/apps/hello/domains/ok.example.com', { force: true }, /unknown field "force"/],
];
t.test('validation: each bad input is 400 invalid_params naming the field', async (t) => {
  const r = await node(t);
  await r.api('PUT', '/v1/apps/hello', {});
  for (const [name, method, path, body, message] of invalid) {
    const res = await r.api(method, path, body);
    t.match(res, { status: 400, body: { id: 'invalid_params', message } }, name);
  }
  t.same((await r.api('GET', '/v1/apps')).body, { apps: ['hello'] }, 'nothing was created by a refused request');
});

t.test('unknown routes are 404 and wrong methods 405, as JSON errors', async (t) => {
  const r = await node(t);
  t.match(await r.api('GET', '/v2/apps'), { status: 404, body: { id: 'not_found' } });
  t.match(await r.api('POST', '/v1/apps/hello'), { status: 405, body: { id: 'method_not_allowed' } });
});

t.test('garbage bodies: a 3 MB body is 413 unread, chunked too; the node keeps serving', async (t) => {
  const r = await node(t);
  const big = Buffer.alloc(3 * 1024 * 1024, 'a');
  const declared = await rawRequest(
    r.node.adminPort,
    `PUT /v1/apps/hello HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TEST_TOKEN}\r\ncontent-type: application/json\r\ncontent-length: ${big.length}\r\n\r\n`,
    big,
  );
  t.match(declared, /^HTTP\/1\.1 413 /, 'declared length over 64 KiB');
  t.match(declared, /"id":"payload_too_large"/);
  const chunked = await rawRequest(
    r.node.adminPort,
    `PUT /v1/apps/hello HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TEST_TOKEN}\r\ntransfer-encoding: chunked\r\n\r\n`,
    Buffer.concat([Buffer.from(`${(100_000).toString(16)}\r\n`), Buffer.alloc(100_000, 'b'), Buffer.from('\r\n')]),
  );
  t.match(chunked, /^HTTP\/1\.1 413 /, 'chunked body past 64 KiB');
  t.match(await rawRequest(r.node.adminPort, 'GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400 /, 'a malformed request line');
  t.equal((await r.api('PUT', '/v1/apps/hello', {})).status, 201, 'still serving');
  t.equal((await r.api('GET', '/healthz')).status, 200);
});

/** Writes raw bytes and returns whatever the server answers before closing (or after 2 s). */
function rawRequest(port: number, head: string, body?: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, 2000);
    socket.on('data', (d) => {
      out += d.toString('latin1');
      if (/\r\n\r\n/.test(out) && /content-length: (\d+)/i.test(out)) {
        const len = Number(/content-length: (\d+)/i.exec(out)![1]);
        if (Buffer.byteLength(out.slice(out.indexOf('\r\n\r\n') + 4)) >= len) done();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', done);
    socket.write(head);
    if (body) socket.write(body, () => undefined);
  });
}
