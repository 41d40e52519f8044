/**
 * Unsigned integers below 2^53 (exact in a JavaScript number) as 8 bytes, big-endian: the form
 * of every 64-bit field of the session's binary messages.
 *
 * @module
 */

const TWO_TO_32 = 2 ** 32;

/** Writes `value` (an unsigned integer below 2^53, checked by the caller) at `offset`. */
export function writeUint53(output: Uint8Array, offset: number, value: number): void {
  const high = Math.floor(value / TWO_TO_32);
  const low = value >>> 0;
  output[offset] = 0;
  output[offset + 1] = high >>> 16;
  output[offset + 2] = (high >>> 8) & 0xff;
  output[offset + 3] = high & 0xff;
  output[offset + 4] = low >>> 24;
  output[offset + 5] = (low >>> 16) & 0xff;
  output[offset + 6] = (low >>> 8) & 0xff;
  output[offset + 7] = low & 0xff;
}

/** Reads the 8 bytes at `offset`; `undefined` if they hold 2^53 or more. */
export function readUint53(bytes: Uint8Array, offset: number): number | undefined {
  const high =
    ((bytes[offset]! << 24) |
      (bytes[offset + 1]! << 16) |
      (bytes[offset + 2]! << 8) |
      bytes[offset + 3]!) >>>
    0;
  if (high >= 2 ** 21) return undefined;
  const low =
    ((bytes[offset + 4]! << 24) |
      (bytes[offset + 5]! << 16) |
      (bytes[offset + 6]! << 8) |
      bytes[offset + 7]!) >>>
    0;
  return high * TWO_TO_32 + low;
}
