/**
 * The parts of running a Noise handshake that the stream and datagram channels share.
 *
 * @module
 */

import { UnsupportedVersionError, type ProtocolVersion } from '../errors/frame-errors.js';
import { MalformedHandshakeError } from '../errors/noise-errors.js';
import { HandshakeState, type HandshakeResult } from '../noise/handshake-state.js';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import type { HandshakeCompletedEvent } from './channel-events.js';
import { LANCHAT_PROLOGUE, type SecureChannelOptions } from './channel-options.js';
import { decodeHandshakeAnnouncement, type HandshakeAnnouncement } from './handshake-payload.js';

/** Starts the Noise handshake of a channel: lanchat's prologue first, then the caller's. */
export function createHandshake(options: SecureChannelOptions, modeLabel: string): HandshakeState {
  const label = new TextEncoder().encode(modeLabel);
  const extra = options.prologue ?? new Uint8Array(0);
  const prologue = new Uint8Array(LANCHAT_PROLOGUE.length + label.length + extra.length);
  prologue.set(LANCHAT_PROLOGUE, 0);
  prologue.set(label, LANCHAT_PROLOGUE.length);
  prologue.set(extra, LANCHAT_PROLOGUE.length + label.length);
  return new HandshakeState({
    initiator: options.initiator,
    prologue,
    crypto: options.crypto ?? nodeCryptoProvider,
    ...(options.protocolName === undefined ? {} : { protocolName: options.protocolName }),
    ...(options.staticKeyPair === undefined ? {} : { staticKeyPair: options.staticKeyPair }),
    ...(options.remoteStaticKey === undefined ? {} : { remoteStaticKey: options.remoteStaticKey }),
    ...(options.preSharedKeys === undefined ? {} : { preSharedKeys: options.preSharedKeys }),
  });
}

/**
 * Reads the payload of a handshake message from the peer: its announcement in its first message,
 * nothing in later ones.
 *
 * @throws `MalformedHandshakeError` for a bad payload; `UnsupportedVersionError` for another major
 * version.
 */
export function readHandshakePayload(
  payload: Uint8Array,
  localVersion: ProtocolVersion,
  previous: HandshakeAnnouncement | undefined,
): HandshakeAnnouncement {
  if (previous !== undefined) {
    if (payload.length > 0) {
      throw new MalformedHandshakeError(
        'bad-payload',
        'a later handshake message carried a payload',
      );
    }
    return previous;
  }
  const announcement = decodeHandshakeAnnouncement(payload);
  if (announcement.version.major !== localVersion.major) {
    throw new UnsupportedVersionError(localVersion, announcement.version);
  }
  return announcement;
}

/** The event that reports a finished handshake. */
export function handshakeCompleted(
  result: HandshakeResult,
  announcement: HandshakeAnnouncement,
): HandshakeCompletedEvent {
  return {
    type: 'handshake-completed',
    remoteStaticKey: result.remoteStaticKey,
    remoteVersion: announcement.version,
    remoteCapabilities: announcement.capabilities,
    handshakeHash: result.handshakeHash,
  };
}
