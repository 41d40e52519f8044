/**
 * Buffers whose every byte is written at once: on node, `Buffer.allocUnsafeSlow` skips the zero
 * fill that `new Uint8Array` pays (a 64 KB zero fill costs several times the copy that follows
 * it). Elsewhere, a plain `Uint8Array`.
 *
 * @module
 */

type UnsafeAllocator = (size: number) => Uint8Array;

const allocateUnsafe: UnsafeAllocator | undefined = (
  globalThis as { Buffer?: { allocUnsafeSlow?: UnsafeAllocator } }
).Buffer?.allocUnsafeSlow;

/** Below this, `new Uint8Array` (on the JavaScript heap) is the cheaper one. */
const UNSAFE_FROM = 4096;

/**
 * A buffer of `length` bytes that the caller overwrites whole before anyone reads it: its
 * contents start undefined (not zero) when large. A plain `Uint8Array` view, never a `Buffer`.
 */
export function bytesToOverwrite(length: number): Uint8Array {
  if (allocateUnsafe === undefined || length < UNSAFE_FROM) return new Uint8Array(length);
  const buffer = allocateUnsafe(length);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
}

/**
 * A copy of `bytes` as a plain `Uint8Array`. Not `bytes.slice()`: on a node `Buffer` that is a
 * view sharing its memory, so a caller reusing its buffer would change what was meant as a copy.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
