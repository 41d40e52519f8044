/**
 * What the testing pair needs of a sans-I/O machine to drive it.
 *
 * @module
 */

/**
 * A sans-I/O protocol machine as the testing pair drives it: the shape every lanchat machine
 * (secure channel, session, transfer) has. Time is a number of milliseconds on the pair's virtual
 * clock.
 */
export interface Endpoint {
  /** Feeds what arrived: a chunk of a stream, or one datagram. */
  receive(data: Uint8Array, now: number): void;
  /** The next bytes (stream) or datagram to put on the wire, or `undefined` when there is none. */
  pollTransmit(now: number): Uint8Array | undefined;
  /** The time of the machine's next deadline, or `undefined` when it has none. */
  pollTimeout(): number | undefined;
  /** Tells the machine that time `now` has come; it acts on every deadline that has passed. */
  handleTimeout(now: number): void;
}
