/**
 * The testing pair: two sans-I/O endpoints joined by a fake link, on a virtual clock.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors/lanchat-error.js';
import type { Endpoint } from './endpoint.js';
import { type DirectionStatistics, Link, type LinkSettings, SequenceCounter } from './link.js';
import { SeededRandom } from './random.js';
import {
  ConditionNotMetError,
  type Direction,
  EndpointContractError,
  LinkOverflowError,
} from './testing-errors.js';
import { VirtualClock } from './virtual-clock.js';

/** Default of {@link TestingPairOptions.maxInFlight}. */
export const DEFAULT_MAX_IN_FLIGHT = 10_000;
/** Default of {@link RunOptions.maxTime}: one virtual minute. */
export const DEFAULT_MAX_TIME = 60_000;
/** Default of {@link RunOptions.maxSteps}. */
export const DEFAULT_MAX_STEPS = 1_000_000;

/** A range of whole milliseconds, both ends included. */
export interface MillisecondRange {
  readonly min: number;
  readonly max: number;
}

/**
 * What the `intercept` hook returns for one transmission: the bytes to send (the same, or
 * changed), several byte strings to send in their place (in order), or `undefined` to send
 * nothing.
 */
export type InterceptResult = Uint8Array | readonly Uint8Array[] | undefined;

/**
 * Something that happened on the pair, as told to {@link TestingPairOptions.onEvent}. The bytes
 * are copies: changing them changes nothing.
 */
export type TestingPairEvent =
  | {
      /** A transmission entered the link (after `intercept`, before loss and duplication). */
      readonly type: 'send';
      readonly direction: Direction;
      readonly time: number;
      readonly data: Uint8Array;
    }
  | {
      /** The link lost a datagram or a duplicate copy of one. */
      readonly type: 'lose';
      readonly direction: Direction;
      readonly time: number;
      readonly data: Uint8Array;
    }
  | {
      /**
       * The receiving endpoint is about to be handed `data`. `sentAt` is when it was sent (in
       * stream mode, when the write holding its first byte was).
       */
      readonly type: 'deliver';
      readonly direction: Direction;
      readonly time: number;
      readonly sentAt: number;
      readonly data: Uint8Array;
    }
  | {
      /** The endpoint's deadline has come and its `handleTimeout` is about to be called. */
      readonly type: 'timeout';
      readonly endpoint: 'a' | 'b';
      readonly time: number;
    };

/** How a {@link TestingPair}'s link behaves. Every random choice comes from `seed`. */
export interface TestingPairOptions {
  /**
   * `stream`: a reliable, ordered byte stream (TCP): bytes are never lost, duplicated or
   * reordered, but may arrive cut into other chunks (see `chunking`). `datagram`: independent
   * datagrams (UDP) that may be lost, duplicated and reordered, each arriving whole or not at all.
   */
  readonly mode: 'stream' | 'datagram';
  /** Seed of every random choice, an integer from 0 to 2^32 - 1. Default 1. */
  readonly seed?: number;
  /**
   * One-way latency, drawn for each transmission from this range of whole, non-negative
   * milliseconds. Default `{ min: 1, max: 1 }`. In stream mode a write never arrives before the
   * one sent before it, whatever it drew; in datagram mode the jitter alone can reorder.
   */
  readonly latency?: MillisecondRange;
  /** Datagram mode: probability, from 0 to 1, that the link loses each datagram (and each copy). */
  readonly loss?: number;
  /** Datagram mode: probability, from 0 to 1, that the link sends a datagram twice. */
  readonly duplication?: number;
  /**
   * Datagram mode: probability, from 0 to 1, that a datagram is held back by an extra delay drawn
   * from `reorderDelay`, so that datagrams sent after it overtake it.
   */
  readonly reordering?: number;
  /**
   * Datagram mode: the extra delay of a datagram held back by `reordering`, whole milliseconds.
   * Default from `latency.max - latency.min + 1` (so that a datagram sent at the same instant
   * always overtakes) to `2 * latency.max + 10`.
   */
  readonly reorderDelay?: MillisecondRange;
  /**
   * Stream mode: when set, the bytes that arrive at one instant (every write due then, joined)
   * are handed over in random chunks of 1 to `maxChunk` bytes. When absent, each write arrives
   * whole, in one `receive` call.
   */
  readonly chunking?: { readonly maxChunk: number };
  /** The virtual time the pair starts at, in milliseconds. Default 0. */
  readonly startTime?: number;
  /**
   * The most items that may be in flight in each direction, and the most transmissions an
   * endpoint may produce at one instant, before the pair throws {@link LinkOverflowError}: a
   * runaway test fails instead of eating memory. Default {@link DEFAULT_MAX_IN_FLIGHT}.
   */
  readonly maxInFlight?: number;
  /**
   * Called with each transmission (a copy the hook may change in place) before it enters the
   * link; what it returns is sent instead. For tampering, dropping and injecting in tests.
   * Not called for what the link itself later loses or duplicates.
   */
  readonly intercept?: (direction: Direction, data: Uint8Array) => InterceptResult;
  /** Told of everything that happens, in order: for logs of a failing schedule. */
  readonly onEvent?: (event: TestingPairEvent) => void;
}

