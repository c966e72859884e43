import t from 'tap';
import { ConfigError, flagsToEnv, loadConfig } from '../../src/shared/config';
import { parseRedisUrl, type RedisTarget } from '../../src/shared/redis-url';

t.test('defaults match DESIGN §1', async (t) => {
  const c = loadConfig({});
  t.equal(c.SWITCHYARD_PREFIX, 'sy:');
  t.equal(c.ROUTER_PORT, 8080);
  t.equal(c.ROUTER_ADMIN_PORT, 8081);
  t.equal(c.ROUTER_DOMAIN, 'localhost');
  t.equal(c.LOGPLEX_PORT, 8601);
  t.equal(c.LOGPLEX_SYSLOG_PORT, 5140);
  t.equal(c.ROUTER_CONNECT_TIMEOUT_MS, 5000);
  t.equal(c.ROUTER_RESPONSE_TIMEOUT_MS, 30000);
  t.equal(c.ROUTER_IDLE_TIMEOUT_MS, 55000);
  t.equal(c.ROUTER_WORKERS, 1);
  t.equal(c.ROUTER_APP_MAX_INFLIGHT, 200);
  t.equal(c.LOGPLEX_HISTORY_LINES, 1500);
  t.equal(c.REDIS_URL, undefined);
  t.ok(Object.isFrozen(c));
});

// Each bad value names the variable, the value and what is allowed, in one line.
const bad: [string, string, RegExp][] = [
  ['ROUTER_PORT', 'abc', /^ROUTER_PORT="abc" is invalid: expected an integer from 0 to 65535$/],
  ['ROUTER_PORT', '70000', /ROUTER_PORT="70000".*0 to 65535/],
  ['ROUTER_PORT', '8080.5', /ROUTER_PORT="8080.5"/],
  ['ROUTER_WORKERS', '0', /ROUTER_WORKERS="0".*1 to 64/],
  ['ROUTER_CONNECT_TIMEOUT_MS', '-1', /ROUTER_CONNECT_TIMEOUT_MS="-1"/],
  ['REDIS_URL', 'not a url', /REDIS_URL="not a url".*URL/],
  ['REDIS_URL', 'http://127.0.0.1:6379', /REDIS_URL=.*scheme redis, rediss, redis-sentinel/],
  ['REDIS_URL', 'redis://a:1,b:2', /REDIS_URL=.*one host for redis:/],
  ['REDIS_URL', 'redis-sentinel://a:26379,b:26379', /REDIS_URL=.*Sentinel master name/],
  ['REDIS_URL', 'redis-cluster://a:7000,b:70000', /REDIS_URL=.*ports from 1 to 65535/],
  ['REDIS_URL', 'redis-cluster://a:7000/3', /REDIS_URL=.*database number/],
  ['REDIS_URL', 'redis-cluster://a b:7000', /REDIS_URL=.*host:port pairs/],
  ['LOG_LEVEL', 'loud', /LOG_LEVEL="loud".*one of debug, info, warn, error/],
  ['ROUTER_DOMAIN', 'Bad_Domain', /ROUTER_DOMAIN="Bad_Domain".*hostname/],
  // A secret is named with its length, never its value.
  ['SWITCHYARD_API_TOKEN', 'short', /^SWITCHYARD_API_TOKEN \(value hidden, 5 characters\) is invalid: .*16-256[^"]*$/],
  ['LOGPLEX_URL', 'ftp://x', /LOGPLEX_URL="ftp:\/\/x"/],
];
for (const [name, value, re] of bad) {
  t.test(`${name}=${value} is refused`, async (t) => {
    let err: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      err = e;
    }
    if (!(err instanceof ConfigError)) {
      t.fail('expected a ConfigError');
      return;
    }
    t.match(err.message, re);
    t.notMatch(err.message, /\n/);
    t.equal(err.variable, name);
  });
}

t.test('flags map to settings of the same name', async (t) => {
  const { env, rest } = flagsToEnv(['--router-port', '9000', '--logplex-port=9001', '--demo', 'x']);
  t.same(env, { ROUTER_PORT: '9000', LOGPLEX_PORT: '9001' });
  t.same(rest, ['--demo', 'x']);
  t.equal(loadConfig(env).ROUTER_PORT, 9000);
  t.throws(() => flagsToEnv(['--router-port']), { code: 'SY_CONFIG' });
});

t.test('flags win over the environment is the caller’s merge; defaults fill gaps', async (t) => {
  const c = loadConfig({ ROUTER_PORT: '1' }, { ROUTER_PORT: '2', LOGPLEX_PORT: '3' });
  t.equal(c.ROUTER_PORT, 1);
  t.equal(c.LOGPLEX_PORT, 3);
});

// The multi-host forms operations.md gives are accepted as written, and parse to their hosts.
const goodRedis: [string, Partial<RedisTarget>][] = [
  ['redis://127.0.0.1:6379', { topology: 'single', tls: false, hosts: [{ host: '127.0.0.1', port: 6379 }], db: 0 }],
  ['rediss://:s3cret@redis.internal:6380/2', { topology: 'single', tls: true, password: 's3cret', db: 2 }],
  [
    'redis-sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3/mymaster',
    {
      topology: 'sentinel',
      name: 'mymaster',
      hosts: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
        { host: '10.0.0.3', port: 26379 },
      ],
    },
  ],
  [
    'redis-cluster://user:pw@[::1]:7000,127.0.0.1:7001',
    {
      topology: 'cluster',
      username: 'user',
      password: 'pw',
      display: 'redis-cluster://user@[::1]:7000,127.0.0.1:7001',
      hosts: [
        { host: '::1', port: 7000 },
        { host: '127.0.0.1', port: 7001 },
      ],
    },
  ],
  ['rediss-cluster://a:7000,b:7001', { topology: 'cluster', tls: true }],
];
for (const [url, want] of goodRedis) {
  t.test(`REDIS_URL=${url} is accepted`, async (t) => {
    t.equal(loadConfig({ REDIS_URL: url }).REDIS_URL, url);
    t.match(parseRedisUrl(url), want);
  });
}
