import { describe, expect, it } from 'vitest';
import { SimulatedClock } from './clock';

describe('SimulatedClock', () => {
  it('wakes sleepers in time order only when time reaches them', async () => {
    const clock = new SimulatedClock(1000);
    const woke: string[] = [];
    const late = clock.sleep(500).then(() => woke.push('late'));
    const early = clock.sleep(100).then(() => woke.push('early'));
    clock.advance(99);
    await Promise.resolve();
    expect(woke).toEqual([]);
    expect(clock.nextWakeTime()).toBe(1100);
    clock.advanceTo(1600);
    await Promise.all([late, early]);
    expect(woke).toEqual(['early', 'late']);
    expect(clock.now()).toBe(1600);
  });

  it('never goes backward, and an abort ends a sleep early', async () => {
    const clock = new SimulatedClock(50);
    clock.advanceTo(10);
    expect(clock.now()).toBe(50);
    const controller = new AbortController();
    const sleeping = clock.sleep(1_000_000, controller.signal);
    controller.abort();
    await expect(sleeping).resolves.toBeUndefined();
    expect(clock.nextWakeTime()).toBeUndefined();
  });
});
