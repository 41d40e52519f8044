/**
 * A virtual clock: time that moves only when a test moves it.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors/lanchat-error.js';

/**
 * Milliseconds of virtual time, for driving sans-I/O machines in tests without waiting.
 *
 * It starts where it is told and only ever moves forwards, and only when
 * {@link VirtualClock.advanceTo} or {@link VirtualClock.advanceBy} is called: a test of a
 * 30-second timeout takes no wall-clock time at all. The {@link TestingPair} owns one; use one
 * directly to drive a single machine.
 */
export class VirtualClock {
  #now: number;

  /**
   * @param start - the time to start at, in milliseconds; default 0.
   * @throws {@link InvalidArgumentError} if `start` is not a finite number.
   */
  constructor(start = 0) {
    if (!Number.isFinite(start)) {
      throw new InvalidArgumentError(`a start time is a finite number, got ${start}`);
    }
    this.#now = start;
  }

  /** The current virtual time, in milliseconds. */
  get now(): number {
    return this.#now;
  }

  /**
   * Moves the clock to `time`. Moving to the current time is allowed and changes nothing.
   *
   * @throws {@link InvalidArgumentError} if `time` is not finite or is before the current time;
   * the clock is unchanged.
   */
  advanceTo(time: number): void {
    if (!Number.isFinite(time) || time < this.#now) {
      throw new InvalidArgumentError(
        `the clock only moves forwards to a finite time: it is at ${this.#now}, asked for ${time}`,
      );
    }
    this.#now = time;
  }

  /**
   * Moves the clock forwards by `milliseconds`.
   *
   * @throws {@link InvalidArgumentError} if `milliseconds` is negative or not finite; the clock is
   * unchanged.
   */
  advanceBy(milliseconds: number): void {
    if (!Number.isFinite(milliseconds) || milliseconds < 0) {
      throw new InvalidArgumentError(
        `the clock moves forwards by a finite, non-negative duration, got ${milliseconds}`,
      );
    }
    this.advanceTo(this.#now + milliseconds);
  }
}
