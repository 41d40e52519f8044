import fc from 'fast-check';

/** Cuts `bytes` at the given offsets (any order, duplicates allowed) into views. */
export function cutAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const cuts = [...new Set(offsets.map((offset) => Math.min(offset, bytes.length)))].sort(
    (a, b) => a - b,
  );
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const cut of cuts) {
    chunks.push(bytes.subarray(start, cut));
    start = cut;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

/** Cuts `bytes` into chunks of one byte each. */
export function byteByByte(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (_, index) => bytes.subarray(index, index + 1));
}

/** Concatenates byte strings. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const output = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    output.set(part, offset);
    offset += part.length;
  }
  return output;
}

/**
 * Cut offsets for a byte string of unknown length: mostly small numbers so that chunks are often
 * tiny, with empty chunks (repeated offsets) and the occasional large one.
 */
export const arbitraryCuts = fc.array(fc.oneof(fc.nat(64), fc.nat(4096)), { maxLength: 40 });

/** True if both lists hold the same byte strings in the same order (faster than deep equality). */
export function sameFrames(
  actual: readonly Uint8Array[],
  expected: readonly Uint8Array[],
): boolean {
  if (actual.length !== expected.length) return false;
  return actual.every((frame, index) => Buffer.compare(frame, expected[index]!) === 0);
}
