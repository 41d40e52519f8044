/**
 * The secure channel over a byte stream (TCP, WebSocket): preamble, Noise handshake, then sealed
 * frames with implicit nonces. Sans-I/O: feed it bytes, take bytes and events out.
 *
 * @module
 */

import { AEAD_TAG_LENGTH } from '../crypto/crypto-provider.js';
import {
  BufferFullError,
  IncomingMessageTooLargeError,
  MalformedTransportMessageError,
  OutgoingMessageTooLargeError,
} from '../errors/channel-errors.js';
import type { ProtocolVersion } from '../errors/frame-errors.js';
import { InvalidStateError, LanchatError } from '../errors/lanchat-error.js';
import { HandshakeTimeoutError } from '../errors/noise-errors.js';
import { STREAM_FRAME_HEADER_LENGTH } from '../frame/limits.js';
import { PROTOCOL_VERSION, PreambleDecoder, encodePreamble } from '../frame/preamble.js';
import { StreamFrameDecoder, encodeStreamFrame } from '../frame/stream-frame.js';
import type { CipherState } from '../noise/cipher-state.js';
import { type HandshakeState, NOISE_MAX_MESSAGE_LENGTH } from '../noise/handshake-state.js';
import { createHandshake, handshakeCompleted, readHandshakePayload } from './handshake-driver.js';
import type { ChannelEvent } from './channel-events.js';
import { EventQueue, OutgoingQueue, guarded } from './channel-queues.js';
import {
  type ChannelLimits,
  type SecureChannelOptions,
  TransportType,
  channelLimits,
} from './channel-options.js';
import {
  type HandshakeAnnouncement,
  checkCapabilities,
  encodeHandshakeAnnouncement,
} from './handshake-payload.js';

/** Largest fragment body in one frame: a Noise message less the tag and the type byte. */
export const MAX_STREAM_FRAGMENT_LENGTH = NOISE_MAX_MESSAGE_LENGTH - AEAD_TAG_LENGTH - 1;

/**
 * Most bytes {@link StreamChannel.pollTransmit} joins into one buffer: 64 KiB. Joining saves
 * system calls for small frames; for large ones it would only cost a copy.
 */
export const MAX_COALESCED_WRITE = 65_536;

/** The life of a channel. */
export type ChannelState = 'handshaking' | 'open' | 'closing' | 'closed' | 'failed';

const EMPTY = new Uint8Array(0);
const MESSAGE_END = Uint8Array.of(TransportType.messageEnd);
const MESSAGE_MORE = Uint8Array.of(TransportType.messageMore);
const CLOSE = Uint8Array.of(TransportType.close);

/** Joins the fragments of a message. */
function concatenate(parts: readonly Uint8Array[], length: number): Uint8Array {
  const output = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    output.set(part, offset);
    offset += part.length;
  }
  return output;
}

/**
 * A secure channel over a reliable byte stream.
 *
 * Drive it like every lanchat machine: {@link StreamChannel.receive} what the socket read,
 * {@link StreamChannel.pollTransmit} what to write, {@link StreamChannel.nextEvent} what happened,
 * {@link StreamChannel.pollTimeout} / {@link StreamChannel.handleTimeout} for the handshake
 * deadline. Each side sends its preamble and (the initiator) its first handshake message at once;
 * messages sent before the handshake finishes wait inside, counted against `maxBufferedBytes`.
 *
 * Every frame after the handshake is sealed under an implicit counter nonce, so a changed,
 * dropped, reordered, replayed or injected frame fails authentication: the channel throws
 * `TamperedError` and is failed for good (fail closed). Errors are sticky: after one, every call
 * throws it again.
 */
export class StreamChannel {
  /** True on the side that started the handshake. */
  readonly initiator: boolean;
  readonly #limits: ChannelLimits;
  readonly #announcement: Uint8Array;
  readonly #version: ProtocolVersion;
  #preamble: PreambleDecoder | undefined;
  readonly #frames = new StreamFrameDecoder({ maxFrameLength: NOISE_MAX_MESSAGE_LENGTH });
  #handshake: HandshakeState | undefined;
  #announced = false;
  #remoteAnnouncement: HandshakeAnnouncement | undefined;
  #send: CipherState | undefined;
  #receive: CipherState | undefined;
  readonly #deadline: number;

