// Both services on a real local Redis Cluster (3 masters, 3 replicas) made by redis-cli.
import t from 'tap';
import { keySlot } from '../../src/shared/redis';
import { nodeCall, startOwnCluster } from '../fixtures/redis-server';
import { scaleOutSuite } from './suite';

let port: number | undefined;
scaleOutSuite(t, 'Redis Cluster', async () => {
  const c = await startOwnCluster();
  port = c?.ports[0];
  return c;
});

// bySlot groups pipelines with our own CRC16: it must agree with the cluster's, hash tags included.
t.test('keySlot agrees with CLUSTER KEYSLOT', async (t) => {
  if (port === undefined) return void t.pass('skipped: no cluster');
  const keys = ['foo', 'sy:channel:{42}:log', 'sy:token:t.0b5c', '{user1000}.following', 'foo{}{bar}', 'a{b', 'é{ü}'];
  for (const key of keys) t.equal(keySlot(key), Number(await nodeCall(port, 'CLUSTER', 'KEYSLOT', key)), key);
});
