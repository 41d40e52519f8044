/**
 * HMAC-SHA256 (RFC 2104 with SHA-256): keyed authentication tags. Whoever holds the key can make
 * and check a tag; anyone without it can neither forge one nor change tagged data unnoticed.
 *
 * @module
 */

import { createHmac } from './node-hashes.js';
import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { TamperedError } from '../errors/integrity-errors.js';
import { StreamingDigest, asUint8Array, checkBytes, constantTimeEqual } from './digest.js';

/** Bytes in an HMAC-SHA256 tag. */
export const HMAC_SHA256_LENGTH = 32;

function checkKey(key: Uint8Array): void {
  checkBytes('key', key);
  // HMAC accepts an empty key, but an empty key authenticates nothing: it is always a bug.
  if (key.length === 0) throw new InvalidArgumentError('an HMAC key must not be empty');
}

/**
 * Returns the HMAC-SHA256 tag (32 bytes) of `data` under `key`. The key is used as given; keys
 * longer than 64 bytes are hashed first, as RFC 2104 says. Use at least 32 random bytes.
 *
 * @throws {@link InvalidArgumentError} if the key is empty.
 */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  checkKey(key);
  return asUint8Array(createHmac('sha256', key).update(data).digest());
}

/**
 * Checks, in constant time, that `tag` is the HMAC-SHA256 of `data` under `key`. Returns
 * nothing: a mismatch throws, so it cannot be ignored by accident.
 *
 * @throws {@link TamperedError} if the tag does not match (also if it is not 32 bytes long).
 * @throws {@link InvalidArgumentError} if the key is empty or `tag` is not a Uint8Array.
 */
export function verifyHmacSha256(key: Uint8Array, data: Uint8Array, tag: Uint8Array): void {
  checkBytes('tag', tag);
  if (!constantTimeEqual(hmacSha256(key, data), tag)) throw new TamperedError();
}

/** An HMAC-SHA256 tag computed over chunks. */
export class HmacSha256Digest extends StreamingDigest {
  readonly digestLength = HMAC_SHA256_LENGTH;

  /** @throws {@link InvalidArgumentError} if the key is empty. */
  constructor(key: Uint8Array) {
    checkKey(key);
    super(createHmac('sha256', key));
  }

  protected mismatch(): Error {
    return new TamperedError();
  }
}

/**
 * Starts an HMAC-SHA256 tag over chunks: `createHmacSha256(key).update(a).update(b).verify(tag)`.
 *
 * @throws {@link InvalidArgumentError} if the key is empty.
 */
export function createHmacSha256(key: Uint8Array): HmacSha256Digest {
  return new HmacSha256Digest(key);
}
