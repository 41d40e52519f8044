/**
 * SHA-256 over chunks: the digest that decides whether a transferred file arrived whole.
 *
 * Unlike MD5, SHA-256 resists deliberate collisions, so a file whose SHA-256 matches the one its
 * sender announced is the file the sender hashed. (The channel already authenticates every byte
 * on the way; the digest also catches a source file that changed while it was read, a bad disk,
 * or a resumed transfer whose first part no longer matches.)
 *
 * @module
 */

import { createHash } from './node-hashes.js';
import { ChecksumMismatchError } from '../errors/integrity-errors.js';
import { StreamingDigest } from './digest.js';

/** Bytes in a SHA-256 digest. */
export const SHA256_LENGTH = 32;

/** A SHA-256 digest computed over chunks (a file read or received piece by piece). */
export class Sha256Digest extends StreamingDigest {
  readonly digestLength = SHA256_LENGTH;

  constructor() {
    super(createHash('sha256'));
  }

  protected mismatch(): Error {
    return new ChecksumMismatchError('the data', 'SHA-256');
  }
}

/** Starts a SHA-256 digest over chunks: `createSha256().update(a).update(b).digest()`. */
export function createSha256(): Sha256Digest {
  return new Sha256Digest();
}
