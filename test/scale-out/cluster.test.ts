// Both services on a real local Redis Cluster (3 masters, 3 replicas) made by redis-cli.
import t from 'tap';
import { startOwnCluster } from '../fixtures/redis-server';
import { scaleOutSuite } from './suite';

scaleOutSuite(t, 'Redis Cluster', startOwnCluster);
