/**
 * MD5 checksums: the original lanchat programs' way of noticing corrupted messages and files.
 *
 * MD5 is a corruption checksum here and nothing more. It catches accidental damage (a flipped bit
 * on disk, a bug that truncates a file) and lets users compare a received file with `md5sum`. It
 * offers no protection against an attacker, who can change the data and recompute the checksum,
 * and MD5 collisions are cheap to make: never use it to authenticate anything. For that, use
 * {@link hmacSha256} with a shared key (or, from the next release, lanchat's encrypted channel).
 *
 * @module
 */

import { createHash } from './node-hashes.js';
import { ChecksumMismatchError } from '../errors/integrity-errors.js';
import { StreamingDigest, asUint8Array, checkBytes, constantTimeEqual } from './digest.js';

/** Bytes in an MD5 digest. */
export const MD5_LENGTH = 16;

/**
 * Returns the MD5 checksum (16 bytes) of `data`. A corruption checksum only: see the module
 * notes.
 */
export function md5(data: Uint8Array): Uint8Array {
  return asUint8Array(createHash('md5').update(data).digest());
}

/**
 * Checks that `data` has the MD5 checksum `expected`, in constant time.
 *
 * @throws {@link ChecksumMismatchError} if it does not (also if `expected` is not 16 bytes).
 * @throws {@link InvalidArgumentError} if `expected` is not a Uint8Array.
 */
export function verifyMd5(data: Uint8Array, expected: Uint8Array): void {
  checkBytes('expected', expected);
  if (!constantTimeEqual(md5(data), expected)) throw new ChecksumMismatchError();
}

/** An MD5 checksum computed over chunks (a file read piece by piece). */
export class Md5Digest extends StreamingDigest {
  readonly digestLength = MD5_LENGTH;

  constructor() {
    super(createHash('md5'));
  }

  protected mismatch(): Error {
    return new ChecksumMismatchError();
  }
}

/** Starts an MD5 checksum over chunks: `createMd5().update(a).update(b).digest()`. */
export function createMd5(): Md5Digest {
  return new Md5Digest();
}
