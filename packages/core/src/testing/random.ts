/**
 * A small seeded pseudo-random generator for tests and simulations.
 *
 * The core takes its randomness from its caller and may not call `Math.random`; tests need
 * randomness that replays exactly from a seed, so that a failing schedule can be run again.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors/lanchat-error.js';

const TWO_TO_THE_32 = 2 ** 32;
const TWO_TO_THE_53 = 2 ** 53;

/** The 32-bit golden-ratio constant: spreads consecutive seeds far apart before mixing. */
const GOLDEN_RATIO_32 = 0x9e37_79b9;

/** Murmur3's 32-bit finaliser: every input bit affects every output bit. */
function mix32(value: number): number {
  let mixed = value >>> 0;
  mixed ^= mixed >>> 16;
  mixed = Math.imul(mixed, 0x85eb_ca6b);
  mixed ^= mixed >>> 13;
  mixed = Math.imul(mixed, 0xc2b2_ae35);
  mixed ^= mixed >>> 16;
  return mixed >>> 0;
}

function isUint32(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) < TWO_TO_THE_32;
}

function rotateLeft(value: number, bits: number): number {
  return ((value << bits) | (value >>> (32 - bits))) >>> 0;
}

/**
 * A deterministic pseudo-random generator: xoshiro128** (Blackman and Vigna), seeded from a 32-bit
 * integer.
 *
 * The same seed always gives the same sequence, on every platform. The four words of state are
 * derived from the seed with a mixing function of this package's own, so the sequence matches
 * other xoshiro128** implementations only when they are given the same state, not the same seed.
 *
 * Not cryptographically secure: it is for test schedules and test data only, never for keys or
 * nonces outside tests.
 */
export class SeededRandom {
  #state0: number;
  #state1: number;
  #state2: number;
  #state3: number;

  /**
   * @param seed - an integer from 0 to 2^32 - 1; or the four 32-bit words of xoshiro128**'s state
   * (not all zero), to replay a reference sequence or a logged state exactly.
   * @throws {@link InvalidArgumentError} if `seed` is not such an integer, or the state words are
   * not four integers from 0 to 2^32 - 1 with at least one not zero. Seeds are not reduced modulo
   * 2^32, so that two different seeds never silently give the same sequence.
   */
  constructor(seed: number | readonly [number, number, number, number]) {
    if (typeof seed === 'number') {
      if (!isUint32(seed)) {
        throw new InvalidArgumentError(`a seed is an integer from 0 to 2^32 - 1, got ${seed}`);
      }
      this.#state0 = mix32(seed + GOLDEN_RATIO_32);
      this.#state1 = mix32(seed + 2 * GOLDEN_RATIO_32);
      this.#state2 = mix32(seed + 3 * GOLDEN_RATIO_32);
      this.#state3 = mix32(seed + 4 * GOLDEN_RATIO_32);
      // xoshiro's one forbidden state; the mixing makes it all but impossible, not provably so.
      if ((this.#state0 | this.#state1 | this.#state2 | this.#state3) === 0) this.#state0 = 1;
      return;
    }
    const words: readonly unknown[] = seed;
    if (words.length !== 4 || !words.every(isUint32) || words.every((word) => word === 0)) {
      throw new InvalidArgumentError(
        'a xoshiro128** state is four integers from 0 to 2^32 - 1, not all zero',
      );
    }
    [this.#state0, this.#state1, this.#state2, this.#state3] = seed;
  }

  /** The next 32 random bits, as an integer from 0 to 2^32 - 1. */
  nextUint32(): number {
    const result = Math.imul(rotateLeft(Math.imul(this.#state1, 5) >>> 0, 7), 9) >>> 0;
    const shifted = (this.#state1 << 9) >>> 0;
    this.#state2 = (this.#state2 ^ this.#state0) >>> 0;
    this.#state3 = (this.#state3 ^ this.#state1) >>> 0;
    this.#state1 = (this.#state1 ^ this.#state2) >>> 0;
    this.#state0 = (this.#state0 ^ this.#state3) >>> 0;
    this.#state2 = (this.#state2 ^ shifted) >>> 0;
    this.#state3 = rotateLeft(this.#state3, 11);
    return result;
  }

  /** A number from 0 (included) to 1 (excluded), with 53 random bits (two draws). */
  nextFloat(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 2 ** 26 + low) / TWO_TO_THE_53;
  }

  /**
   * An integer from `min` to `max`, both included, uniformly distributed (rejection sampling, no
   * modulo bias). Draws nothing when `min` equals `max`: like {@link SeededRandom.chance}, a
   * choice that is no choice leaves the sequence untouched, so a fixed setting (a latency of
   * exactly 1 ms) does not shift the draws of the random ones.
   *
   * @throws {@link InvalidArgumentError} if `min` or `max` is not a safe integer, `min` is over
   * `max`, or the range holds more than 2^32 values.
   */
  nextInt(min: number, max: number): number {
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min > max) {
      throw new InvalidArgumentError(
        `nextInt needs safe integers with min <= max, got min ${min} and max ${max}`,
      );
    }
    const range = max - min + 1;
    if (range === 1) return min;
    if (range > TWO_TO_THE_32) {
      throw new InvalidArgumentError(
        `nextInt draws from at most 2^32 values, got a range of ${range}`,
      );
    }
    // The largest multiple of `range` that fits in 32 bits: draws at or above it would favour
    // small results, so they are drawn again (less than half the time, whatever the range).
    const limit = TWO_TO_THE_32 - (TWO_TO_THE_32 % range);
    let draw = this.nextUint32();
    while (draw >= limit) draw = this.nextUint32();
    return min + (draw % range);
  }

  /**
   * True with probability `probability`. Draws only when the probability is strictly between 0
   * and 1, so that a disabled effect (0) or a certain one (1) leaves the sequence untouched.
   *
   * @throws {@link InvalidArgumentError} if `probability` is not a number from 0 to 1.
   */
  chance(probability: number): boolean {
    if (!(probability >= 0 && probability <= 1)) {
      throw new InvalidArgumentError(`a probability is from 0 to 1, got ${probability}`);
    }
    if (probability === 0) return false;
    if (probability === 1) return true;
    return this.nextFloat() < probability;
  }

  /** Fills `target` with random bytes and returns it. */
  fillBytes(target: Uint8Array): Uint8Array {
    let word = 0;
    for (let index = 0; index < target.length; index++) {
      if (index % 4 === 0) word = this.nextUint32();
      target[index] = word & 0xff;
      word >>>= 8;
    }
    return target;
  }

  /**
   * A new array of `length` random bytes.
   *
   * @throws {@link InvalidArgumentError} if `length` is not a non-negative safe integer.
   */
  nextBytes(length: number): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new InvalidArgumentError(`a length is a non-negative integer, got ${length}`);
    }
    return this.fillBytes(new Uint8Array(length));
  }

  /**
   * A new generator seeded from this one's next draw: an independent stream for one part of a
   * simulation, so that how much another part draws does not shift it.
   */
  fork(): SeededRandom {
    return new SeededRandom(this.nextUint32());
  }
}