/** Budget of a run of the pair. */
export interface RunOptions {
  /**
   * Virtual milliseconds the run may move the clock forwards, counted from its start. Default
   * {@link DEFAULT_MAX_TIME}. Ignored by {@link TestingPair.runFor}, whose duration is its budget.
   */
  readonly maxTime?: number;
  /** Steps the run may take. Default {@link DEFAULT_MAX_STEPS}. */
  readonly maxSteps?: number;
}

function checkProbability(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new InvalidArgumentError(`${name} is a probability from 0 to 1, got ${String(value)}`);
  }
  return value;
}

function checkRange(name: string, range: MillisecondRange): MillisecondRange {
  const { min, max } = range;
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || min > max) {
    throw new InvalidArgumentError(
      `${name} is a range of whole, non-negative milliseconds with min <= max, ` +
        `got min ${min} and max ${max}`,
    );
  }
  return range;
}

function checkPositiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${name} is a positive integer, got ${value}`);
  }
  return value;
}

/** Checks the options that only make sense for datagrams are absent in stream mode, and back. */
function checkModeOptions(options: TestingPairOptions): void {
  const mode: unknown = options.mode;
  if (mode !== 'stream' && mode !== 'datagram') {
    throw new InvalidArgumentError(
      `mode is 'stream' or 'datagram', got ${typeof mode === 'string' ? mode : typeof mode}`,
    );
  }
  if (mode === 'stream') {
    for (const name of ['loss', 'duplication', 'reordering', 'reorderDelay'] as const) {
      if (options[name] !== undefined) {
        throw new InvalidArgumentError(
          `${name} applies to datagram mode only: a stream (TCP) never loses, duplicates or ` +
            'reorders bytes',
        );
      }
    }
  } else if (options.chunking !== undefined) {
    throw new InvalidArgumentError(
      'chunking applies to stream mode only: a datagram arrives whole or not at all',
    );
  }
}

function settingsOf(options: TestingPairOptions): LinkSettings {
  checkModeOptions(options);
  const latency = checkRange('latency', options.latency ?? { min: 1, max: 1 });
  const reorderDelay = checkRange(
    'reorderDelay',
    options.reorderDelay ?? { min: latency.max - latency.min + 1, max: 2 * latency.max + 10 },
  );
  return {
    mode: options.mode,
    latencyMin: latency.min,
    latencyMax: latency.max,
    loss: checkProbability('loss', options.loss),
    duplication: checkProbability('duplication', options.duplication),
    reordering: checkProbability('reordering', options.reordering),
    reorderDelayMin: reorderDelay.min,
    reorderDelayMax: reorderDelay.max,
    maxChunk:
      options.chunking === undefined
        ? undefined
        : checkPositiveInteger('chunking.maxChunk', options.chunking.maxChunk),
    maxInFlight: checkPositiveInteger('maxInFlight', options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT),
  };
}

function budgetOf(options: RunOptions | undefined): { maxTime: number; maxSteps: number } {
  const maxTime = options?.maxTime ?? DEFAULT_MAX_TIME;
  const maxSteps = options?.maxSteps ?? DEFAULT_MAX_STEPS;
  if (!(maxTime >= 0)) {
    throw new InvalidArgumentError(
      `maxTime is a non-negative number of milliseconds, got ${maxTime}`,
    );
  }
  if (!Number.isSafeInteger(maxSteps) || maxSteps < 0) {
    throw new InvalidArgumentError(`maxSteps is a non-negative integer, got ${maxSteps}`);
  }
  return { maxTime, maxSteps };
}

/**
 * Two sans-I/O endpoints, `a` and `b`, joined by a fake link with a virtual clock and seeded
 * latency, loss, duplication and reordering: the harness for testing protocol machines end to
 * end without sockets, timers or waiting.
 *
 * ```ts
 * const pair = new TestingPair(client, server, { mode: 'datagram', seed, loss: 0.1 });
 * pair.runUntil(() => client.isConnected && server.isConnected);
 * ```
 *
 * Each {@link TestingPair.step} takes every pending transmission from `a`, then from `b`, puts
 * them on the link, then moves the clock to the next event (an arrival or an endpoint's deadline)
 * and handles everything due then: arrivals first, in order of arrival time and then of sending,
 * then the deadlines of `a` and `b`, in that order. Nothing depends on the wall clock or on
 * `Math.random`, and ties are broken by the order of sending, so the same seed and endpoints that
 * behave the same give the same schedule, every time.
 *
 * The link copies every transmission as it takes it, so an endpoint may reuse its buffers; each
 * delivery is bytes of the link's own that the receiver may keep or change.
 *
 * An exception from an endpoint or a hook propagates out of the call that caused it. The pair
 * stays consistent: what was delivered is counted as delivered, and everything still in flight
 * or pending stays so, to be handled by the next step.
 *
 * Everything is bounded: the items in flight and the transmissions an endpoint makes at one
 * instant by `maxInFlight`, and each run by its {@link RunOptions}.
 */
export class TestingPair<A extends Endpoint = Endpoint, B extends Endpoint = Endpoint> {
  /** The first endpoint: it sends on `a-to-b` and receives on `b-to-a`. */
  readonly a: A;
  /** The second endpoint: it sends on `b-to-a` and receives on `a-to-b`. */
  readonly b: B;
  /** `stream` or `datagram`, as configured. */
  readonly mode: 'stream' | 'datagram';
  /** The seed of every random choice. */
  readonly seed: number;

  readonly #clock: VirtualClock;
  readonly #maxInFlight: number;
  readonly #aToB: Link;
  readonly #bToA: Link;
  readonly #intercept: TestingPairOptions['intercept'];
  readonly #onEvent: TestingPairOptions['onEvent'];

  /**
   * @throws {@link InvalidArgumentError} if an option is out of its documented range, or set for
   * the other mode (`loss` in stream mode, `chunking` in datagram mode).
   */
  constructor(a: A, b: B, options: TestingPairOptions) {
    const settings = settingsOf(options);
    this.a = a;
    this.b = b;
    this.mode = options.mode;
    this.seed = options.seed ?? 1;
    this.#clock = new VirtualClock(options.startTime ?? 0);
    this.#maxInFlight = settings.maxInFlight;
    // One stream of random numbers per direction, so that what one endpoint sends does not change
    // what the link does to the other's traffic: a failing schedule is easier to reason about.
    const random = new SeededRandom(this.seed);
    const sequence = new SequenceCounter();
    this.#aToB = new Link('a-to-b', settings, random.fork(), sequence);
    this.#bToA = new Link('b-to-a', settings, random.fork(), sequence);
    this.#intercept = options.intercept;
    this.#onEvent = options.onEvent;
  }

  /** The current virtual time, in milliseconds. */
  get now(): number {
    return this.#clock.now;
  }

  /** A snapshot of the counters of one direction of the link. */
  statistics(direction: Direction): DirectionStatistics {
    return this.#link(direction).statistics();
  }

  /**
   * Does the next thing: takes every pending transmission of `a` and then `b` (at the current
   * time) onto the link, moves the clock to the earliest arrival or deadline, and handles all
   * that is due at that time. A deadline already past fires at the current time; the clock never
   * moves backwards.
   *
   * @returns `false`, with the clock unchanged, if nothing is pending at all: nothing in flight
   * and no deadline. `true` otherwise.
   * @throws whatever an endpoint or a hook throws; see the class documentation.
   * @throws {@link LinkOverflowError} past `maxInFlight`.
   * @throws {@link EndpointContractError} if an endpoint returns something that is not a
   * `Uint8Array` to send or a finite deadline.
   */
  step(): boolean {
    this.#transmitAll();
    const time = this.#nextEventTime();
    if (time === undefined) return false;
    this.#handleEventsAt(time);
    return true;
  }

  /**
   * Steps until `condition()` holds (checked before each step, so a condition already true takes
   * no step).
   *
   * @throws {@link ConditionNotMetError} if the pair goes idle first, or the next event lies past
   * `maxTime` from the start of the run (the clock is left before it), or `maxSteps` steps did not
   * suffice.
   * @throws {@link InvalidArgumentError} if the budget is out of range.
   * @throws whatever {@link TestingPair.step} throws.
   */
  runUntil(condition: () => boolean, options?: RunOptions): void {
    const { maxTime, maxSteps } = budgetOf(options);
    const deadline = this.now + maxTime;
    let steps = 0;
    while (!condition()) {
      if (steps >= maxSteps)
        throw new ConditionNotMetError('runUntil', 'max-steps', this.now, steps);
      this.#transmitAll();
      const time = this.#nextEventTime();
      if (time === undefined) throw new ConditionNotMetError('runUntil', 'idle', this.now, steps);
      if (time > deadline) {
        throw new ConditionNotMetError(
          'runUntil',
          'max-time',
          this.now,
          steps,
          ` (next event at ${time}, run ends at ${deadline})`,
        );
      }
      this.#handleEventsAt(time);
      steps++;
    }
  }

  /**
   * Steps until the pair is idle: nothing in flight and no deadline pending. Endpoints with a
   * timer that always re-arms (a keep-alive) never go idle; use {@link TestingPair.runFor} or
   * {@link TestingPair.runUntil} for them.
   *
   * @returns the number of steps taken.
   * @throws {@link ConditionNotMetError} if the next event lies past `maxTime` from the start of
   * the run, or `maxSteps` steps did not suffice.
   * @throws {@link InvalidArgumentError} if the budget is out of range.
   * @throws whatever {@link TestingPair.step} throws.
   */
  runUntilIdle(options?: RunOptions): number {
    const { maxTime, maxSteps } = budgetOf(options);
    const deadline = this.now + maxTime;
    let steps = 0;
    for (;;) {
      this.#transmitAll();
      const time = this.#nextEventTime();
      if (time === undefined) return steps;
      if (time > deadline) {
        throw new ConditionNotMetError(
          'runUntilIdle',
          'max-time',
          this.now,
          steps,
          ` (next event at ${time}, run ends at ${deadline})`,
        );
      }
      if (steps >= maxSteps) {
        throw new ConditionNotMetError('runUntilIdle', 'max-steps', this.now, steps);
      }
      this.#handleEventsAt(time);
      steps++;
    }
  }

  /**
   * Runs for `milliseconds` of virtual time: handles every event up to and including the end
   * time, then leaves the clock exactly at it (`now` is then the start plus `milliseconds`).
   *
   * @returns the number of steps taken.
   * @throws {@link ConditionNotMetError} if `maxSteps` steps did not reach the end time (the
   * endpoints keep asking for attention without time passing).
   * @throws {@link InvalidArgumentError} if `milliseconds` is negative or not finite, or
   * `maxSteps` is out of range.
   * @throws whatever {@link TestingPair.step} throws.
   */
  runFor(milliseconds: number, options?: Pick<RunOptions, 'maxSteps'>): number {
    if (!Number.isFinite(milliseconds) || milliseconds < 0) {
      throw new InvalidArgumentError(
        `runFor takes a finite, non-negative duration, got ${milliseconds}`,
      );
    }
    const { maxSteps } = budgetOf(options);
    const end = this.now + milliseconds;
    let steps = 0;
    for (;;) {
      this.#transmitAll();
      const time = this.#nextEventTime();
      if (time === undefined || time > end) {
        this.#clock.advanceTo(end);
        return steps;
      }
      if (steps >= maxSteps) throw new ConditionNotMetError('runFor', 'max-steps', this.now, steps);
      this.#handleEventsAt(time);
      steps++;
    }
  }

  #link(direction: Direction): Link {
    return direction === 'a-to-b' ? this.#aToB : this.#bToA;
  }

  #transmitAll(): void {
    this.#transmitFrom(this.a, 'a', this.#aToB);
    this.#transmitFrom(this.b, 'b', this.#bToA);
  }

  /** Takes every pending transmission of one endpoint onto its link. */
  #transmitFrom(endpoint: Endpoint, name: 'a' | 'b', link: Link): void {
    const now = this.now;
    for (let count = 0; ; count++) {
      const data: unknown = endpoint.pollTransmit(now);
      if (data === undefined) return;
      if (!(data instanceof Uint8Array)) {
        throw new EndpointContractError(
          `endpoint ${name}: pollTransmit returned ${typeof data}, not a Uint8Array or undefined`,
        );
      }
      link.countTransmitted(data.length);
      if (count >= this.#maxInFlight) {
        throw new LinkOverflowError(
          link.direction,
          this.#maxInFlight,
          `endpoint ${name} produced more than ${this.#maxInFlight} transmissions at virtual ` +
            `time ${now}`,
        );
      }
      for (const bytes of this.#intercepted(link.direction, data)) {
        // An empty write moves no bytes on a stream; an empty datagram is still a datagram.
        if (this.mode === 'stream' && bytes.length === 0) continue;
        const lost = link.send(bytes, now);
        const onEvent = this.#onEvent;
        if (onEvent !== undefined) {
          const direction = link.direction;
          onEvent({ type: 'send', direction, time: now, data: bytes.slice() });
          for (const copy of lost)
            onEvent({ type: 'lose', direction, time: now, data: copy.slice() });
        }
      }
    }
  }

  /** The link's own copies of what the intercept hook makes of a transmission. */
  #intercepted(direction: Direction, data: Uint8Array): readonly Uint8Array[] {
    const copy = data.slice();
    if (this.#intercept === undefined) return [copy];
    const result: unknown = this.#intercept(direction, copy);
    if (result === undefined) return [];
    const list: readonly unknown[] = Array.isArray(result) ? result : [result];
    let copyUsed = false;
    return list.map((bytes) => {
      if (!(bytes instanceof Uint8Array)) {
        throw new EndpointContractError(
          `intercept returned ${typeof bytes}, not a Uint8Array, a list of them or undefined`,
        );
      }
      // The hook's copy may be sent as it is, once; anything else may be reused by the test, and
      // no two items in flight may share bytes.
      if (bytes === copy && !copyUsed) {
        copyUsed = true;
        return copy;
      }
      return bytes.slice();
    });
  }

  /** The time of the next event, never before now, or `undefined` if nothing is pending. */
  #nextEventTime(): number | undefined {
    const times = [
      this.#aToB.peek()?.deliverAt,
      this.#bToA.peek()?.deliverAt,
      this.#deadlineOf(this.a, 'a'),
      this.#deadlineOf(this.b, 'b'),
    ];
    let next: number | undefined;
    for (const time of times) {
      if (time !== undefined && (next === undefined || time < next)) next = time;
    }
    return next === undefined ? undefined : Math.max(next, this.now);
  }

  #deadlineOf(endpoint: Endpoint, name: 'a' | 'b'): number | undefined {
    const deadline: unknown = endpoint.pollTimeout();
    if (deadline === undefined) return undefined;
    if (typeof deadline !== 'number' || !Number.isFinite(deadline)) {
      throw new EndpointContractError(
        `endpoint ${name}: pollTimeout returned ` +
          `${typeof deadline === 'number' ? String(deadline) : typeof deadline}, ` +
          'not a finite time or undefined',
      );
    }
    return deadline;
  }

  /** Moves the clock to `time` and handles every arrival, then every deadline, due by then. */
  #handleEventsAt(time: number): void {
    this.#clock.advanceTo(time);
    const now = this.now;
    for (;;) {
      const link = this.#nextLinkDue(now);
      if (link === undefined) break;
      const item = link.take(now)!;
      this.#onEvent?.({
        type: 'deliver',
        direction: link.direction,
        time: now,
        sentAt: item.sentAt,
        data: item.data.slice(),
      });
      (link === this.#aToB ? this.b : this.a).receive(item.data, now);
    }
    // A deadline is asked for again after the arrivals: one of them (an acknowledgement) may have
    // cancelled or moved it.
    this.#handleTimeoutOf(this.a, 'a', now);
    this.#handleTimeoutOf(this.b, 'b', now);
  }

  #handleTimeoutOf(endpoint: Endpoint, name: 'a' | 'b', now: number): void {
    const deadline = this.#deadlineOf(endpoint, name);
    if (deadline === undefined || deadline > now) return;
    this.#onEvent?.({ type: 'timeout', endpoint: name, time: now });
    endpoint.handleTimeout(now);
  }

  /** The link whose next item has arrived by `now` and arrived first, or `undefined`. */
  #nextLinkDue(now: number): Link | undefined {
    const fromA = this.#aToB.peek();
    const fromB = this.#bToA.peek();
    const aDue = fromA !== undefined && fromA.deliverAt <= now;
    const bDue = fromB !== undefined && fromB.deliverAt <= now;
    if (aDue && bDue) {
      const aFirst =
        fromA.deliverAt < fromB.deliverAt ||
        (fromA.deliverAt === fromB.deliverAt && fromA.sequence < fromB.sequence);
      return aFirst ? this.#aToB : this.#bToA;
    }
    if (aDue) return this.#aToB;
    if (bDue) return this.#bToA;
    return undefined;
  }
}
