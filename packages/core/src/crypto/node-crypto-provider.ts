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
  createSecretKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
} from 'node:crypto';
import { InvalidArgumentError } from '../errors/lanchat-error.js';
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

// node:crypto imports and exports raw X25519 keys only wrapped in DER: these are the fixed DER
// prefixes of a PKCS#8 private key and an SPKI public key for the X25519 OID (1.3.101.110), each
// followed by the 32 raw key bytes.
const PKCS8_X25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);
const SPKI_X25519_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00,
]);

// Typed as the GCM name only because @types/node has one overload per AEAD family and a union
// matches none; the options (a 16-byte tag) are the same for both.
const NODE_CIPHER: Readonly<Record<CipherName, 'aes-256-gcm'>> = {
  ChaChaPoly: 'chacha20-poly1305' as 'aes-256-gcm',
  AESGCM: 'aes-256-gcm',
};
const NODE_HASH: Readonly<Record<HashName, string>> = { SHA256: 'sha256', BLAKE2b: 'blake2b512' };

/**
 * Private keys this provider made or imported, kept as KeyObjects so that repeated
 * Diffie-Hellman operations with the same key (a long-term static key) skip the DER import. Keyed
 * weakly by the caller's byte array: when the caller drops the key, the KeyObject goes too.
 */
const privateKeyObjects = new WeakMap<Uint8Array, KeyObject>();

function checkLength(name: string, value: Uint8Array, length: number): void {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new InvalidArgumentError(`${name} must be ${length} bytes`);
  }
}

function withPrefix(prefix: Uint8Array, key: Uint8Array): Buffer {
  const der = Buffer.allocUnsafe(prefix.length + key.length);
  der.set(prefix, 0);
  der.set(key, prefix.length);
  return der;
}

function privateKeyObject(privateKey: Uint8Array): KeyObject {
  let keyObject = privateKeyObjects.get(privateKey);
  if (keyObject === undefined) {
    checkLength('an X25519 private key', privateKey, X25519_KEY_LENGTH);
    keyObject = createPrivateKey({
      key: withPrefix(PKCS8_X25519_PREFIX, privateKey),
      format: 'der',
      type: 'pkcs8',
    });
    privateKeyObjects.set(privateKey, keyObject);
  }
  return keyObject;
}

function rawPublicKey(keyObject: KeyObject): Uint8Array {
  const der = keyObject.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.buffer, der.byteOffset + SPKI_X25519_PREFIX.length, X25519_KEY_LENGTH);
}

function isAllZero(bytes: Uint8Array): boolean {
  let accumulator = 0;
  for (const byte of bytes) accumulator |= byte;
  return accumulator === 0;
}

function asBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

class NodeAead implements Aead {
  readonly #algorithm: 'aes-256-gcm';
  readonly #key: KeyObject;

  constructor(cipher: CipherName, key: Uint8Array) {
    checkLength('an AEAD key', key, AEAD_KEY_LENGTH);
    this.#algorithm = NODE_CIPHER[cipher];
    this.#key = createSecretKey(key);
  }

  seal(
    nonce: Uint8Array,
    associatedData: Uint8Array,
    plaintext: Uint8Array | readonly Uint8Array[],
    reserve = 0,
  ): Uint8Array {
    const parts = plaintext instanceof Uint8Array ? [plaintext] : plaintext;
    let length = 0;
    for (const part of parts) length += part.length;
    const cipher = createCipheriv(this.#algorithm, this.#key, nonce, {
      authTagLength: AEAD_TAG_LENGTH,
    });
    if (associatedData.length > 0) {
      cipher.setAAD(associatedData, { plaintextLength: length });
    }
    const output = new Uint8Array(reserve + length + AEAD_TAG_LENGTH);
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
    const { privateKey: privateObject, publicKey: publicObject } = generateKeyPairSync('x25519');
    const pkcs8 = privateObject.export({ format: 'der', type: 'pkcs8' });
    // Copy the private key out of the DER buffer so that wiping it wipes the only copy we made.
    const privateKey = Uint8Array.from(pkcs8.subarray(PKCS8_X25519_PREFIX.length));
    pkcs8.fill(0);
    privateKeyObjects.set(privateKey, privateObject);
    return { privateKey, publicKey: rawPublicKey(publicObject) };
  },

  x25519PublicKey(privateKey: Uint8Array): Uint8Array {
    return rawPublicKey(createPublicKey(privateKeyObject(privateKey)));
  },

  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
    checkLength('an X25519 public key', publicKey, X25519_KEY_LENGTH);
    const publicObject = createPublicKey({
      key: withPrefix(SPKI_X25519_PREFIX, publicKey),
      format: 'der',
      type: 'spki',
    });
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
