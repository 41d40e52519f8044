/**
 * Unsigned 32-bit big-endian integers in byte arrays: the lengths of frames and tails, and the
 * numbers of reliable segments.
 *
 * @module
 */

/** Writes `value` (0 to 2^32 - 1) at `at`, big-endian. */
export function writeUint32(into: Uint8Array, at: number, value: number): void {
  into[at] = value >>> 24;
  into[at + 1] = (value >>> 16) & 0xff;
  into[at + 2] = (value >>> 8) & 0xff;
  into[at + 3] = value & 0xff;
}

/** Reads the big-endian unsigned 32-bit integer at `at`. */
export function readUint32(from: Uint8Array, at: number): number {
  return ((from[at]! << 24) | (from[at + 1]! << 16) | (from[at + 2]! << 8) | from[at + 3]!) >>> 0;
}
