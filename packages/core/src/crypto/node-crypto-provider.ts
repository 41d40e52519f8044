/**
 * The default {@link CryptoProvider}, on node:crypto (OpenSSL).
 *
 * @module
 */

import {
  type KeyObject,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomBytes,
  randomFillSync,
} from 'node:crypto';
import { InvalidArgumentError, InvalidStateError } from '../errors/lanchat-error.js';
import { LowOrderPublicKeyError } from '../errors/noise-errors.js';
import {
  AEAD_KEY_LENGTH,
  AEAD_TAG_LENGTH,
  type Aead,
  type CipherName,
  type CryptoProvider,
  type HashName,
  X25519_KEY_LENGTH,
  type X25519KeyPair,
} from './crypto-provider.js';
import { copyBytes } from '../util/bytes.js';

// node:crypto has no raw X25519 key format; keys go in and out as JWK, whose `d` and `x` are the
// raw key bytes in base64url. JWK rather than DER because OpenSSL 3's DER decoders and encoders
// cost about ten times more than a Diffie-Hellman operation (measured by the handshake benchmark:
// 180 us to import a DER public key, 14 us as JWK). Fresh keys are random bytes imported as JWK,
// not generateKeyPairSync() keys exported as JWK: on Node 20 the latter can deadlock when a
// garbage collection runs during the export.

function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

function fromBase64Url(text: string | undefined): Uint8Array {
  const buffer = Buffer.from(text ?? '', 'base64url');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

const NODE_CIPHER: Readonly<Record<CipherName, 'aes-256-gcm'>> = {
  ChaChaPoly: 'chacha20-poly1305' as 'aes-256-gcm',
  AESGCM: 'aes-256-gcm',
};
const NODE_HASH: Readonly<Record<HashName, string>> = { SHA256: 'sha256', BLAKE2b: 'blake2b512' };

/**
 * Private keys this provider made or imported, kept as KeyObjects so that repeated
 * Diffie-Hellman operations with the same key (a long-term static key) skip the JWK import. Keyed
 * weakly by the caller's byte array: when the caller drops the key, the KeyObject goes too.
 */
const privateKeyObjects = new WeakMap<Uint8Array, KeyObject>();

function checkLength(name: string, value: Uint8Array, length: number): void {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new InvalidArgumentError(`${name} must be ${length} bytes`);
  }
}

function privateKeyObject(privateKey: Uint8Array): KeyObject {
  let keyObject = privateKeyObjects.get(privateKey);
  if (keyObject === undefined) {
    checkLength('an X25519 private key', privateKey, X25519_KEY_LENGTH);
    // Node reads only `d` for a private OKP key; `x` must merely be a string.
    keyObject = createPrivateKey({
      key: { kty: 'OKP', crv: 'X25519', d: toBase64Url(privateKey), x: '' },
      format: 'jwk',
    });
    privateKeyObjects.set(privateKey, keyObject);
  }
  return keyObject;
}

/**
 * Peers' public keys as KeyObjects, keyed weakly by the caller's byte array, each with a copy of
 * the bytes it was imported from: a handshake uses the peer's ephemeral key in two DH operations
 * (ee, and es or se), and the second one skips the JWK import (about 14 us of a 55 us DH). The
 * copy is compared on every hit, so a caller that reuses its array for another key gets that key.
 */
const publicKeyObjects = new WeakMap<
  Uint8Array,
  { readonly bytes: Uint8Array; readonly key: KeyObject }
>();

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const cached = publicKeyObjects.get(publicKey);
  if (cached !== undefined && bytesEqual(cached.bytes, publicKey)) return cached.key;
  checkLength('an X25519 public key', publicKey, X25519_KEY_LENGTH);
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: toBase64Url(publicKey) },
    format: 'jwk',
  });
  publicKeyObjects.set(publicKey, { bytes: copyBytes(publicKey), key });
  return key;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function publicKeyOf(privateObject: KeyObject): Uint8Array {
  return fromBase64Url(privateObject.export({ format: 'jwk' }).x);
}

/** Plaintexts up to this many bytes are encrypted in one update() call. */
const SMALL_PLAINTEXT = 4096;

