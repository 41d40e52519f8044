/**
 * Errors of the Noise handshake and the secure channel.
 *
 * @module
 */

import {
  type LanchatErrorOptions,
  LocalProtocolError,
  RemoteProtocolError,
} from './lanchat-error.js';

/** The largest Noise message, in bytes: a limit of the Noise Protocol Framework. */
const NOISE_MAX_MESSAGE_LENGTH = 65_535;

/**
 * The peer's X25519 public key is a low-order point: a Diffie-Hellman result with it is all zeros
 * and proves nothing. An attacker sends such keys to force a known shared secret. The handshake is
 * failed for good; close the connection.
 */
export class LowOrderPublicKeyError extends RemoteProtocolError {
  static override readonly errorName: string = 'LowOrderPublicKeyError';

  constructor(options?: LanchatErrorOptions) {
    super('the peer sent a low-order X25519 public key, which yields no shared secret', options);
  }
}

/**
 * A cipher state used all of its 2^64 - 1 nonces (Noise reserves the last one). Far beyond what a
 * connection ever sends: lanchat's channel rekeys long before; seeing this means a bug or a
 * deliberately exhausted key. The cipher state refuses any further message.
 */
export class NonceExhaustedError extends LocalProtocolError {
  static override readonly errorName: string = 'NonceExhaustedError';

  constructor() {
    super('this key has used all of its nonces: no further message can be encrypted or decrypted');
  }
}

/**
 * This side tried to write a Noise message longer than 65535 bytes (payload plus keys and tags).
 * Nothing was written and the handshake or cipher state is unchanged; send less.
 */
export class NoiseMessageTooLargeError extends LocalProtocolError {
  static override readonly errorName: string = 'NoiseMessageTooLargeError';
  /** The length the message would have had, in bytes. */
  readonly length: number;
  /** The largest Noise message, 65535 bytes. */
  readonly maxLength: number = NOISE_MAX_MESSAGE_LENGTH;

  constructor(length: number) {
    super(
      `a Noise message of ${length} bytes cannot be sent: the limit is ${NOISE_MAX_MESSAGE_LENGTH} bytes`,
    );
    this.length = length;
  }
}

/** Why a handshake message was refused as malformed. */
export type MalformedHandshakeReason = 'too-short' | 'too-long' | 'unexpected' | 'bad-payload';

/**
 * A handshake message was not well formed: too short for the keys it must carry, over 65535
 * bytes, arriving when no handshake message was expected, or carrying a payload lanchat cannot
 * read. The handshake is failed for good; close the connection.
 */
export class MalformedHandshakeError extends RemoteProtocolError {
  static override readonly errorName: string = 'MalformedHandshakeError';
  /** What was wrong. */
  readonly reason: MalformedHandshakeReason;

  constructor(reason: MalformedHandshakeReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * The handshake did not finish before its deadline: the peer stopped answering, or its messages
 * were lost. The channel is failed for good; close the connection.
 */
export class HandshakeTimeoutError extends RemoteProtocolError {
  static override readonly errorName: string = 'HandshakeTimeoutError';
  /** The time allowed, in milliseconds. */
  readonly timeout: number;

  constructor(timeout: number) {
    super(`the handshake did not finish within ${timeout} ms`);
    this.timeout = timeout;
  }
}
