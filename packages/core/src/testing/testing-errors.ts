/**
 * Errors of the testing pair: a test that cannot finish, or a run that would grow without bound.
 *
 * @module
 */

import { LanchatError } from '../errors/lanchat-error.js';

/** Which way bytes travel on the testing pair's link. */
export type Direction = 'a-to-b' | 'b-to-a';

/**
 * The base of the testing pair's own errors. They mean the test failed to finish, or the code
 * under test misbehaved towards the pair; they are never thrown by the protocol itself. Catch it
 * only to add context; a test should let it fail.
 */
export class TestingPairError extends LanchatError {
  static override readonly errorName: string = 'TestingPairError';
}

/** Why {@link ConditionNotMetError} was thrown. */
export type ConditionNotMetReason = 'idle' | 'max-time' | 'max-steps';

/**
 * A run of the testing pair (`runUntil`, `runUntilIdle`, `runFor`) stopped before its goal: the
 * pair went idle with the condition still false, or the run reached its budget of virtual time or
 * of steps. The pair is consistent and can be inspected or run further.
 */
export class ConditionNotMetError extends TestingPairError {
  static override readonly errorName: string = 'ConditionNotMetError';
  /** `idle`: nothing left to do; `max-time` or `max-steps`: the budget ran out. */
  readonly reason: ConditionNotMetReason;
  /** The virtual time at which the run stopped, in milliseconds. */
  readonly now: number;
  /** Steps the run took before it stopped. */
  readonly steps: number;

  constructor(
    operation: string,
    reason: ConditionNotMetReason,
    now: number,
    steps: number,
    detail = '',
  ) {
    const why = {
      idle: 'the pair went idle (nothing in flight, no timer pending)',
      'max-time': 'the next event lay past the maxTime of the run',
      'max-steps': 'the run reached its maxSteps',
    }[reason];
    super(
      `${operation}: condition not met by virtual time ${now} after ${steps} steps: ${why}` +
        detail,
    );
    this.reason = reason;
    this.now = now;
    this.steps = steps;
  }
}

/**
 * The testing pair refused to grow without bound: a direction of the link already held
 * `maxInFlight` items, or an endpoint produced more than `maxInFlight` transmissions at one
 * instant of virtual time. It usually means a runaway loop in the code under test; raise
 * `maxInFlight` if the test really needs more.
 *
 * The transmission that hit the limit was taken from the endpoint and is lost; everything that
 * entered the link before it stays in flight.
 */
export class LinkOverflowError extends TestingPairError {
  static override readonly errorName: string = 'LinkOverflowError';
  /** The direction that overflowed. */
  readonly direction: Direction;
  /** The limit that was reached. */
  readonly limit: number;

  constructor(direction: Direction, limit: number, what: string) {
    super(`${direction}: ${what} (maxInFlight is ${limit})`);
    this.direction = direction;
    this.limit = limit;
  }
}

/**
 * An endpoint, or a test hook, broke the contract of the {@link Endpoint} interface: a deadline
 * that is not a finite number, a transmission that is not a `Uint8Array`. Fix the code under
 * test.
 */
export class EndpointContractError extends TestingPairError {
  static override readonly errorName: string = 'EndpointContractError';
}
