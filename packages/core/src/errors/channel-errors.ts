/**
 * Errors of the secure channel.
 *
 * @module
 */

import { LocalProtocolError, RemoteProtocolError } from './lanchat-error.js';

/**
 * This side tried to send a message longer than the channel's `maxMessageLength`. Nothing was
 * queued; the channel is unchanged.
 */
export class OutgoingMessageTooLargeError extends LocalProtocolError {
  static override readonly errorName: string = 'OutgoingMessageTooLargeError';
  /** The refused message length, in bytes. */
  readonly length: number;
  /** The largest message the channel sends, in bytes. */
  readonly maxLength: number;

  constructor(length: number, maxLength: number) {
    super(`cannot send a message of ${length} bytes: the limit is ${maxLength} bytes`);
    this.length = length;
    this.maxLength = maxLength;
  }
}

/**
 * The peer sent a message (reassembled from its fragments) longer than the channel's
 * `maxMessageLength`. Raised as soon as the fragments pass the limit, before buffering more. The
 * channel is failed for good; close the connection.
 */
export class IncomingMessageTooLargeError extends RemoteProtocolError {
  static override readonly errorName: string = 'IncomingMessageTooLargeError';
  /** Bytes of the message received so far, past the limit. */
  readonly length: number;
  /** The largest message the channel accepts, in bytes. */
  readonly maxLength: number;

  constructor(length: number, maxLength: number) {
    super(
      `the peer sent a message of at least ${length} bytes, over the limit of ${maxLength} bytes`,
    );
    this.length = length;
    this.maxLength = maxLength;
  }
}

/**
 * Too much is waiting inside the channel: outgoing bytes the transport has not taken with
 * `pollTransmit()`, or incoming messages the application has not taken with `nextEvent()`. The
 * call that would have gone past `maxBufferedBytes` is refused and nothing changes; take what is
 * waiting (or slow the other side down) and try again.
 */
export class BufferFullError extends LocalProtocolError {
  static override readonly errorName: string = 'BufferFullError';
  /** Which buffer is full. */
  readonly direction: 'outgoing' | 'incoming';
  /** The bound, in bytes. */
  readonly maxBufferedBytes: number;

  constructor(direction: 'outgoing' | 'incoming', maxBufferedBytes: number) {
    super(
      direction === 'outgoing'
        ? `the channel holds ${maxBufferedBytes} bytes the transport has not taken yet; call pollTransmit() first`
        : `the channel holds ${maxBufferedBytes} bytes of events not taken yet; call nextEvent() first`,
    );
    this.direction = direction;
    this.maxBufferedBytes = maxBufferedBytes;
  }
}

/**
 * An authenticated transport message did not follow the channel format (an unknown message type,
 * a fragment in datagram mode, data after the peer closed). It came from the peer's key, so the
 * peer is broken or hostile: the channel is failed for good.
 */
export class MalformedTransportMessageError extends RemoteProtocolError {
  static override readonly errorName: string = 'MalformedTransportMessageError';
}
