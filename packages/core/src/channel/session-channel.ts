/**
 * What the chat session needs of a secure channel, whatever the transport: the stream channel
 * (TCP, WebSocket) and the datagram session channel (UDP) both have this shape.
 *
 * @module
 */

import type { LanchatError } from '../errors/lanchat-error.js';
import type { ChannelEvent } from './channel-events.js';

/** Where a channel is in its life. */
export type SessionChannelState = 'handshaking' | 'open' | 'closing' | 'closed' | 'failed';

/** A secure channel as the chat session drives it. */
export interface SessionChannel {
  readonly state: SessionChannelState;
  /** The error that failed the channel, if any. */
  readonly error: LanchatError | undefined;
  /** Bytes of output waiting inside the channel. */
  readonly bufferedOutgoingBytes: number;
  /**
   * Since when output sent has waited for an acknowledgement with none coming, or `undefined`
   * when nothing waits (or the channel has no acknowledgements of its own: a stream's are TCP's).
   */
  readonly unacknowledgedSince: number | undefined;
  send(payload: Uint8Array): void;
  close(): void;
  receive(data: Uint8Array, now: number): void;
  receiveEnd(now: number): void;
  pollTransmit(now?: number): Uint8Array | undefined;
  pollTimeout(): number | undefined;
  handleTimeout(now: number): void;
  nextEvent(): ChannelEvent | undefined;
}