function joinParts(parts: readonly Uint8Array[], length: number): Uint8Array {
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

function isAllZero(bytes: Uint8Array): boolean {
  let accumulator = 0;
  for (const byte of bytes) accumulator |= byte;
  return accumulator === 0;
}

function asBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * The key stays raw bytes, not a KeyObject: createSecretKey() and the KeyObject it builds cost
 * about as much as a handshake's seal or open (10 keys per XX handshake, both sides), and
 * createCipheriv() takes raw bytes as readily. The bytes live outside the JavaScript heap (where
 * the garbage collector would move and copy them) and {@link NodeAead.wipe} erases them.
 */
class NodeAead implements Aead {
  readonly #algorithm: 'aes-256-gcm';
  readonly #key: Buffer;
  #wiped = false;

  constructor(cipher: CipherName, key: Uint8Array) {
    checkLength('an AEAD key', key, AEAD_KEY_LENGTH);
    this.#algorithm = NODE_CIPHER[cipher];
    this.#key = Buffer.allocUnsafeSlow(AEAD_KEY_LENGTH);
    this.#key.set(key);
  }

  wipe(): void {
    this.#key.fill(0);
    this.#wiped = true;
  }

  #checkKey(): void {
    if (this.#wiped) throw new InvalidStateError('this AEAD key was wiped');
  }

  seal(
    nonce: Uint8Array,
    associatedData: Uint8Array,
    plaintext: Uint8Array | readonly Uint8Array[],
    reserve = 0,
  ): Uint8Array {
    let parts = plaintext instanceof Uint8Array ? [plaintext] : plaintext;
    let length = 0;
    for (const part of parts) length += part.length;
    // Each update() call costs more than copying a few KiB: join small plaintexts first.
    if (parts.length > 1 && length <= SMALL_PLAINTEXT) parts = [joinParts(parts, length)];
    this.#checkKey();
    const cipher = createCipheriv(this.#algorithm, this.#key, nonce, {
      authTagLength: AEAD_TAG_LENGTH,
    });
    if (associatedData.length > 0) {
      cipher.setAAD(associatedData, { plaintextLength: length });
    }
    // Every byte after the reserve is overwritten below, so skip the zero fill (and the pool:
    // a pooled buffer would keep 8 KiB alive for as long as the caller keeps the result).
    const output = asBytes(Buffer.allocUnsafeSlow(reserve + length + AEAD_TAG_LENGTH));
    output.fill(0, 0, reserve);
    let offset = reserve;
    for (const part of parts) {
      const encrypted = cipher.update(part);
      output.set(encrypted, offset);
      offset += encrypted.length;
    }
    cipher.final();
    output.set(cipher.getAuthTag(), offset);
    return output;
  }

  open(
    nonce: Uint8Array,
    associatedData: Uint8Array,
    ciphertext: Uint8Array,
  ): Uint8Array | undefined {
    if (ciphertext.length < AEAD_TAG_LENGTH) return undefined;
    const length = ciphertext.length - AEAD_TAG_LENGTH;
    this.#checkKey();
    const decipher = createDecipheriv(this.#algorithm, this.#key, nonce, {
      authTagLength: AEAD_TAG_LENGTH,
    });
    decipher.setAuthTag(ciphertext.subarray(length));
    if (associatedData.length > 0) {
      decipher.setAAD(associatedData, { plaintextLength: length });
    }
    const plaintext = decipher.update(ciphertext.subarray(0, length));
    try {
      decipher.final();
    } catch {
      // OpenSSL reports a bad tag by throwing "Unsupported state or unable to authenticate data".
      plaintext.fill(0);
      return undefined;
    }
    return asBytes(plaintext);
  }
}

/** The {@link CryptoProvider} on node:crypto: X25519, ChaCha20-Poly1305, AES-256-GCM, SHA-256, BLAKE2b-512. */
export const nodeCryptoProvider: CryptoProvider = Object.freeze({
  name: 'node:crypto',

  generateX25519KeyPair(): X25519KeyPair {
    // X25519 clamps the scalar itself, so 32 uniformly random bytes are a private key.
    const privateKey = randomFillSync(new Uint8Array(X25519_KEY_LENGTH));
    return { privateKey, publicKey: publicKeyOf(privateKeyObject(privateKey)) };
  },

  x25519PublicKey(privateKey: Uint8Array): Uint8Array {
    return publicKeyOf(privateKeyObject(privateKey));
  },

  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
    const publicObject = publicKeyObject(publicKey);
    let shared: Buffer;
    try {
      shared = diffieHellman({ privateKey: privateKeyObject(privateKey), publicKey: publicObject });
    } catch (error) {
      // OpenSSL refuses to derive an all-zero secret, which only a low-order public key gives.
      throw new LowOrderPublicKeyError({ cause: error });
    }
    if (isAllZero(shared)) throw new LowOrderPublicKeyError();
    return asBytes(shared);
  },

  aead(cipher: CipherName, key: Uint8Array): Aead {
    return new NodeAead(cipher, key);
  },

  hash(hash: HashName, data: readonly Uint8Array[]): Uint8Array {
    const hasher = createHash(NODE_HASH[hash]);
    for (const part of data) hasher.update(part);
    return asBytes(hasher.digest());
  },

  hmac(hash: HashName, key: Uint8Array, data: readonly Uint8Array[]): Uint8Array {
    const hasher = createHmac(NODE_HASH[hash], key);
    for (const part of data) hasher.update(part);
    return asBytes(hasher.digest());
  },

  randomBytes(length: number): Uint8Array {
    return asBytes(randomBytes(length));
  },
});
