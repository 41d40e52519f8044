/**
 * Noise's SymmetricState (section 5.2): the chaining key, the handshake hash, and a CipherState.
 *
 * @module
 */

import {
  AEAD_KEY_LENGTH,
  type CipherName,
  type CryptoProvider,
  HASH_LENGTH,
  type HashName,
} from '../crypto/crypto-provider.js';
import { CipherState } from './cipher-state.js';

const EMPTY = new Uint8Array(0);
const BYTE_1 = Uint8Array.of(1);
const BYTE_2 = Uint8Array.of(2);
const BYTE_3 = Uint8Array.of(3);

/** The chaining key, handshake hash and cipher state of a handshake in progress. */
export class SymmetricState {
  readonly #crypto: CryptoProvider;
  readonly #hash: HashName;
  readonly #cipherState: CipherState;
  #chainingKey: Uint8Array;
  #handshakeHash: Uint8Array;

  /** InitializeSymmetric(protocol_name). */
  constructor(crypto: CryptoProvider, protocolName: string, cipher: CipherName, hash: HashName) {
    this.#crypto = crypto;
    this.#hash = hash;
    this.#cipherState = new CipherState(crypto, cipher);
    const name = new TextEncoder().encode(protocolName);
    const hashLength = HASH_LENGTH[hash];
    if (name.length <= hashLength) {
      this.#handshakeHash = new Uint8Array(hashLength);
      this.#handshakeHash.set(name, 0);
    } else {
      this.#handshakeHash = crypto.hash(hash, [name]);
    }
    this.#chainingKey = this.#handshakeHash.slice();
  }

  /** The handshake hash h: after the handshake, a value both sides share that names the session. */
  get handshakeHash(): Uint8Array {
    return this.#handshakeHash.slice();
  }

  /** True when the cipher state has a key (so handshake fields are encrypted). */
  hasKey(): boolean {
    return this.#cipherState.hasKey();
  }

  /** MixKey(input_key_material). */
  mixKey(inputKeyMaterial: Uint8Array): void {
    const [chainingKey, temporaryKey] = this.#hkdf(inputKeyMaterial);
    this.#replaceChainingKey(chainingKey);
    this.#cipherState.initializeKey(temporaryKey.subarray(0, AEAD_KEY_LENGTH));
    temporaryKey.fill(0);
  }

  /** MixHash(data). */
  mixHash(data: Uint8Array): void {
    this.#handshakeHash = this.#crypto.hash(this.#hash, [this.#handshakeHash, data]);
  }

  /** MixKeyAndHash(input_key_material): for pre-shared keys. */
  mixKeyAndHash(inputKeyMaterial: Uint8Array): void {
    const [chainingKey, temporaryHash, temporaryKey] = this.#hkdf3(inputKeyMaterial);
    this.#replaceChainingKey(chainingKey);
    this.mixHash(temporaryHash);
    this.#cipherState.initializeKey(temporaryKey.subarray(0, AEAD_KEY_LENGTH));
    temporaryKey.fill(0);
  }

  /** EncryptAndHash(plaintext). */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.#cipherState.encryptWithAd(this.#handshakeHash, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  /**
   * DecryptAndHash(ciphertext).
   *
   * @throws `TamperedError` if authentication fails.
   */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.#cipherState.decryptWithAd(this.#handshakeHash, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** Bytes an encrypted field of this handshake gets on top of its plaintext right now. */
  get overhead(): number {
    return this.#cipherState.overhead;
  }

  /**
   * Split(): the two transport cipher states, initiator-to-responder first. The chaining key and
   * the handshake cipher state are erased: nothing of the handshake's secrets stays behind.
   */
  split(): [CipherState, CipherState] {
    const [first, second] = this.#hkdf(EMPTY);
    const cipher = this.#cipherState.cipher;
    const states: [CipherState, CipherState] = [
      new CipherState(this.#crypto, cipher, first.subarray(0, AEAD_KEY_LENGTH)),
      new CipherState(this.#crypto, cipher, second.subarray(0, AEAD_KEY_LENGTH)),
    ];
    first.fill(0);
    second.fill(0);
    this.wipe();
    return states;
  }

  /** Erases the chaining key and the cipher state's key. */
  wipe(): void {
    this.#chainingKey.fill(0);
    this.#cipherState.wipe();
  }

  #replaceChainingKey(chainingKey: Uint8Array): void {
    this.#chainingKey.fill(0);
    this.#chainingKey = chainingKey;
  }

  /** HKDF(chaining_key, input_key_material, 2) of section 4.3. */
  #hkdf(inputKeyMaterial: Uint8Array): [Uint8Array, Uint8Array] {
    const [output1, output2] = this.#hkdf3(inputKeyMaterial, false);
    return [output1, output2];
  }

  /** HKDF(chaining_key, input_key_material, 3) of section 4.3 (or 2, when `third` is false). */
  #hkdf3(inputKeyMaterial: Uint8Array, third = true): [Uint8Array, Uint8Array, Uint8Array] {
    const crypto = this.#crypto;
    const hash = this.#hash;
    const temporaryKey = crypto.hmac(hash, this.#chainingKey, [inputKeyMaterial]);
    const output1 = crypto.hmac(hash, temporaryKey, [BYTE_1]);
    const output2 = crypto.hmac(hash, temporaryKey, [output1, BYTE_2]);
    const output3 = third ? crypto.hmac(hash, temporaryKey, [output2, BYTE_3]) : EMPTY;
    temporaryKey.fill(0);
    return [output1, output2, output3];
  }
}
