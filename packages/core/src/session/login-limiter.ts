/**
 * Rate limiting of failed logins, by account and by network address.
 *
 * @module
 */

import { checkLimit } from '../frame/limits.js';

/** Options of a {@link LoginLimiter}; every field has a default. */
export interface LoginLimiterOptions {
  /** Failures allowed before waiting is imposed. Default 3. */
  readonly freeFailures?: number;
  /** Wait after the first failure past the free ones, in ms; it doubles with each further one. Default 1000. */
  readonly baseDelay?: number;
  /** Longest wait, in ms. Default 300 000 (5 minutes). */
  readonly maxDelay?: number;
  /** A key's failures are forgotten this long after its last one, in ms. Default 3 600 000 (1 hour). */
  readonly forgetAfter?: number;
  /** Most keys remembered; the oldest is forgotten first. Default 10 000. */
  readonly maxEntries?: number;
}

interface Entry {
  failures: number;
  lastFailure: number;
  lockedUntil: number;
}

/**
 * Counts failed logins per key (an account name, a network address) and says how long a key must
 * wait before its next try: nothing for the first `freeFailures`, then `baseDelay` doubling up to
 * `maxDelay`. A success clears the key. Memory is bounded by `maxEntries`.
 */
export class LoginLimiter {
  readonly #freeFailures: number;
  readonly #baseDelay: number;
  readonly #maxDelay: number;
  readonly #forgetAfter: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Entry>();

  /** @throws `InvalidArgumentError` for an option out of range. */
  constructor(options: LoginLimiterOptions = {}) {
    this.#freeFailures = checkLimit('freeFailures', options.freeFailures, 3, 0, 1000);
    this.#baseDelay = checkLimit('baseDelay', options.baseDelay, 1000, 1, 2 ** 31);
    this.#maxDelay = checkLimit('maxDelay', options.maxDelay, 300_000, 1, 2 ** 31);
    this.#forgetAfter = checkLimit('forgetAfter', options.forgetAfter, 3_600_000, 1, 2 ** 40);
    this.#maxEntries = checkLimit('maxEntries', options.maxEntries, 10_000, 1, 10_000_000);
  }

  /** Keys remembered now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Milliseconds until any of `keys` may try again; 0 when all may try now. */
  waitTime(keys: readonly string[], now: number): number {
    let wait = 0;
    for (const key of keys) {
      const entry = this.#current(key, now);
      if (entry !== undefined) wait = Math.max(wait, entry.lockedUntil - now);
    }
    return wait;
  }

  /** Records a failed try for each of `keys`; returns the wait now imposed, in ms. */
  recordFailure(keys: readonly string[], now: number): number {
    for (const key of keys) {
      const entry = this.#current(key, now) ?? { failures: 0, lastFailure: now, lockedUntil: now };
      entry.failures++;
      entry.lastFailure = now;
      const excess = entry.failures - this.#freeFailures;
      entry.lockedUntil =
        excess <= 0
          ? now
          : now + Math.min(this.#maxDelay, this.#baseDelay * 2 ** Math.min(excess - 1, 40));
      // Re-insert so that the map's order is the order of last use: the first key is the oldest.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    return this.waitTime(keys, now);
  }

  /** Forgets the failures of `keys` (after a successful login). */
  recordSuccess(keys: readonly string[]): void {
    for (const key of keys) this.#entries.delete(key);
  }

  #current(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined && now - entry.lastFailure >= this.#forgetAfter) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
