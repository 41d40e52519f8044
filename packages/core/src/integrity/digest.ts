/**
 * The shared shape of streaming digests (MD5, HMAC-SHA256): update with chunks, then either take
 * the digest or verify it against an expected value in constant time.
 *
 * @module
 */

import { timingSafeEqual } from './node-hashes.js';
import { InvalidArgumentError, InvalidStateError } from '../errors/lanchat-error.js';

/**
 * Compares two byte strings in time that depends only on their lengths, never on where they
 * differ. Lengths are not secret (digest and tag lengths are public), so unequal lengths return
 * `false` at once.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** Turns any byte view into a Uint8Array without copying (node:crypto returns Buffers). */
export function asUint8Array(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** What a streaming digest needs of its node:crypto engine (a Hash or an Hmac). */
interface DigestEngine {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
}

/**
 * A digest computed over chunks. After {@link StreamingDigest.digest} or
 * {@link StreamingDigest.verify} it is finished: further calls throw {@link InvalidStateError}.
 */
export abstract class StreamingDigest {
  /** Bytes in the digest this object produces. */
  abstract readonly digestLength: number;
  #engine: DigestEngine | undefined;

  protected constructor(engine: DigestEngine) {
    this.#engine = engine;
  }

  /** True once the digest was taken or verified. */
  get finished(): boolean {
    return this.#engine === undefined;
  }

  /**
   * Adds a chunk. Returns `this`, so calls chain.
   *
   * @throws {@link InvalidStateError} if the digest is finished.
   */
  update(chunk: Uint8Array): this {
    this.#live('update').update(chunk);
    return this;
  }

  /**
   * Finishes and returns the digest of every chunk added.
   *
   * @throws {@link InvalidStateError} if the digest is already finished.
   */
  digest(): Uint8Array {
    const engine = this.#live('digest');
    this.#engine = undefined;
    return asUint8Array(engine.digest());
  }

  /**
   * Finishes and checks, in constant time, that the digest equals `expected`. Returns nothing:
   * a mismatch throws, so it cannot be ignored by accident.
   *
   * @throws the mismatch error of the digest kind (`ChecksumMismatchError` for MD5,
   * `TamperedError` for HMAC-SHA256), also when `expected` has the wrong length.
   * @throws {@link InvalidStateError} if the digest is already finished.
   * @throws {@link InvalidArgumentError} if `expected` is not a Uint8Array (a hex string, say).
   */
  verify(expected: Uint8Array): void {
    checkBytes('expected', expected);
    if (!constantTimeEqual(this.digest(), expected)) throw this.mismatch();
  }

  /** The error a failed {@link verify} throws. */
  protected abstract mismatch(): Error;

  #live(operation: string): DigestEngine {
    if (this.#engine === undefined) {
      throw new InvalidStateError(`${operation}() was called on a digest that is already finished`);
    }
    return this.#engine;
  }
}

/** Checks that an expected digest argument is bytes, so that a hex string is not compared. */
export function checkBytes(name: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${name} must be a Uint8Array`);
  }
}
