/**
 * A secure channel over datagrams that carries messages reliably and in order: the
 * {@link DatagramChannel} (handshake, sealed datagrams, replay window) with
 * {@link ReliableMessages} on top (segments, acknowledgements, retransmission). It has the shape of
 * the stream channel (send, receive, pollTransmit, events), so that the chat session can run over
 * UDP as it does over TCP.
 *
 * @module
 */

import { BufferFullError } from '../errors/channel-errors.js';
import { InvalidStateError, LanchatError } from '../errors/lanchat-error.js';
import { FifoQueue } from '../util/fifo-queue.js';
import type { ChannelEvent } from './channel-events.js';
import { DEFAULT_MAX_BUFFERED_BYTES } from './channel-options.js';
import { DatagramChannel, type DatagramChannelOptions } from './datagram-channel.js';
import { DEFAULT_RELIABLE_WINDOW, ReliableMessages } from './reliable-messages.js';

/** How long a graceful close waits for the peer to acknowledge what was sent, in ms: 5 s. */
export const DEFAULT_CLOSE_LINGER = 5000;

/** Options of a {@link DatagramSessionChannel}. */
export interface DatagramSessionChannelOptions extends DatagramChannelOptions {
  /** Segments unacknowledged at once. Default {@link DEFAULT_RELIABLE_WINDOW}. */
  readonly reliableWindow?: number;
  /** Largest message, in bytes, either way. Default 1 MiB. */
  readonly maxMessageLength?: number;
  /** How long `close()` waits for acknowledgements before closing anyway. Default 5 s. */
  readonly closeLinger?: number;
}

/** Where a {@link DatagramSessionChannel} is in its life. */
export type DatagramSessionChannelState = 'handshaking' | 'open' | 'closing' | 'closed' | 'failed';

/**
 * Reliable, ordered messages over a secure datagram channel. Drive it like the stream channel:
 * {@link receive} each datagram, send what {@link pollTransmit} gives, take {@link nextEvent}s,
 * and run {@link pollTimeout} / {@link handleTimeout}. Messages sent before the handshake completes
 * wait for it.
 */
export class DatagramSessionChannel {
  readonly #channel: DatagramChannel;
  readonly #reliable: ReliableMessages;
  readonly #events = new FifoQueue<ChannelEvent>();
  readonly #closeLinger: number;
  #closeDeadline: number | undefined;
  #closeRequested = false;
  #closedReported = false;
  #error: LanchatError | undefined;
  /** The latest time this channel was told of (for a pollTransmit() without one). */
  #now: number;
  readonly #maxBufferedBytes: number;
  /** Bytes of received messages waiting in `#events`. */
  #eventBytes = 0;

