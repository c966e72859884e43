import t from 'tap';
import { ConfigError, flagsToEnv, loadConfig } from '../../src/shared/config';

t.test('defaults match design.md §Processes and settings', async (t) => {
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
  ['REDIS_URL', 'http://127.0.0.1:6379', /REDIS_URL=.*redis:/],
  ['LOG_LEVEL', 'loud', /LOG_LEVEL="loud".*one of debug, info, warn, error/],
  ['ROUTER_DOMAIN', 'Bad_Domain', /ROUTER_DOMAIN="Bad_Domain".*hostname/],
  ['SWITCHYARD_API_TOKEN', 'short', /SWITCHYARD_API_TOKEN="short".*16-256/],
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