  #state: ChannelState = 'handshaking';
  #error: LanchatError | undefined;
  #localClosed = false;
  #remoteClosed = false;

  /** Encoded frames waiting for pollTransmit(). */
  readonly #outgoing = new OutgoingQueue();
  /** Messages sent before the handshake finished. */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  readonly #events = new EventQueue();
  /** Fragments of the message being received. */
  #fragments: Uint8Array[] = [];
  #fragmentBytes = 0;

  /**
   * @throws `InvalidArgumentError` for an unsupported protocol, a missing key, a bad capability
   * name or a limit out of range.
   */
  constructor(options: SecureChannelOptions) {
    this.initiator = options.initiator;
    this.#limits = channelLimits(options, 2 ** 31);
    this.#version = options.version ?? PROTOCOL_VERSION;
    this.#announcement = encodeHandshakeAnnouncement({
      version: this.#version,
      capabilities: checkCapabilities(options.capabilities ?? []),
    });
    this.#handshake = createHandshake(options, ' stream');
    this.#preamble = new PreambleDecoder(this.#version);
    this.#deadline = options.now + this.#limits.handshakeTimeout;
    this.#outgoing.push(encodePreamble(this.#version));
    if (this.#handshake.isWriteTurn) this.#writeHandshake();
  }

  /** Where the channel is in its life. */
  get state(): ChannelState {
    return this.#state;
  }

  /** The error that failed the channel, if it has failed. */
  get error(): LanchatError | undefined {
    return this.#error;
  }

  /** Bytes waiting for {@link pollTransmit}, plus messages waiting for the handshake. */
  get bufferedOutgoingBytes(): number {
    return this.#outgoing.bytes + this.#pendingBytes;
  }

  /** Bytes of received messages waiting for {@link nextEvent}. */
  get bufferedIncomingBytes(): number {
    return this.#events.bytes;
  }

  /** The largest message {@link send} accepts. */
  get maxMessageLength(): number {
    return this.#limits.maxMessageLength;
  }

  /**
   * Queues an application message; it is sealed and framed at once if the handshake is done,
   * otherwise when it finishes. Messages larger than one frame are split and reassembled.
   *
   * @throws {@link OutgoingMessageTooLargeError} over `maxMessageLength`.
   * @throws {@link BufferFullError} if the outgoing buffer would pass `maxBufferedBytes`.
   * @throws {@link InvalidStateError} after {@link close}, or once the channel is closed.
   * Nothing changes on these errors. After a failure, throws the channel's error.
   */
  send(payload: Uint8Array): void {
    this.#checkUsable();
    if (this.#localClosed || this.#state === 'closed') {
      throw new InvalidStateError('send() was called after the channel was closed');
    }
    if (payload.length > this.#limits.maxMessageLength) {
      throw new OutgoingMessageTooLargeError(payload.length, this.#limits.maxMessageLength);
    }
    if (this.bufferedOutgoingBytes + payload.length > this.#limits.maxBufferedBytes) {
      throw new BufferFullError('outgoing', this.#limits.maxBufferedBytes);
    }
    if (this.#send === undefined) {
      const copy = payload.slice();
      this.#pending.push(copy);
      this.#pendingBytes += copy.length;
      return;
    }
    guarded(() => {
      this.#sealMessage(payload);
    }, this.#failWith);
  }

  /**
   * Says goodbye: queues an authenticated close message after everything already sent. Incoming
   * messages are still delivered until the peer's close arrives; then `channel-closed` (graceful)
   * is reported. Calling it again does nothing.
   */
  close(): void {
    this.#checkUsable();
    if (this.#localClosed || this.#state === 'closed') return;
    this.#localClosed = true;
    if (this.#send !== undefined) {
      guarded(() => {
        this.#sealClose();
      }, this.#failWith);
    }
  }

  /**
   * Feeds bytes read from the stream.
   *
   * @throws a `RemoteProtocolError` when the peer breaks the protocol: `NotLanchatError`
   * or `UnsupportedVersionError` (preamble), `TamperedError` (a frame failed authentication),
   * `MalformedHandshakeError`, `LowOrderPublicKeyError`, `IncomingFrameTooLargeError`,
   * `IncomingMessageTooLargeError`, `MalformedTransportMessageError`. The channel is then failed.
   * @throws {@link BufferFullError} if received messages waiting for {@link nextEvent} already
   * fill `maxBufferedBytes`; nothing is read.
   */
  receive(data: Uint8Array, _now: number): void {
    this.#checkUsable();
    if (this.#state === 'closed') return;
    if (this.#events.bytes >= this.#limits.maxBufferedBytes) {
      throw new BufferFullError('incoming', this.#limits.maxBufferedBytes);
    }
    guarded(() => {
      let chunk = data;
      if (this.#preamble !== undefined) {
        const accepted = this.#preamble.receive(chunk);
        if (accepted === undefined) return;
        this.#preamble = undefined;
        chunk = accepted.rest;
      }
      this.#frames.receive(chunk);
      for (
        let frame = this.#frames.nextFrame();
        frame !== undefined;
        frame = this.#frames.nextFrame()
      ) {
        if (this.#state === 'closed') break;
        this.#handleFrame(frame);
      }
    }, this.#failWith);
  }

  /**
   * Tells the channel that the stream ended (the socket's end of file). Reports `channel-closed`,
   * graceful if the peer's close message came first.
   *
   * @throws `TruncatedFrameError` if the stream ended inside a frame; the channel is then failed.
   */
  receiveEnd(_now: number): void {
    this.#checkUsable();
    if (this.#state === 'closed') return;
    guarded(() => {
      if (this.#preamble === undefined) this.#frames.finish();
      this.#closed(false);
    }, this.#failWith);
  }

  /** The next event, or `undefined` until more input. */
  nextEvent(): ChannelEvent | undefined {
    return this.#events.next();
  }

  /**
   * The next bytes to write, or `undefined`. Frames queued together are joined into one buffer of
   * up to {@link MAX_COALESCED_WRITE} bytes (one write instead of many small ones); a larger frame
   * comes alone, without a copy. Call until it returns `undefined`.
   */
  pollTransmit(_now?: number): Uint8Array | undefined {
    return this.#outgoing.takeCoalesced(MAX_COALESCED_WRITE);
  }

  /** The handshake deadline while the handshake runs; afterwards `undefined`. */
  pollTimeout(): number | undefined {
    return this.#state === 'handshaking' ? this.#deadline : undefined;
  }

  /**
   * Acts on the time: fails the channel if the handshake passed its deadline.
   *
   * @throws {@link HandshakeTimeoutError} when it does.
   */
  handleTimeout(now: number): void {
    this.#checkUsable();
    if (this.#state === 'handshaking' && now >= this.#deadline) {
      throw this.#failWith(new HandshakeTimeoutError(this.#limits.handshakeTimeout));
    }
  }

  #handleFrame(frame: Uint8Array): void {
    const handshake = this.#handshake;
    if (handshake !== undefined) {
      // This side writes as soon as it is its turn, so a frame here is always the peer's turn.
      const payload = handshake.readMessage(frame);
      this.#remoteAnnouncement = readHandshakePayload(
        payload,
        this.#version,
        this.#remoteAnnouncement,
      );
      if (handshake.isWriteTurn) this.#writeHandshake();
      else if (handshake.complete) this.#finishHandshake();
      return;
    }
    this.#openFrame(frame);
  }

  #writeHandshake(): void {
    const handshake = this.#handshake!;
    const payload = this.#announced ? EMPTY : this.#announcement;
    this.#announced = true;
    this.#outgoing.push(
      encodeStreamFrame(handshake.writeMessage(payload), {
        maxFrameLength: NOISE_MAX_MESSAGE_LENGTH,
      }),
    );
    if (handshake.complete) this.#finishHandshake();
  }

  #finishHandshake(): void {
    const handshake = this.#handshake!;
    const result = handshake.split();
    this.#handshake = undefined;
    this.#send = result.send;
    this.#receive = result.receive;
    this.#state = this.#localClosed ? 'closing' : 'open';
    this.#events.push(handshakeCompleted(result, this.#remoteAnnouncement!));
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    for (const message of pending) this.#sealMessage(message);
    if (this.#localClosed) this.#sealClose();
  }

  /** Seals a message as one or more frames. */
  #sealMessage(payload: Uint8Array): void {
    let offset = 0;
    do {
      const end = Math.min(payload.length, offset + MAX_STREAM_FRAGMENT_LENGTH);
      this.#sealFrame(
        end === payload.length ? MESSAGE_END : MESSAGE_MORE,
        payload.subarray(offset, end),
      );
      offset = end;
    } while (offset < payload.length);
  }

  #sealClose(): void {
    this.#sealFrame(CLOSE, EMPTY);
    if (this.#state === 'open') this.#state = 'closing';
  }

  #sealFrame(type: Uint8Array, body: Uint8Array): void {
    const send = this.#send!;
    if (send.nonce > 0n && send.nonce % this.#limits.rekeyInterval === 0n) send.rekey();
    const frame = send.seal(EMPTY, [type, body], STREAM_FRAME_HEADER_LENGTH);
    const length = frame.length - STREAM_FRAME_HEADER_LENGTH;
    frame[0] = length >>> 24;
    frame[1] = (length >>> 16) & 0xff;
    frame[2] = (length >>> 8) & 0xff;
    frame[3] = length & 0xff;
    this.#outgoing.push(frame);
  }

  #openFrame(frame: Uint8Array): void {
    const receive = this.#receive!;
    if (receive.nonce > 0n && receive.nonce % this.#limits.rekeyInterval === 0n) receive.rekey();
    const plaintext = receive.decryptWithAd(EMPTY, frame);
    const type = plaintext[0];
    const body = plaintext.subarray(1);
    if (this.#remoteClosed) {
      throw new MalformedTransportMessageError('the peer sent data after its close message');
    }
    switch (type) {
      case TransportType.messageMore:
      case TransportType.messageEnd: {
        const length = this.#fragmentBytes + body.length;
        if (length > this.#limits.maxMessageLength) {
          throw new IncomingMessageTooLargeError(length, this.#limits.maxMessageLength);
        }
        if (type === TransportType.messageMore) {
          this.#fragments.push(body);
          this.#fragmentBytes = length;
          return;
        }
        const payload =
          this.#fragments.length === 0 ? body : concatenate([...this.#fragments, body], length);
        this.#fragments = [];
        this.#fragmentBytes = 0;
        this.#events.push({ type: 'message-received', payload });
        return;
      }
      case TransportType.close:
        if (body.length > 0 || this.#fragments.length > 0) {
          throw new MalformedTransportMessageError(
            'a close message carried data or cut a message short',
          );
        }
        this.#remoteClosed = true;
        // Answer a goodbye with ours, as TLS does, so that both sides end gracefully.
        if (!this.#localClosed) {
          this.#localClosed = true;
          this.#sealFrame(CLOSE, EMPTY);
        }
        this.#closed(true);
        return;
      default:
        throw new MalformedTransportMessageError(
          type === undefined
            ? 'the peer sent an empty transport message'
            : `the peer sent a transport message of unknown type ${type}`,
        );
    }
  }

  #closed(graceful: boolean): void {
    this.#state = 'closed';
    this.#wipeSecrets();
    this.#events.push({ type: 'channel-closed', graceful });
  }

  /** Erases every key this channel holds (the handshake's and both directions'). */
  #wipeSecrets(): void {
    this.#handshake?.destroy();
    this.#handshake = undefined;
    this.#send?.wipe();
    this.#receive?.wipe();
  }

  #checkUsable(): void {
    if (this.#error !== undefined) throw this.#error;
  }

  /** Fails the channel for good with `error` and returns it; an arrow so it can be passed along. */
  readonly #failWith = (error: LanchatError): LanchatError => {
    this.#error = error;
    this.#state = 'failed';
    this.#wipeSecrets();
    this.#outgoing.clear();
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#fragments = [];
    this.#fragmentBytes = 0;
    return error;
  };
}
