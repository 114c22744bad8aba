/**
 * The sample app as two replicas on the real Redis (REDIS_URL): one collects garbage, the other
 * stands by, and when the leader is stopped with SIGTERM the other takes over at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { REDIS_URL, describeWith, unique, until } from '../leader/servers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const lease = unique('sample-gc-test-');

interface Health {
  info?: {
    loops: {
      role: string;
      identity: string;
      leader: string | null;
      loops: Record<string, { state: string }>;
    };
  };
}

class Sample {
  readonly child: ChildProcess;
  output = '';
  constructor(readonly pod: string) {
    this.child = spawn(process.execPath, ['dist-sample/main.js'], {
      cwd: root,
      env: {
        ...process.env,
        PORT: '0',
        NO_COLOR: '1',
        REDIS_URL,
        LEASE_NAME: lease,
        POD_NAME: pod,
        CONTAINER_GC_PERIOD: '200ms',
        LEASE_DURATION: '3s',
        RENEW_DEADLINE: '2s',
        RETRY_PERIOD: '500ms',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (c: string) => (this.output += c));
    this.child.stderr!.setEncoding('utf8').on('data', (c: string) => (this.output += c));
  }
  /** The loops part of GET /health. */
  async health(): Promise<NonNullable<Health['info']>['loops'] | undefined> {
    const url = /Sample listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(this.output)?.[1];
    if (url === undefined) return undefined;
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
    return ((await response.json()) as Health).info?.loops;
  }
}

const describeRedis = await describeWith('redis');

describeRedis('the sample as two replicas on Redis', () => {
  const samples: Sample[] = [];
  afterAll(async () => {
    for (const s of samples) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    const admin = new Redis(REDIS_URL);
    const keys = await admin.keys(`nestjs-wait:lease:{${lease}}*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
  });

  it('one replica collects garbage, the other stands by; SIGTERM hands over', async () => {
    samples.push(new Sample('pod-a'), new Sample('pod-b'));
    const [a, b] = samples as [Sample, Sample];
    const views = await until(
      'both replicas to see one leader',
      async () => {
        const [ha, hb] = await Promise.all([a.health(), b.health()]);
        return ha?.leader && ha.leader === hb?.leader ? [ha, hb] : undefined;
      },
      20_000,
    );
    const [leader, follower] = views[0].role === 'leader' ? [a, b] : [b, a];
    const lh = (await leader.health())!;
    const fh = (await follower.health())!;
    expect([lh.role, fh.role]).toEqual(['leader', 'follower']);
    expect(lh.loops['container-gc'].state).toBe('running');
    expect(fh.loops['container-gc'].state).toBe('standby');
    expect(fh.leader).toBe(leader.pod);

    const termAt = Date.now();
    leader.child.kill('SIGTERM');
    await until('the follower to lead', async () =>
      (await follower.health())?.role === 'leader' ? true : undefined,
    );
    // Announced release: well under the 500 ms retry period plus its 1.2 jitter.
    expect(Date.now() - termAt).toBeLessThan(1000 + 500);
    expect((await follower.health())!.loops['container-gc'].state).toBe('running');
  }, 60_000);
});
