/**
 * Timing shared by the file-transfer machines: their default timeouts, and the retransmission
 * timer they run over a lossy link.
 *
 * @module
 */

/** Default time the receiver's user has to accept or reject an offer: 5 minutes. */
export const DEFAULT_OFFER_TIMEOUT = 300_000;

/**
 * Default time a transfer may go without progress before it fails as `stalled`: 60 s. It also
 * bounds how long a transfer waits for its peer to come back after a dropped connection.
 */
export const DEFAULT_STALL_TIMEOUT = 60_000;

/** First retransmission timeout on a lossy link, before any round trip was measured (RFC 6298). */
export const INITIAL_RETRANSMIT_TIMEOUT = 1_000;

/** Shortest retransmission timeout. */
export const MIN_RETRANSMIT_TIMEOUT = 200;

/**
 * Longest retransmission timeout: 10 s, so that backing off still leaves several tries within the
 * stall timeout.
 */
export const MAX_RETRANSMIT_TIMEOUT = 10_000;

/**
 * The retransmission timer of RFC 6298: a smoothed round-trip time and its variation, measured
 * on messages sent once only (Karn's rule, which the caller applies), doubled on each timeout.
 */
export class RetransmitTimer {
  #smoothed: number | undefined;
  #variation = 0;
  #timeout = INITIAL_RETRANSMIT_TIMEOUT;
  readonly #min: number;

  /** `min`: the shortest timeout, in ms. Default {@link MIN_RETRANSMIT_TIMEOUT}. */
  constructor(options: { readonly min?: number } = {}) {
    this.#min = options.min ?? MIN_RETRANSMIT_TIMEOUT;
  }

  /** The current timeout, in milliseconds. */
  get timeout(): number {
    return this.#timeout;
  }

  /** The smoothed round-trip time, or the initial timeout before any sample. */
  get roundTrip(): number {
    return this.#smoothed ?? INITIAL_RETRANSMIT_TIMEOUT;
  }

  /** Takes one round-trip measurement. */
  sample(roundTrip: number): void {
    if (this.#smoothed === undefined) {
      this.#smoothed = roundTrip;
      this.#variation = roundTrip / 2;
    } else {
      this.#variation = 0.75 * this.#variation + 0.25 * Math.abs(this.#smoothed - roundTrip);
      this.#smoothed = 0.875 * this.#smoothed + 0.125 * roundTrip;
    }
    this.#timeout = this.#clamp(this.#smoothed + Math.max(10, 4 * this.#variation));
  }

  /** A timeout expired: wait twice as long next time, until a new measurement. */
  backOff(): void {
    this.#timeout = this.#clamp(this.#timeout * 2);
  }

  #clamp(timeout: number): number {
    return Math.min(MAX_RETRANSMIT_TIMEOUT, Math.max(this.#min, timeout));
  }
}
