/**
 * Noise's HandshakeState (section 5.3): runs a handshake pattern message by message.
 *
 * @module
 */

import {
  type CipherName,
  type CryptoProvider,
  type HashName,
  X25519_KEY_LENGTH,
  type X25519KeyPair,
} from '../crypto/crypto-provider.js';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import { InvalidArgumentError, InvalidStateError } from '../errors/lanchat-error.js';
import { MalformedHandshakeError, NoiseMessageTooLargeError } from '../errors/noise-errors.js';
import type { CipherState } from './cipher-state.js';
import {
  HANDSHAKE_PATTERNS,
  type HandshakePattern,
  type PatternName,
  type Token,
} from './patterns.js';
import { SymmetricState } from './symmetric-state.js';
import { copyBytes } from '../util/bytes.js';

/** lanchat's default protocol: mutual authentication with static keys sent encrypted. */
export const DEFAULT_NOISE_PROTOCOL = 'Noise_XX_25519_ChaChaPoly_SHA256';

/** The largest Noise message, in bytes. */
export const NOISE_MAX_MESSAGE_LENGTH = 65_535;

/** Bytes in a pre-shared key. */
export const PRE_SHARED_KEY_LENGTH = 32;

/** A parsed Noise protocol name. */
export interface NoiseProtocol {
  /** The full name, e.g. `Noise_XX_25519_ChaChaPoly_SHA256`. */
  readonly name: string;
  readonly pattern: HandshakePattern;
  readonly cipher: CipherName;
  readonly hash: HashName;
}

const PROTOCOL_NAME = /^Noise_([A-Za-z0-9]+)_25519_(ChaChaPoly|AESGCM)_(SHA256|BLAKE2b)$/;

/**
 * Parses a Noise protocol name into its pattern, cipher and hash.
 *
 * @throws {@link InvalidArgumentError} for a name lanchat does not implement (DH other than
 * 25519, a pattern outside {@link HANDSHAKE_PATTERNS}, another cipher or hash).
 */
export function parseNoiseProtocolName(name: string): NoiseProtocol {
  const match = PROTOCOL_NAME.exec(name);
  const pattern = match
    ? (HANDSHAKE_PATTERNS[match[1] as PatternName] as HandshakePattern | undefined)
    : undefined;
  if (match === null || pattern === undefined) {
    throw new InvalidArgumentError(
      `unsupported Noise protocol "${name}": lanchat implements Noise_<pattern>_25519_<ChaChaPoly|AESGCM>_<SHA256|BLAKE2b> ` +
        `with the patterns ${Object.keys(HANDSHAKE_PATTERNS).join(', ')}`,
    );
  }
  return Object.freeze({
    name,
    pattern,
    cipher: match[2] as CipherName,
    hash: match[3] as HashName,
  });
}

/** Options of a {@link HandshakeState}. */
export interface HandshakeOptions {
  /** True on the side that sends the first message. */
  readonly initiator: boolean;
  /** Default {@link DEFAULT_NOISE_PROTOCOL}. */
  readonly protocolName?: string;
  /** Data both sides must agree on without sending it (mixed into the handshake hash). */
  readonly prologue?: Uint8Array;
  /** This side's long-term key pair, when the pattern sends or pre-shares it. */
  readonly staticKeyPair?: X25519KeyPair;
  /** The peer's static public key, when the pattern has it known in advance (NK, KK, IK). */
  readonly remoteStaticKey?: Uint8Array;
  /** One 32-byte key per psk token, in order. */
  readonly preSharedKeys?: readonly Uint8Array[];
  /** Primitives; default {@link nodeCryptoProvider}. Ephemeral keys come from it too. */
  readonly crypto?: CryptoProvider;
}

/** What a finished handshake yields. */
export interface HandshakeResult {
  /** The cipher state for messages this side sends. */
  readonly send: CipherState;
  /** The cipher state for messages this side receives. */
  readonly receive: CipherState;
  /** The handshake hash, identical on both sides: names this session (channel binding). */
  readonly handshakeHash: Uint8Array;
  /** The peer's static public key, if the pattern carried or pre-shared one. */
  readonly remoteStaticKey: Uint8Array | undefined;
}

const EMPTY = new Uint8Array(0);