  /** @throws `InvalidArgumentError` for an option out of range (see both layers). */
  constructor(options: DatagramSessionChannelOptions) {
    this.#channel = new DatagramChannel(options);
    this.#reliable = new ReliableMessages({
      now: options.now,
      maxSegmentLength: this.#channel.maxMessageLength,
      window: options.reliableWindow ?? DEFAULT_RELIABLE_WINDOW,
      ...(options.maxMessageLength === undefined
        ? {}
        : { maxMessageLength: options.maxMessageLength }),
      ...(options.maxBufferedBytes === undefined
        ? {}
        : { maxBufferedBytes: options.maxBufferedBytes }),
    });
    this.#closeLinger = options.closeLinger ?? DEFAULT_CLOSE_LINGER;
    this.#now = options.now;
    this.#maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  }

  /** This side's session index: datagrams for this session name it. */
  get localIndex(): number {
    return this.#channel.localIndex;
  }

  /** The peer's session index, once known. */
  get remoteIndex(): number {
    return this.#channel.remoteIndex;
  }

  /** The datagram layer (its statistics say what was dropped, and why). */
  get datagrams(): DatagramChannel {
    return this.#channel;
  }

  /** The reliability layer (its statistics say what was resent). */
  get reliability(): ReliableMessages {
    return this.#reliable;
  }

  get state(): DatagramSessionChannelState {
    if (this.#error !== undefined || this.#channel.state === 'failed') return 'failed';
    if (this.#channel.state === 'closed') return 'closed';
    if (this.#closeRequested) return 'closing';
    return this.#channel.state;
  }

  /** The error that failed the channel, if any. */
  get error(): LanchatError | undefined {
    return this.#error ?? this.#channel.error;
  }

  /** Bytes of messages waiting to be sent. */
  get bufferedOutgoingBytes(): number {
    return this.#reliable.bufferedBytes;
  }

  /**
   * Since when segments sent have waited with no acknowledgement making progress, or `undefined`
   * when none waits: how the session tells a peer that is gone (a restarted server forgot the
   * session and drops its datagrams without a word).
   */
  get unacknowledgedSince(): number | undefined {
    return this.#channel.state === 'open' ? this.#reliable.unacknowledgedSince : undefined;
  }

  /**
   * Queues a message; it leaves once the handshake is done, in order, resent until acknowledged.
   *
   * @throws {@link InvalidStateError} after close; the reliability layer's errors for a message
   * too large or a full buffer.
   */
  send(payload: Uint8Array): void {
    this.#checkUsable();
    if (this.#closeRequested || this.#channel.state === 'closed') {
      throw new InvalidStateError('send() after close()');
    }
    this.#reliable.send(payload);
  }

  /**
   * Closes once everything sent has been acknowledged (or after `closeLinger`): then a close
   * datagram goes to the peer (best effort) and `channel-closed` is reported.
   */
  close(): void {
    if (this.#closeRequested || this.state === 'closed' || this.state === 'failed') return;
    this.#closeRequested = true;
    // While handshaking, the close waits for the handshake and for what was queued meanwhile;
    // the linger starts at the next pollTransmit() or handleTimeout(), which know the time.
    if (this.#channel.state === 'closed') this.#finishClose(false);
  }

  /**
   * Feeds one datagram.
   *
   * @throws a `RemoteProtocolError` when the peer breaks the protocol (in a handshake, or in an
   * authenticated segment); the channel is then failed.
   * @throws {@link BufferFullError} if received messages not taken fill `maxBufferedBytes`.
   */
  receive(datagram: Uint8Array, now: number): void {
    this.#checkUsable();
    // Messages move out of the reliability layer as they arrive: the bound on what waits for the
    // application is kept here (nothing is read; the peer resends).
    if (this.#eventBytes >= this.#maxBufferedBytes) {
      throw new BufferFullError('incoming', this.#maxBufferedBytes);
    }
    this.#now = Math.max(this.#now, now);
    this.#guard(() => {
      this.#channel.receive(datagram, now);
      this.#drain(now);
    });
  }

  /** Datagrams have no end of stream: nothing to do (kept for the stream channel's shape). */
  receiveEnd(_now: number): void {
    // A datagram transport never reports an end; a silent peer is found by the session's timers.
  }

  /** The next datagram to send, or `undefined`. Without `now`, the latest time it was told of. */
  pollTransmit(at?: number): Uint8Array | undefined {
    if (this.#error !== undefined) return undefined;
    if (at !== undefined) this.#now = Math.max(this.#now, at);
    const now = this.#now;
    if (this.#closeRequested) this.#closeDeadline ??= now + this.#closeLinger;
    const pending = this.#channel.pollTransmit();
    if (pending !== undefined) return pending;
    if (this.#channel.state !== 'open') return undefined;
    let segment: Uint8Array | undefined;
    this.#guard(() => {
      segment = this.#reliable.pollTransmit(now);
      if (segment !== undefined) this.#channel.send(segment);
    });
    if (segment !== undefined) return this.#channel.pollTransmit();
    if (this.#closeRequested && this.#reliable.idle) {
      this.#finishClose(true);
      return this.#channel.pollTransmit();
    }
    return undefined;
  }

  /** The next deadline of either layer, or of a lingering close. */
  pollTimeout(): number | undefined {
    // Asked after every input and output by the session: no array per call.
    let earliest = this.#channel.pollTimeout() ?? Infinity;
    if (this.#channel.state === 'open') {
      earliest = Math.min(earliest, this.#reliable.pollTimeout() ?? Infinity);
    }
    if (this.#closeRequested && this.#closeDeadline !== undefined) {
      earliest = Math.min(earliest, this.#closeDeadline);
    }
    return earliest === Infinity ? undefined : earliest;
  }

  /**
   * Runs both layers' timers, and ends a close that waited too long.
   *
   * @throws `HandshakeTimeoutError` if the handshake did not finish in time.
   */
  handleTimeout(now: number): void {
    this.#checkUsable();
    this.#now = Math.max(this.#now, now);
    if (this.#closeRequested) this.#closeDeadline ??= now + this.#closeLinger;
    this.#guard(() => {
      this.#channel.handleTimeout(now);
      if (this.#channel.state === 'open') this.#reliable.handleTimeout(now);
    });
    if (
      this.#closeRequested &&
      this.#closeDeadline !== undefined &&
      now >= this.#closeDeadline &&
      this.#channel.state === 'open'
    ) {
      this.#finishClose(false);
    }
  }

  /** The next event: `handshake-completed`, `message-received`, `channel-closed`. */
  nextEvent(): ChannelEvent | undefined {
    const event = this.#events.shift();
    if (event?.type === 'message-received') this.#eventBytes -= event.payload.length;
    return event;
  }

  #drain(now: number): void {
    for (let event = this.#channel.nextEvent(); event !== undefined;) {
      if (event.type === 'message-received') {
        this.#reliable.receive(event.payload, now);
        for (
          let message = this.#reliable.nextMessage();
          message !== undefined;
          message = this.#reliable.nextMessage()
        ) {
          this.#events.push({ type: 'message-received', payload: message });
          this.#eventBytes += message.length;
        }
      } else if (event.type === 'channel-closed') {
        this.#reportClosed(event.graceful);
      } else {
        this.#events.push(event);
      }
      event = this.#channel.nextEvent();
    }
  }

  #finishClose(graceful: boolean): void {
    if (this.#channel.state === 'open' || this.#channel.state === 'handshaking') {
      this.#channel.close();
    }
    this.#reportClosed(graceful);
  }

  #reportClosed(graceful: boolean): void {
    if (this.#closedReported) return;
    this.#closedReported = true;
    this.#events.push({ type: 'channel-closed', graceful });
  }

  /** Runs a step; a protocol error fails the channel for good (a full buffer only refuses). */
  #guard(step: () => void): void {
    try {
      step();
    } catch (error) {
      if (
        LanchatError.isInstance(error) &&
        !BufferFullError.isInstance(error) &&
        this.#error === undefined
      ) {
        this.#error = error;
      }
      throw error;
    }
  }

  #checkUsable(): void {
    if (this.#error !== undefined) throw this.#error;
  }
}
