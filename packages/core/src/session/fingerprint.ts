/**
 * Key fingerprints, as people compare them.
 *
 * @module
 */

import type { CryptoProvider } from '../crypto/crypto-provider.js';
import { X25519_KEY_LENGTH } from '../crypto/crypto-provider.js';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import { InvalidArgumentError } from '../errors/lanchat-error.js';

/**
 * The fingerprint of a public key in the form OpenSSH made familiar: `SHA256:` and the SHA-256 of
 * the 32 key bytes in unpadded base64, e.g. `SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU`.
 * Read aloud the first few characters to check a server's identity.
 *
 * @throws `InvalidArgumentError` unless the key is 32 bytes.
 */
export function keyFingerprint(
  publicKey: Uint8Array,
  crypto: CryptoProvider = nodeCryptoProvider,
): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== X25519_KEY_LENGTH) {
    throw new InvalidArgumentError(`a public key must be ${X25519_KEY_LENGTH} bytes`);
  }
  const digest = crypto.hash('SHA256', [publicKey]);
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  return `SHA256:${btoa(binary).replace(/=+$/, '')}`;
}
