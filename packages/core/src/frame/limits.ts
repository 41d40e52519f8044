/**
 * Limits of the framing codec and the checks on limit options.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors/lanchat-error.js';

/** Bytes in a stream frame header: the payload length as an unsigned 32-bit big-endian integer. */
export const STREAM_FRAME_HEADER_LENGTH = 4;

/**
 * Default largest stream frame payload, in bytes: 65535.
 *
 * Every frame on a lanchat stream carries one Noise message, and the Noise Protocol Framework caps
 * a message at 65535 bytes, so no valid lanchat peer ever needs more. With this default a
 * connection's decoder holds at most 65535 + 4 bytes of an unfinished frame.
 */
export const DEFAULT_MAX_STREAM_FRAME_LENGTH = 65_535;

/** The largest `maxFrameLength` a stream codec accepts: what a 32-bit length header can carry. */
export const STREAM_FRAME_LENGTH_CEILING = 0xffff_ffff;

/**
 * Default largest datagram, header included, in bytes: 1200.
 *
 * The IPv6 minimum MTU is 1280 bytes; less 40 bytes of IPv6 header and 8 of UDP header leaves
 * 1232. 1200 (QUIC's choice too) stays clear of that with room for tunnel overheads, so a
 * datagram of this size crosses any LAN without IP fragmentation.
 */
export const DEFAULT_MAX_DATAGRAM_LENGTH = 1200;

/** The largest `maxDatagramLength` accepted: the largest UDP payload over IPv4 (65535 - 20 - 8). */
export const DATAGRAM_LENGTH_CEILING = 65_507;

/**
 * Returns `value` if it is an integer in [minimum, maximum], `fallback` if it is undefined, and
 * throws {@link InvalidArgumentError} otherwise.
 */
export function checkLimit(
  name: string,
  value: number | undefined,
  fallback: number,
  minimum: number,
  maximum: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < minimum || value > maximum) {
    throw new InvalidArgumentError(
      `${name} must be an integer from ${minimum} to ${maximum}, got ${String(value)}`,
    );
  }
  return value;
}
