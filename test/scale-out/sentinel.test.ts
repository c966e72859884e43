// Both services on a real local Sentinel group (1 master, 1 replica, 3 sentinels).
import t from 'tap';
import { startOwnSentinel } from '../fixtures/redis-server';
import { scaleOutSuite } from './suite';

scaleOutSuite(t, 'Redis Sentinel', async () => {
  const s = await startOwnSentinel();
  return s && { url: s.url, failover: () => s.failover(), destroy: () => s.destroy() };
});
