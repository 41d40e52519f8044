import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { VirtualClock } from './virtual-clock.js';

describe('VirtualClock', () => {
  it('starts at 0 or where it is told, and moves only forwards', () => {
    expect(new VirtualClock().now).toBe(0);
    const clock = new VirtualClock(1_000);
    clock.advanceTo(1_000);
    clock.advanceBy(0);
    expect(clock.now).toBe(1_000);
    clock.advanceBy(250);
    clock.advanceTo(2_000);
    expect(clock.now).toBe(2_000);
  });

  it('refuses to go backwards or to a time that is not finite, and stays where it was', () => {
    const clock = new VirtualClock(10);
    expect(() => clock.advanceTo(9)).toThrow(InvalidArgumentError);
    expect(() => clock.advanceTo(Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => clock.advanceTo(Infinity)).toThrow(InvalidArgumentError);
    expect(() => clock.advanceBy(-1)).toThrow(InvalidArgumentError);
    expect(() => clock.advanceBy(Infinity)).toThrow(InvalidArgumentError);
    expect(clock.now).toBe(10);
    expect(() => new VirtualClock(Number.NaN)).toThrow(InvalidArgumentError);
  });
});
