/**
 * Options and limits shared by the stream and datagram secure channels.
 *
 * @module
 */

import type { CryptoProvider, X25519KeyPair } from '../crypto/crypto-provider.js';
import type { ProtocolVersion } from '../errors/frame-errors.js';
import { checkLimit } from '../frame/limits.js';

/** Default time a handshake may take, in milliseconds: 10 s, generous for a congested Wi-Fi. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

/**
 * Default number of messages sent under one key before both sides rekey (Noise's Rekey()): 65536.
 * Both ends must use the same value. Rekeying bounds how much traffic one key protects, so that a
 * key stolen from memory cannot decrypt what was sent before the last rekey.
 */
export const DEFAULT_REKEY_INTERVAL = 65_536;

/** Default largest application message, in bytes: 1 MiB (stream mode; split into frames). */
export const DEFAULT_MAX_MESSAGE_LENGTH = 1_048_576;

/**
 * Default bound on what waits inside a channel, in bytes, per direction: 4 MiB of sealed output
 * the transport has not taken, and 4 MiB of received messages the application has not taken.
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1_048_576;

/**
 * The start of the prologue every lanchat channel mixes into its handshake: the ASCII bytes
 * "lanchat". The channel follows it with the mode, " stream" or " datagram", then the caller's own
 * prologue, if any (docs/protocol.md, section 5). A handshake with a peer that uses another
 * prologue fails.
 */
export const LANCHAT_PROLOGUE: Uint8Array = new TextEncoder().encode('lanchat');

/** Options of a secure channel. */
export interface SecureChannelOptions {
  /** True on the side that starts the handshake (the client). */
  readonly initiator: boolean;
  /** The current time, in milliseconds: the handshake deadline counts from it. */
  readonly now: number;
  /** This side's long-term key pair (required by the default pattern, XX). */
  readonly staticKeyPair?: X25519KeyPair;
  /** The peer's static key, for patterns that know it in advance (IK, NK, KK). */
  readonly remoteStaticKey?: Uint8Array;
  /** Pre-shared keys, for the psk patterns. */
  readonly preSharedKeys?: readonly Uint8Array[];
  /** Default `Noise_XX_25519_ChaChaPoly_SHA256`. */
  readonly protocolName?: string;
  /** Extra prologue bytes both sides must agree on, after `lanchat stream` / `lanchat datagram`. */
  readonly prologue?: Uint8Array;
  /** Capabilities this side announces in the handshake. */
  readonly capabilities?: readonly string[];
  /** The version announced; default the version of this release. */
  readonly version?: ProtocolVersion;
  /** Default node:crypto. */
  readonly crypto?: CryptoProvider;
  /** Milliseconds the handshake may take. Default {@link DEFAULT_HANDSHAKE_TIMEOUT}. */
  readonly handshakeTimeout?: number;
  /** Messages per key before rekeying; both ends must agree. Default {@link DEFAULT_REKEY_INTERVAL}. */
  readonly rekeyInterval?: number;
  /** Largest application message, in bytes. Default {@link DEFAULT_MAX_MESSAGE_LENGTH}. */
  readonly maxMessageLength?: number;
  /** Bound on buffered bytes per direction. Default {@link DEFAULT_MAX_BUFFERED_BYTES}. */
  readonly maxBufferedBytes?: number;
}

/** Checked numeric limits of a channel. */
export interface ChannelLimits {
  readonly handshakeTimeout: number;
  readonly rekeyInterval: bigint;
  readonly maxMessageLength: number;
  readonly maxBufferedBytes: number;
}

/** Checks the numeric options and fills in defaults. */
export function channelLimits(
  options: SecureChannelOptions,
  maxMessageCeiling: number,
): ChannelLimits {
  return {
    handshakeTimeout: checkLimit(
      'handshakeTimeout',
      options.handshakeTimeout,
      DEFAULT_HANDSHAKE_TIMEOUT,
      1,
      2 ** 31,
    ),
    rekeyInterval: BigInt(
      checkLimit('rekeyInterval', options.rekeyInterval, DEFAULT_REKEY_INTERVAL, 1, 2 ** 40),
    ),
    maxMessageLength: checkLimit(
      'maxMessageLength',
      options.maxMessageLength,
      Math.min(DEFAULT_MAX_MESSAGE_LENGTH, maxMessageCeiling),
      1,
      maxMessageCeiling,
    ),
    maxBufferedBytes: checkLimit(
      'maxBufferedBytes',
      options.maxBufferedBytes,
      DEFAULT_MAX_BUFFERED_BYTES,
      65_536,
      2 ** 40,
    ),
  };
}

/**
 * Inner message types. In stream mode, the type byte of each record of a transport message's
 * plaintext; in datagram mode, the first plaintext byte of every transport message.
 */
export const TransportType = {
  /** The last (or only) fragment of an application message. */
  messageEnd: 0x01,
  /** A fragment of an application message; more follow (stream mode only). */
  messageMore: 0x02,
  /** Graceful close: the sender will send nothing more. No body. */
  close: 0x03,
  /**
   * The end of an application message whose last bytes follow the transport message unsealed, as
   * a frame of their own (stream mode only, with the `clear-tail` capability): a 4-byte length,
   * then the message's sealed bytes.
   */
  messageClearTail: 0x04,
} as const;
