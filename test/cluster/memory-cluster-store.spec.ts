import { InMemoryLeaseStore } from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';
import { clusterStoreContract } from './cluster-store.contract.js';

describe('InMemoryLeaseStore: the cluster contract', () => {
  let n = 0;
  clusterStoreContract(
    () => {
      const clock = new FakeClock();
      const store = new InMemoryLeaseStore(clock);
      return Promise.resolve({
        store,
        other: store,
        pass: (ms) => clock.advance(ms),
        cluster: () => `cluster-${++n}`,
      });
    },
    () => new Promise((resolve) => setImmediate(resolve)),
  );
});
