// The drain lease settings (design.md §Processes and settings): a holder trusts a renewal for
// most of the lease TTL, so renewing less often than every half TTL is refused at start-up with
// an error that names both settings.
import t from 'tap';
import { startLogplex } from '../../src/logplex/index';
import { memoryStores } from '../../src/logplex/store/open';
import { loadConfig } from '../../src/shared/config';
import { silentLogger } from '../../src/shared/log';

t.test('LOGPLEX_DRAIN_RENEW_MS above half of LOGPLEX_DRAIN_LEASE_MS is refused at start-up', async (t) => {
  const config = loadConfig({
    LOGPLEX_PORT: '0',
    LOGPLEX_SYSLOG_PORT: '0',
    LOGPLEX_DRAIN_LEASE_MS: '4000',
    LOGPLEX_DRAIN_RENEW_MS: '2001',
  });
  const start = startLogplex({
    config,
    stores: memoryStores(100),
    host: '127.0.0.1',
    apiToken: undefined,
    log: silentLogger,
  });
  await t.rejects(start, {
    code: 'SY_CONFIG',
    variable: 'LOGPLEX_DRAIN_RENEW_MS',
    message: /at most half of LOGPLEX_DRAIN_LEASE_MS \(4000\)/,
  });
});

t.test('renewing at exactly half the lease is accepted', async (t) => {
  const config = loadConfig({
    LOGPLEX_PORT: '0',
    LOGPLEX_SYSLOG_PORT: '0',
    LOGPLEX_DRAIN_LEASE_MS: '4000',
    LOGPLEX_DRAIN_RENEW_MS: '2000',
  });
  const node = await startLogplex({
    config,
    stores: memoryStores(100),
    host: '127.0.0.1',
    apiToken: undefined,
    log: silentLogger,
  });
  t.teardown(() => node.close());
  t.ok(node.httpPort > 0);
});

t.test('out-of-range values name the variable and the range', async (t) => {
  t.throws(
    () => loadConfig({ LOGPLEX_DRAIN_LEASE_MS: '100' }),
    /LOGPLEX_DRAIN_LEASE_MS="100" is invalid: expected an integer from 500 to 600000/,
  );
  t.throws(
    () => loadConfig({ LOGPLEX_DRAIN_RENEW_MS: '0' }),
    /LOGPLEX_DRAIN_RENEW_MS="0" is invalid: expected an integer from 50 to 300000/,
  );
});
