/**
 * Testing helpers for code built on `@lanchat/core`: a pair of endpoints over a fake link with a
 * virtual clock and seeded latency, loss, duplication and reordering; a network of serverless
 * peers on one virtual clock.
 *
 * @packageDocumentation
 */

export type { Endpoint } from './endpoint.js';
export {
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_STEPS,
  DEFAULT_MAX_TIME,
  type InterceptResult,
  type MillisecondRange,
  type RunOptions,
  TestingPair,
  type TestingPairEvent,
  type TestingPairOptions,
} from './testing-pair.js';
export type { DirectionStatistics } from './link.js';
export {
  ConditionNotMetError,
  type ConditionNotMetReason,
  type Direction,
  EndpointContractError,
  LinkOverflowError,
  TestingPairError,
} from './testing-errors.js';
export { SeededRandom } from './random.js';
export { VirtualClock } from './virtual-clock.js';
export { TestingNetwork, type TestingNetworkOptions, type TestingPeer } from './testing-network.js';
