/**
 * Events of the secure channel: plain readonly objects in a discriminated union.
 *
 * @module
 */

import type { ProtocolVersion } from '../errors/frame-errors.js';

/** The handshake finished: the channel is open and authenticated. */
export interface HandshakeCompletedEvent {
  readonly type: 'handshake-completed';
  /** The peer's long-term public key, proven by the handshake (pin it). */
  readonly remoteStaticKey: Uint8Array | undefined;
  /** The protocol version the peer announced. */
  readonly remoteVersion: ProtocolVersion;
  /** The capabilities the peer announced. */
  readonly remoteCapabilities: readonly string[];
  /** The Noise handshake hash, equal on both sides: identifies this session. */
  readonly handshakeHash: Uint8Array;
}

/** A whole application message arrived, authenticated and decrypted. */
export interface MessageReceivedEvent {
  readonly type: 'message-received';
  readonly payload: Uint8Array;
}

/**
 * The channel is closed. `graceful` is true when the peer said goodbye (an authenticated close
 * message); false when the stream ended without it (a crash, a cut cable, or an attacker cutting
 * the connection: messages may be missing at the end).
 */
export interface ChannelClosedEvent {
  readonly type: 'channel-closed';
  readonly graceful: boolean;
}

/** Everything a channel reports. */
export type ChannelEvent = HandshakeCompletedEvent | MessageReceivedEvent | ChannelClosedEvent;
