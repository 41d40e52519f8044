/**
 * Noise's CipherState (section 5.1): an AEAD key and a 64-bit nonce counter.
 *
 * @module
 */

import {
  AEAD_KEY_LENGTH,
  AEAD_NONCE_LENGTH,
  AEAD_TAG_LENGTH,
  type Aead,
  type CipherName,
  type CryptoProvider,
} from '../crypto/crypto-provider.js';
import { TamperedError } from '../errors/integrity-errors.js';
import { InvalidArgumentError, InvalidStateError } from '../errors/lanchat-error.js';
import { NonceExhaustedError } from '../errors/noise-errors.js';
import { copyBytes } from '../util/bytes.js';

/** 2^64 - 1: the nonce Noise reserves for rekeying; no message may use it. */
export const MAX_NONCE = 0xffff_ffff_ffff_ffffn;

const ZERO_KEY = new Uint8Array(AEAD_KEY_LENGTH);
const EMPTY = new Uint8Array(0);

/**
 * An AEAD key with its nonce counter. Without a key, "encryption" returns the plaintext as Noise
 * specifies (early handshake messages).
 */
export class CipherState {
  /** The cipher in use. */
  readonly cipher: CipherName;
  readonly #crypto: CryptoProvider;
  #key: Uint8Array | undefined;
  #aead: Aead | undefined;
  #nonce = 0n;
  /** Reused for every message; nonces are formatted in place. */
  readonly #nonceBytes = new Uint8Array(AEAD_NONCE_LENGTH);
  readonly #nonceView = new DataView(this.#nonceBytes.buffer);

  constructor(crypto: CryptoProvider, cipher: CipherName, key?: Uint8Array) {
    this.#crypto = crypto;
    this.cipher = cipher;
    this.initializeKey(key);
  }

  /** True when a key is set. */
  hasKey(): boolean {
    return this.#key !== undefined;
  }

  /** The next nonce this state will use. */
  get nonce(): bigint {
    return this.#nonce;
  }

  /** Sets the key (a copy is kept) and resets the nonce to 0; `undefined` clears it. */
  initializeKey(key: Uint8Array | undefined): void {
    this.#wipeKey();
    if (key !== undefined) {
      if (key.length !== AEAD_KEY_LENGTH) {
        throw new InvalidArgumentError(`a cipher key must be ${AEAD_KEY_LENGTH} bytes`);
      }
      this.#key = copyBytes(key);
      this.#aead = this.#crypto.aead(this.cipher, this.#key);
    }
    this.#nonce = 0n;
  }

  /** Sets the nonce counter (datagram mode, where the counter travels with each message). */
  setNonce(nonce: bigint): void {
    if (nonce < 0n || nonce > MAX_NONCE) {
      throw new InvalidArgumentError('a nonce is an unsigned 64-bit integer');
    }
    this.#nonce = nonce;
  }

  /**
   * Encrypts `plaintext` with associated data `ad` under the next nonce, then advances the nonce.
   * Without a key, returns `plaintext` itself.
   *
   * @throws {@link NonceExhaustedError} if the nonce has reached 2^64 - 1.
   */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.#aead === undefined) return plaintext;
    const sealed = this.#aead.seal(this.#nonceFor(this.#nonce), ad, plaintext);
    this.#nonce++;
    return sealed;
  }

  /**
   * Like {@link encryptWithAd} for a plaintext in parts, with `reserve` bytes left free at the
   * start of the result for the caller's header (the channel's frame header). Requires a key.
   *
   * @throws {@link NonceExhaustedError} if the nonce has reached 2^64 - 1.
   * @throws {@link InvalidStateError} without a key.
   */
  seal(ad: Uint8Array, parts: readonly Uint8Array[], reserve: number): Uint8Array {
    if (this.#aead === undefined) throw new InvalidStateError('this cipher state has no key');
    const sealed = this.#aead.seal(this.#nonceFor(this.#nonce), ad, parts, reserve);
    this.#nonce++;
    return sealed;
  }

  /**
   * Authenticates and decrypts `ciphertext` with associated data `ad` under the next nonce, then
   * advances the nonce. Without a key, returns `ciphertext` itself. On failure the nonce does not
   * advance.
   *
   * @throws {@link TamperedError} if authentication fails.
   * @throws {@link NonceExhaustedError} if the nonce has reached 2^64 - 1.
   */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.#aead === undefined) return ciphertext;
    const plaintext = this.#aead.open(this.#nonceFor(this.#nonce), ad, ciphertext);
    if (plaintext === undefined) throw new TamperedError('a Noise message');
    this.#nonce++;
    return plaintext;
  }

  /**
   * Authenticates and decrypts under an explicit nonce, without touching the counter: for
   * datagrams, which carry their nonce and may arrive in any order. Returns `undefined` if
   * authentication fails, so that a forged datagram costs no exception.
   *
   * @throws {@link NonceExhaustedError} if `nonce` is 2^64 - 1.
   */
  openAt(nonce: bigint, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | undefined {
    if (this.#aead === undefined) return ciphertext;
    return this.#aead.open(this.#nonceFor(nonce), ad, ciphertext);
  }

  /**
   * Replaces the key with one derived from it (Noise's Rekey(): the first 32 bytes of encrypting
   * 32 zero bytes under the reserved nonce 2^64 - 1). The nonce counter is not reset. Old traffic
   * cannot be decrypted with the new key.
   */
  rekey(): void {
    if (this.#aead === undefined) return;
    const derived = this.#aead.seal(this.#nonceFor(MAX_NONCE, true), EMPTY, ZERO_KEY);
    const nonce = this.#nonce;
    this.initializeKey(derived.subarray(0, AEAD_KEY_LENGTH));
    derived.fill(0);
    this.#nonce = nonce;
  }

  /** An independent copy: same key and nonce (to try a rekeyed key without committing to it). */
  copy(): CipherState {
    const copy = new CipherState(this.#crypto, this.cipher, this.#key);
    copy.#nonce = this.#nonce;
    return copy;
  }

  /** Erases the key. The state then behaves as if it had none. */
  wipe(): void {
    this.#wipeKey();
  }

  /** Bytes of overhead a message gets: the tag when there is a key, nothing otherwise. */
  get overhead(): number {
    return this.#aead === undefined ? 0 : AEAD_TAG_LENGTH;
  }

  #wipeKey(): void {
    this.#aead?.wipe?.();
    this.#key?.fill(0);
    this.#key = undefined;
    this.#aead = undefined;
  }

  /** Formats a nonce: 4 zero bytes, then the counter little-endian (ChaChaPoly) or big-endian. */
  #nonceFor(nonce: bigint, reservedAllowed = false): Uint8Array {
    if (nonce === MAX_NONCE && !reservedAllowed) throw new NonceExhaustedError();
    this.#nonceView.setBigUint64(4, nonce, this.cipher === 'ChaChaPoly');
    return this.#nonceBytes;
  }
}
