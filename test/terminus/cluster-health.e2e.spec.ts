import { Test } from '@nestjs/testing';
import { TerminusModule } from '@nestjs/terminus';
import type { INestApplication } from '@nestjs/common';
import { PollingRegistry, WaitModule } from '../../lib/index.js';
import { WaitHealthIndicator } from '../../lib/terminus/index.js';
import { FakeCluster, type FakeReplica } from '../../lib/testing/index.js';
import { CapturingLogger } from '../polling/support.js';

/*
 * WaitHealthIndicator.isClusterHealthy(): the cluster's health from the store, on a FakeCluster
 * with the default timings (lease 15s, renew deadline 10s, retry 2s).
 */

const LEASE = 15_000;
const RETRY = 2000;

let cluster: FakeCluster;
let apps: Array<{ replica: FakeReplica; app: INestApplication }>;

beforeEach(() => {
  cluster = new FakeCluster({ name: 'health' });
  apps = [];
});
afterEach(async () => {
  for (const a of apps) if (a.replica.state === 'up') await cluster.clock.runUntil(a.app.close());
});

async function replica(identity: string, loops: Array<[string, 'spread' | 'leader']>) {
  const r = cluster.replica(identity);
  const logger = new CapturingLogger();
  const ref = await Test.createTestingModule({
    imports: [TerminusModule, WaitModule.forRoot(r.options('spread'))],
    providers: [WaitHealthIndicator],
  })
    .setLogger(logger)
    .compile();
  const app = ref.createNestApplication({ logger });
  await app.init();
  const registry = app.get(PollingRegistry);
  for (const [name, placement] of loops)
    registry.add(name, () => undefined, { period: 1000, placement });
  apps.push({ replica: r, app });
  return { replica: r, app, registry, health: app.get(WaitHealthIndicator) };
}

const check = (health: WaitHealthIndicator) => cluster.clock.runUntil(health.isClusterHealthy());

describe('WaitHealthIndicator.isClusterHealthy()', () => {
  it('is up with every spread and leader loop, its owner, the members and the leader', async () => {
    const a = await replica('a', [
      ['s', 'spread'],
      ['l', 'leader'],
    ]);
    await replica('b', [
      ['s', 'spread'],
      ['l', 'leader'],
    ]);
    await cluster.clock.advance(3 * RETRY);
    const { cluster: result } = await check(a.health);
    expect(result.status).toBe('up');
    expect(new Set(result.members as string[])).toEqual(new Set(['a', 'b']));
    const leader = result.leader as string;
    expect(['a', 'b']).toContain(leader);
    const loops = result.loops as Record<string, { owner: string | null; state: string }>;
    expect(loops.l).toMatchObject({ placement: 'leader', state: 'running', owner: leader });
    expect(['a', 'b']).toContain(loops.s.owner);
  });

  it('turns down, naming the loop, while a loop has no live owner in the store (after its owner crashed); a paused one does not count', async () => {
    const a = await replica('a', [
      ['x', 'spread'],
      ['y', 'spread'],
      ['p', 'spread'],
    ]);
    const b = await replica('b', [
      ['x', 'spread'],
      ['y', 'spread'],
      ['p', 'spread'],
    ]);
    await cluster.clock.advance(3 * RETRY);
    await cluster.clock.runUntil(a.registry.stop('p'));
    const lost = ['x', 'y', 'p'].filter((n) => b.registry.get(n).owner === 'b');
    const mine = ['x', 'y'].filter((n) => b.registry.get(n).owner === 'b');
    expect(mine.length).toBeGreaterThan(0);
    b.replica.crash();
    // Until b's member lease ends the store names b; then a claims at its next heartbeat.
    const seen: string[] = [];
    for (let t = 0; t < LEASE + 2 * RETRY; t += 50) {
      await cluster.clock.advance(50);
      const { cluster: result } = await check(a.health);
      if (result.status === 'down') seen.push(result.message as string);
    }
    expect(seen.length).toBeGreaterThan(0);
    for (const message of seen) {
      expect(message).toMatch(/no live owner in the store: (it runs|they run) nowhere/);
      for (const name of mine) expect(message).toContain(`"${name}"`);
      expect(message).not.toContain('"p"');
    }
    const { cluster: after } = await check(a.health);
    expect(after.status).toBe('up');
    expect(lost.length).toBeGreaterThan(0);
  });

  it('turns down saying so when the store cannot be read, and does not reject', async () => {
    const a = await replica('a', [['s', 'spread']]);
    const b = await replica('b', [['s', 'spread']]);
    await cluster.clock.advance(3 * RETRY);
    const other = a.registry.get('s').owner === 'a' ? b : a;
    other.replica.partition();
    const { cluster: result } = await check(other.health);
    expect(result.status).toBe('down');
    expect(result.message).toMatch(
      /the cluster's view could not be read \(PollingRegistry\.list\(\)/,
    );
    other.replica.heal();
  });

  it('turns down when there are leader loops and no replica is known to lead', async () => {
    const a = await replica('a', [['l', 'leader']]);
    await cluster.clock.advance(3 * RETRY);
    a.replica.partition();
    await cluster.clock.advance(LEASE + RETRY);
    const { cluster: result } = await check(a.health);
    expect(result.status).toBe('down');
    expect(result.message).toMatch(/no replica is known to lead: 1 leader loop runs nowhere/);
    a.replica.heal();
  });

  it('rejects a bad key, naming it', async () => {
    const a = await replica('a', []);
    await expect(a.health.isClusterHealthy('' as never)).rejects.toThrow(
      /WaitHealthIndicator\.isClusterHealthy\(\): key must be a non-empty string; got ""/,
    );
  });
});
