/**
 * A {@link CryptoProvider} for browsers (and any JavaScript runtime): the audited pure-JavaScript
 * noble libraries, randomness from `crypto.getRandomValues`. No Node.js module. Entry point
 * `@lanchat/core/browser-crypto`.
 *
 * WebCrypto is not used: its operations are asynchronous, and the protocol machines are
 * synchronous by design (docs/decisions.md); it also has neither ChaCha20-Poly1305 nor BLAKE2b.
 *
 * @module
 */

import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { gcm } from '@noble/ciphers/aes.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { LowOrderPublicKeyError } from '../errors/noise-errors.js';
import {
  AEAD_KEY_LENGTH,
  AEAD_NONCE_LENGTH,
  AEAD_TAG_LENGTH,
  type Aead,
  type CipherName,
  type CryptoProvider,
  type HashName,
  X25519_KEY_LENGTH,
  type X25519KeyPair,
} from './crypto-provider.js';

function concat(parts: Uint8Array | readonly Uint8Array[], reserve = 0): Uint8Array {
  if (parts instanceof Uint8Array && reserve === 0) return parts;
  const list = parts instanceof Uint8Array ? [parts] : parts;
  let length = reserve;
  for (const part of list) length += part.length;
  const joined = new Uint8Array(length);
  let offset = reserve;
  for (const part of list) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

function checkKey(what: string, key: Uint8Array, length: number): void {
  if (!(key instanceof Uint8Array) || key.length !== length) {
    throw new InvalidArgumentError(`${what} must be ${length} bytes`);
  }
}

class BrowserAead implements Aead {
  readonly #cipher: CipherName;
  #key: Uint8Array | undefined;

  constructor(cipher: CipherName, key: Uint8Array) {
    checkKey('an AEAD key', key, AEAD_KEY_LENGTH);
    this.#cipher = cipher;
    this.#key = key.slice();
  }

  seal(
    nonce: Uint8Array,
    associatedData: Uint8Array,
    plaintext: Uint8Array | readonly Uint8Array[],
    reserve = 0,
  ): Uint8Array {
    const sealed = this.#make(nonce, associatedData).encrypt(concat(plaintext));
    return reserve === 0 ? sealed : concat(sealed, reserve);
  }

  open(
    nonce: Uint8Array,
    associatedData: Uint8Array,
    ciphertext: Uint8Array,
  ): Uint8Array | undefined {
    if (ciphertext.length < AEAD_TAG_LENGTH) return undefined;
    try {
      return this.#make(nonce, associatedData).decrypt(ciphertext);
    } catch {
      return undefined;
    }
  }

  wipe(): void {
    this.#key?.fill(0);
    this.#key = undefined;
  }

  #make(nonce: Uint8Array, associatedData: Uint8Array) {
    const key = this.#key;
    if (key === undefined) throw new InvalidArgumentError('this AEAD key was wiped');
    checkKey('a nonce', nonce, AEAD_NONCE_LENGTH);
    return this.#cipher === 'ChaChaPoly'
      ? chacha20poly1305(key, nonce, associatedData)
      : gcm(key, nonce, associatedData);
  }
}

const HASHES = { SHA256: sha256, BLAKE2b: blake2b } as const;

/**
 * The crypto provider for browsers: X25519, ChaCha20-Poly1305, AES-256-GCM, SHA-256, BLAKE2b and
 * HMAC from the noble libraries (`@noble/curves`, `@noble/ciphers`, `@noble/hashes`), proven
 * against the same Noise test vectors as {@link nodeCryptoProvider}. Slower than node:crypto (see
 * `pnpm bench crypto`): in Node.js, use the default.
 */
export const browserCryptoProvider: CryptoProvider = Object.freeze({
  name: 'noble (browser)',

  generateX25519KeyPair(): X25519KeyPair {
    const privateKey = randomBytes(X25519_KEY_LENGTH);
    return { privateKey, publicKey: x25519.getPublicKey(privateKey) };
  },

  x25519PublicKey(privateKey: Uint8Array): Uint8Array {
    checkKey('an X25519 private key', privateKey, X25519_KEY_LENGTH);
    return x25519.getPublicKey(privateKey);
  },

  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
    checkKey('an X25519 private key', privateKey, X25519_KEY_LENGTH);
    checkKey('an X25519 public key', publicKey, X25519_KEY_LENGTH);
    let shared: Uint8Array;
    try {
      shared = x25519.getSharedSecret(privateKey, publicKey);
    } catch (error) {
      // noble refuses a low-order point itself (an all-zero result).
      throw new LowOrderPublicKeyError({ cause: error });
    }
    let bits = 0;
    for (const byte of shared) bits |= byte;
    if (bits === 0) throw new LowOrderPublicKeyError();
    return shared;
  },

  aead(cipher: CipherName, key: Uint8Array): Aead {
    return new BrowserAead(cipher, key);
  },

  hash(hash: HashName, data: readonly Uint8Array[]): Uint8Array {
    const state = HASHES[hash].create();
    for (const part of data) state.update(part);
    return state.digest();
  },

  hmac(hash: HashName, key: Uint8Array, data: readonly Uint8Array[]): Uint8Array {
    const state = hmac.create(HASHES[hash], key);
    for (const part of data) state.update(part);
    return state.digest();
  },

  randomBytes(length: number): Uint8Array {
    return randomBytes(length);
  },
});
