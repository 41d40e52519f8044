/**
 * The cryptographic primitives lanchat's protocol code needs, behind one interface, so that the
 * protocol code never names an implementation. `@lanchat/core` ships {@link nodeCryptoProvider}
 * (node:crypto); a browser build plugs in its own; tests plug in fixed keys and randomness.
 *
 * The interface is synchronous on purpose: the protocol machines are synchronous
 * (`receive(bytes, now)` returns when the input is consumed), and an asynchronous primitive would
 * make every machine asynchronous. WebCrypto is asynchronous, so a browser provider uses
 * synchronous, audited JavaScript implementations instead.
 *
 * @module
 */

/** A Noise cipher name. */
export type CipherName = 'ChaChaPoly' | 'AESGCM';

/** A Noise hash name. */
export type HashName = 'SHA256' | 'BLAKE2b';

/** An X25519 key pair: 32-byte private and public keys. */
export interface X25519KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/**
 * An AEAD cipher bound to one 32-byte key. Nonces are 12 bytes; the tag is 16 bytes and is
 * appended to the ciphertext.
 */
export interface Aead {
  /**
   * Encrypts and authenticates the concatenation of `plaintext` (one part or several, so that a
   * caller can add a header without copying the body). Returns a new buffer: `reserve` bytes left
   * for the caller (zeros), then the ciphertext, then the 16-byte tag.
   */
  seal(
    nonce: Uint8Array,
    associatedData: Uint8Array,
    plaintext: Uint8Array | readonly Uint8Array[],
    reserve?: number,
  ): Uint8Array;
  /**
   * Authenticates and decrypts `ciphertext` (with its tag at the end). Returns the plaintext, or
   * `undefined` if authentication fails (including input shorter than a tag); never throws for
   * bad input.
   */
  open(
    nonce: Uint8Array,
    associatedData: Uint8Array,
    ciphertext: Uint8Array,
  ): Uint8Array | undefined;
  /**
   * Optional: erases the provider's copy of the key. The Aead must not be used after (a provider
   * that implements this throws). `CipherState` calls it when it replaces or wipes its key.
   */
  wipe?(): void;
}

/** The primitives behind Noise and the secure channel. */
export interface CryptoProvider {
  /** A short name for diagnostics, e.g. `"node:crypto"`. */
  readonly name: string;
  /** Generates a fresh X25519 key pair from the provider's randomness. */
  generateX25519KeyPair(): X25519KeyPair;
  /** Computes the public key of a 32-byte X25519 private key. */
  x25519PublicKey(privateKey: Uint8Array): Uint8Array;
  /**
   * X25519 Diffie-Hellman: the 32-byte shared secret of a private key and a peer's public key.
   *
   * @throws `LowOrderPublicKeyError` if the peer's key is a low-order point (the shared secret
   * would be all zeros and carry no secret).
   */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
  /** Returns an AEAD cipher of the named kind bound to a 32-byte key. */
  aead(cipher: CipherName, key: Uint8Array): Aead;
  /** Hashes the concatenation of `data`: 32 bytes for SHA256, 64 for BLAKE2b. */
  hash(hash: HashName, data: readonly Uint8Array[]): Uint8Array;
  /** HMAC (RFC 2104) over the concatenation of `data` with the named hash. */
  hmac(hash: HashName, key: Uint8Array, data: readonly Uint8Array[]): Uint8Array;
  /** Returns `length` cryptographically secure random bytes. */
  randomBytes(length: number): Uint8Array;
}

/** Bytes in an X25519 key or shared secret. */
export const X25519_KEY_LENGTH = 32;

/** Bytes in an AEAD key. */
export const AEAD_KEY_LENGTH = 32;

/** Bytes in an AEAD tag. */
export const AEAD_TAG_LENGTH = 16;

/** Bytes in an AEAD nonce. */
export const AEAD_NONCE_LENGTH = 12;

/** Output length of each hash, in bytes (Noise's HASHLEN). */
export const HASH_LENGTH: Readonly<Record<HashName, number>> = { SHA256: 32, BLAKE2b: 64 };

/** Block length of each hash, in bytes (Noise's BLOCKLEN). */
export const HASH_BLOCK_LENGTH: Readonly<Record<HashName, number>> = { SHA256: 64, BLAKE2b: 128 };
