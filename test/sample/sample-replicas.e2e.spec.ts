/**
 * The sample app as two replicas on the real Redis (REDIS_URL): they spread the two garbage
 * collectors, one each, and when one is stopped with SIGTERM the other takes its loop at once.
 */
import { Redis } from 'ioredis';
import { REDIS_URL, describeWith, unique, until } from '../leader/servers.js';
import { Sample } from './sample-process.js';

const lease = unique('sample-gc-test-');
const env = {
  REDIS_URL,
  LEASE_NAME: lease,
  CONTAINER_GC_PERIOD: '200ms',
  LEASE_DURATION: '3s',
  RENEW_DEADLINE: '2s',
  RETRY_PERIOD: '500ms',
};

const describeRedis = await describeWith('redis');

describeRedis('the sample as two replicas on Redis', () => {
  const samples: Sample[] = [];
  afterAll(async () => {
    for (const s of samples) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    const admin = new Redis(REDIS_URL);
    const keys = await admin.keys(`nestjs-wait:lease:*${lease}*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
  });

  it('the replicas spread the collectors, one each; SIGTERM hands its loop to the other', async () => {
    samples.push(new Sample('pod-a', env), new Sample('pod-b', env));
    const [a, b] = samples as [Sample, Sample];
    const owners = await until(
      'both replicas to agree on two owners',
      async () => {
        const [la, lb] = await Promise.all([a.loops(), b.loops()]);
        if (la === undefined || lb === undefined) return undefined;
        const names = ['container-gc', 'image-gc'];
        const seen = names.map((n) => la[n]?.owner);
        const agreed = names.every((n, i) => seen[i] !== undefined && lb[n]?.owner === seen[i]);
        return agreed && new Set(seen).size === 2 ? seen : undefined;
      },
      20_000,
    );
    expect(new Set(owners)).toEqual(new Set(['pod-a', 'pod-b']));
    const gcOwner = owners[0] === 'pod-a' ? a : b;
    const other = gcOwner === a ? b : a;
    expect((await gcOwner.loops())!['container-gc']).toMatchObject({
      placement: 'spread',
      state: 'running',
    });
    // GET /loops shows the cluster's view: the other replica sees it running on its owner.
    expect((await other.loops())!['container-gc']).toMatchObject({
      state: 'running',
      owner: gcOwner.pod,
    });
    // The first replica's leader loop view stays as it was: the health check still reports a role.
    const health = (await other.health())!;
    expect(['leader', 'follower']).toContain(health.role);

    const termAt = Date.now();
    gcOwner.child.kill('SIGTERM');
    await until('the other replica to own container-gc', async () => {
      const loops = await other.loops();
      const gc = loops?.['container-gc'];
      return gc?.owner === other.pod && gc.state === 'running' ? true : undefined;
    });
    // The leave is announced: well under the 500 ms retry period plus the time to claim.
    expect(Date.now() - termAt).toBeLessThan(1000 + 500);
  }, 60_000);
});