/**
 * A Noise handshake in progress. Call {@link HandshakeState.writeMessage} and
 * {@link HandshakeState.readMessage} in the pattern's order, then {@link HandshakeState.split}.
 *
 * Errors from the peer's messages (a failed decryption, a low-order key, a short message) leave
 * the handshake failed for good: every later call throws the same error.
 */
export class HandshakeState {
  /** The protocol this handshake runs. */
  readonly protocol: NoiseProtocol;
  /** True on the side that sent the first message. */
  readonly initiator: boolean;
  readonly #crypto: CryptoProvider;
  readonly #symmetric: SymmetricState;
  readonly #static: X25519KeyPair | undefined;
  #ephemeral: X25519KeyPair | undefined;
  #remoteStatic: Uint8Array | undefined;
  #remoteEphemeral: Uint8Array | undefined;
  readonly #preSharedKeys: readonly Uint8Array[];
  #preSharedKeyIndex = 0;
  #messageIndex = 0;
  #error: Error | undefined;
  #split = false;

  /**
   * @throws {@link InvalidArgumentError} for an unsupported protocol name, or when a key the
   * pattern needs is missing or has the wrong length.
   */
  constructor(options: HandshakeOptions) {
    this.protocol = parseNoiseProtocolName(options.protocolName ?? DEFAULT_NOISE_PROTOCOL);
    this.initiator = options.initiator;
    this.#crypto = options.crypto ?? nodeCryptoProvider;
    const pattern = this.protocol.pattern;

    const mine = (index: number) => (index % 2 === 0) === this.initiator;
    const sendsStatic = pattern.messages.some(
      (tokens, index) => mine(index) && tokens.includes('s'),
    );
    const preSharesStatic = (
      this.initiator ? pattern.initiatorPreMessage : pattern.responderPreMessage
    ).includes('s');
    const knowsRemoteStatic = (
      this.initiator ? pattern.responderPreMessage : pattern.initiatorPreMessage
    ).includes('s');
    const needsStatic =
      sendsStatic ||
      preSharesStatic ||
      pattern.messages.some((tokens) =>
        tokens.some((token) => token === 'ss' || token === (this.initiator ? 'se' : 'es')),
      );

    if (needsStatic) {
      const pair = options.staticKeyPair;
      if (pair === undefined) {
        throw new InvalidArgumentError(`${pattern.name} needs this side's static key pair`);
      }
      checkKey('staticKeyPair.privateKey', pair.privateKey);
      checkKey('staticKeyPair.publicKey', pair.publicKey);
      this.#static = pair;
    }
    if (knowsRemoteStatic) {
      if (options.remoteStaticKey === undefined) {
        throw new InvalidArgumentError(
          `${pattern.name} needs the peer's static public key in advance`,
        );
      }
      checkKey('remoteStaticKey', options.remoteStaticKey);
      this.#remoteStatic = copyBytes(options.remoteStaticKey);
    }
    const pskTokens = pattern.messages.flat().filter((token) => token === 'psk').length;
    const preSharedKeys = options.preSharedKeys ?? [];
    if (preSharedKeys.length !== pskTokens) {
      throw new InvalidArgumentError(
        `${pattern.name} needs ${pskTokens} pre-shared keys, got ${preSharedKeys.length}`,
      );
    }
    for (const key of preSharedKeys) {
      if (key.length !== PRE_SHARED_KEY_LENGTH) {
        throw new InvalidArgumentError(`a pre-shared key must be ${PRE_SHARED_KEY_LENGTH} bytes`);
      }
    }
    this.#preSharedKeys = preSharedKeys.map(copyBytes);

    this.#symmetric = new SymmetricState(
      this.#crypto,
      this.protocol.name,
      this.protocol.cipher,
      this.protocol.hash,
    );
    this.#symmetric.mixHash(options.prologue ?? EMPTY);
    // Pre-messages: the initiator's keys first, then the responder's (section 7.1).
    if (pattern.initiatorPreMessage.includes('s')) {
      this.#symmetric.mixHash(this.initiator ? this.#static!.publicKey : this.#remoteStatic!);
    }
    if (pattern.responderPreMessage.includes('s')) {
      this.#symmetric.mixHash(this.initiator ? this.#remoteStatic! : this.#static!.publicKey);
    }
  }

  /** True once every message of the pattern has been written or read. */
  get complete(): boolean {
    return this.#messageIndex >= this.protocol.pattern.messages.length;
  }

  /** True when the next message is this side's to write (and the handshake is not complete). */
  get isWriteTurn(): boolean {
    return !this.complete && (this.#messageIndex % 2 === 0) === this.initiator;
  }

  /** The peer's static public key, once known. */
  get remoteStaticKey(): Uint8Array | undefined {
    return this.#remoteStatic?.slice();
  }

  /** The current handshake hash. */
  get handshakeHash(): Uint8Array {
    return this.#symmetric.handshakeHash;
  }

  /**
   * Writes this side's next handshake message, carrying `payload` (encrypted once the pattern has
   * a key).
   *
   * @throws {@link NoiseMessageTooLargeError} if the message would exceed 65535 bytes; nothing
   * changes.
   * @throws {@link InvalidStateError} if it is not this side's turn.
   */
  writeMessage(payload: Uint8Array = EMPTY): Uint8Array {
    this.#checkUsable();
    if (!this.isWriteTurn) {
      throw new InvalidStateError(
        this.complete ? 'the handshake is complete' : "it is the peer's turn to send",
      );
    }
    const tokens = this.protocol.pattern.messages[this.#messageIndex]!;
    const length = this.#messageLength(tokens, payload.length);
    if (length > NOISE_MAX_MESSAGE_LENGTH) throw new NoiseMessageTooLargeError(length);

    return this.#guard(() => {
      const message = new Uint8Array(length);
      let offset = 0;
      const append = (bytes: Uint8Array) => {
        message.set(bytes, offset);
        offset += bytes.length;
      };
      for (const token of tokens) {
        switch (token) {
          case 'e': {
            const ephemeral = this.#crypto.generateX25519KeyPair();
            this.#ephemeral = ephemeral;
            append(ephemeral.publicKey);
            this.#symmetric.mixHash(ephemeral.publicKey);
            if (this.protocol.pattern.psk) this.#symmetric.mixKey(ephemeral.publicKey);
            break;
          }
          case 's':
            append(this.#symmetric.encryptAndHash(this.#static!.publicKey));
            break;
          default:
            this.#mixToken(token);
        }
      }
      append(this.#symmetric.encryptAndHash(payload));
      this.#messageIndex++;
      return message;
    });
  }

  /**
   * Reads the peer's next handshake message and returns its payload.
   *
   * @throws {@link MalformedHandshakeError} if it is too short for its keys or over 65535 bytes.
   * @throws `TamperedError` if an encrypted field fails authentication (altered, or the peer does
   * not hold the expected key or pre-shared key).
   * @throws `LowOrderPublicKeyError` if the peer sent a low-order public key.
   * @throws {@link InvalidStateError} if it is this side's turn to write.
   * After any error but the last, the handshake is failed for good.
   */
  readMessage(message: Uint8Array): Uint8Array {
    this.#checkUsable();
    if (this.complete || this.isWriteTurn) {
      throw new InvalidStateError(
        this.complete ? 'the handshake is complete' : "it is this side's turn to send",
      );
    }
    return this.#guard(() => {
      if (message.length > NOISE_MAX_MESSAGE_LENGTH) {
        throw new MalformedHandshakeError(
          'too-long',
          `a handshake message of ${message.length} bytes is over 65535 bytes`,
        );
      }
      const tokens = this.protocol.pattern.messages[this.#messageIndex]!;
      const minimum = this.#messageLength(tokens, 0);
      if (message.length < minimum) {
        throw new MalformedHandshakeError(
          'too-short',
          `a handshake message of ${message.length} bytes is shorter than the ${minimum} bytes its keys need`,
        );
      }
      let offset = 0;
      const take = (length: number) => message.subarray(offset, (offset += length));
      for (const token of tokens) {
        switch (token) {
          case 'e': {
            const remoteEphemeral = copyBytes(take(X25519_KEY_LENGTH));
            this.#remoteEphemeral = remoteEphemeral;
            this.#symmetric.mixHash(remoteEphemeral);
            if (this.protocol.pattern.psk) this.#symmetric.mixKey(remoteEphemeral);
            break;
          }
          case 's':
            this.#remoteStatic = copyBytes(
              this.#symmetric.decryptAndHash(take(X25519_KEY_LENGTH + this.#symmetric.overhead)),
            );
            break;
          default:
            this.#mixToken(token);
        }
      }
      const payload = this.#symmetric.decryptAndHash(message.subarray(offset));
      this.#messageIndex++;
      return payload;
    });
  }

  /**
   * Finishes the handshake: returns the transport cipher states and the handshake hash, and erases
   * the ephemeral private key and every intermediate secret. Call once, when {@link complete}.
   *
   * @throws {@link InvalidStateError} before the handshake is complete, or on a second call.
   */
  split(): HandshakeResult {
    this.#checkUsable();
    if (!this.complete) throw new InvalidStateError('the handshake is not complete');
    if (this.#split) throw new InvalidStateError('split() was already called');
    this.#split = true;
    const handshakeHash = this.#symmetric.handshakeHash;
    const [initiatorToResponder, responderToInitiator] = this.#symmetric.split();
    this.#wipeEphemeral();
    for (const key of this.#preSharedKeys) key.fill(0);
    return {
      send: this.initiator ? initiatorToResponder : responderToInitiator,
      receive: this.initiator ? responderToInitiator : initiatorToResponder,
      handshakeHash,
      remoteStaticKey: this.#remoteStatic?.slice(),
    };
  }

  /** Erases every secret this handshake holds, e.g. when it is abandoned. It is failed after. */
  destroy(): void {
    this.#symmetric.wipe();
    this.#wipeEphemeral();
    for (const key of this.#preSharedKeys) key.fill(0);
    this.#error ??= new InvalidStateError('the handshake was destroyed');
  }

  #mixToken(token: Exclude<Token, 'e' | 's'>): void {
    const symmetric = this.#symmetric;
    switch (token) {
      case 'ee':
        symmetric.mixKey(this.#dh(this.#ephemeral, this.#remoteEphemeral));
        break;
      case 'es':
        symmetric.mixKey(
          this.initiator
            ? this.#dh(this.#ephemeral, this.#remoteStatic)
            : this.#dh(this.#static, this.#remoteEphemeral),
        );
        break;
      case 'se':
        symmetric.mixKey(
          this.initiator
            ? this.#dh(this.#static, this.#remoteEphemeral)
            : this.#dh(this.#ephemeral, this.#remoteStatic),
        );
        break;
      case 'ss':
        symmetric.mixKey(this.#dh(this.#static, this.#remoteStatic));
        break;
      case 'psk':
        symmetric.mixKeyAndHash(this.#preSharedKeys[this.#preSharedKeyIndex++]!);
        break;
    }
  }

  #dh(pair: X25519KeyPair | undefined, remote: Uint8Array | undefined): Uint8Array {
    // The pattern table guarantees both keys exist by the time a DH token comes.
    const shared = this.#crypto.x25519(pair!.privateKey, remote!);
    return shared;
  }

  /** The length of a message with these tokens and a payload of `payloadLength` bytes. */
  #messageLength(tokens: readonly Token[], payloadLength: number): number {
    let hasKey = this.#symmetric.hasKey();
    let length = 0;
    for (const token of tokens) {
      if (token === 'e') {
        length += X25519_KEY_LENGTH;
        if (this.protocol.pattern.psk) hasKey = true;
      } else if (token === 's') {
        length += X25519_KEY_LENGTH + (hasKey ? 16 : 0);
      } else {
        hasKey = true;
      }
    }
    return length + payloadLength + (hasKey ? 16 : 0);
  }

  #checkUsable(): void {
    if (this.#error !== undefined) throw this.#error;
  }

  /** Runs a step that changes state; any error leaves the handshake failed for good. */
  #guard<T>(step: () => T): T {
    try {
      return step();
    } catch (error) {
      this.#error = error instanceof Error ? error : new InvalidStateError(String(error));
      this.#symmetric.wipe();
      this.#wipeEphemeral();
      throw error;
    }
  }

  #wipeEphemeral(): void {
    this.#ephemeral?.privateKey.fill(0);
    this.#ephemeral = undefined;
  }
}

function checkKey(name: string, key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== X25519_KEY_LENGTH) {
    throw new InvalidArgumentError(`${name} must be ${X25519_KEY_LENGTH} bytes`);
  }
}
