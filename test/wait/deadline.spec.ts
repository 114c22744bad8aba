import { Deadline } from '../../lib/wait/deadline.js';
import { FakeClock } from '../../lib/testing/index.js';

/* The one-shot deadline every timeout of the package is built on, on FakeClock. */

let clock: FakeClock;
let fired: number[];
beforeEach(() => {
  clock = new FakeClock();
  fired = [];
});

const make = () => new Deadline(clock, () => fired.push(clock.now()));

it('fires once, at the time it was armed for', async () => {
  const deadline = make().after(100);
  expect(deadline.armed).toBe(true);
  await clock.advance(99);
  expect(fired).toEqual([]);
  await clock.advance(1000);
  expect(fired).toEqual([100]);
  expect(deadline.armed).toBe(false);
  expect(clock.pendingTimers).toBe(0);
});

it('re-arming replaces the earlier time, earlier or later', async () => {
  const deadline = make().at(500);
  deadline.at(200);
  await clock.advance(300);
  deadline.at(400);
  deadline.after(50); // 350
  await clock.advance(1000);
  expect(fired).toEqual([200, 350]);
});

it('a cancelled deadline never fires and leaves no timer; cancel is harmless when not armed', async () => {
  const deadline = make().after(100);
  deadline.cancel();
  deadline.cancel();
  expect(clock.pendingTimers).toBe(0);
  await clock.advance(1000);
  expect(fired).toEqual([]);
  make().cancel();
});

it('many deadlines share one timer of the clock', async () => {
  const deadlines = [300, 100, 200].map((ms) => make().after(ms));
  expect(clock.pendingTimers).toBe(1);
  deadlines[1].cancel();
  await clock.advance(1000);
  expect(fired).toEqual([200, 300]);
});
