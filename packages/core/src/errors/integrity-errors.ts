/**
 * Errors of the integrity checks.
 *
 * @module
 */

import { RemoteProtocolError } from './lanchat-error.js';

/**
 * Data did not match its MD5 checksum: it was corrupted on the way (or on disk).
 *
 * MD5 only detects accidental corruption; it says nothing about an attacker, who can recompute
 * it. The data must not be used. The hasher that verified it is finished; nothing else changes.
 */
export class ChecksumMismatchError extends RemoteProtocolError {
  static override readonly errorName: string = 'ChecksumMismatchError';

  constructor(what = 'the data') {
    super(`${what} does not match its MD5 checksum: it was corrupted and must not be used`);
  }
}

/**
 * Data did not match its keyed authentication tag (HMAC-SHA256): it was tampered with, forged, or
 * the two sides do not share the same key.
 *
 * The data must not be used. The object that verified it is finished (a one-shot check) or
 * failed for good (a channel); close the connection the data came from.
 */
export class TamperedError extends RemoteProtocolError {
  static override readonly errorName: string = 'TamperedError';

  constructor(what = 'the data') {
    super(
      `${what} failed authentication: it was tampered with or forged (or the keys differ), ` +
        'and must not be used',
    );
  }
}
