/**
 * Errors of the integrity checks.
 *
 * @module
 */

import { RemoteProtocolError } from './lanchat-error.js';

/**
 * Data did not match its checksum (MD5, or SHA-256 for a file): it was corrupted on the way, on
 * disk, or changed after it was hashed.
 *
 * MD5 only detects accidental corruption; it says nothing about an attacker, who can recompute
 * it. The data must not be used. The hasher that verified it is finished; nothing else changes.
 */
export class ChecksumMismatchError extends RemoteProtocolError {
  static override readonly errorName: string = 'ChecksumMismatchError';

  /**
   * @param what the data checked, for the message
   * @param digest the checksum's name, for the message
   */
  constructor(what = 'the data', digest = 'MD5') {
    super(`${what} does not match its ${digest} checksum: it was corrupted and must not be used`);
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
