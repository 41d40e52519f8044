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
import { InvalidArgumentError, InvalidStateError, LanchatError } from '../errors/lanchat-error.js';
import { HandshakeTimeoutError } from '../errors/noise-errors.js';
import { bytesToOverwrite } from '../util/bytes.js';
import { STREAM_FRAME_HEADER_LENGTH } from '../frame/limits.js';
import { PROTOCOL_VERSION, PreambleDecoder, encodePreamble } from '../frame/preamble.js';
import { StreamFrameDecoder, encodeStreamFrame } from '../frame/stream-frame.js';
import { TruncatedFrameError } from '../errors/frame-errors.js';
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
import { readUint32, writeUint32 } from '../util/uint32.js';

/** Bytes in a record header inside a stream transport message: a type byte and a u16 length. */
export const STREAM_RECORD_HEADER_LENGTH = 3;

/** Largest plaintext of one stream transport message: a Noise message less the tag (65519). */
export const MAX_STREAM_PLAINTEXT_LENGTH = NOISE_MAX_MESSAGE_LENGTH - AEAD_TAG_LENGTH;

/**
 * Largest record body: what one transport message holds when it carries a single record, a Noise
 * message less the tag and the record header (65516). A longer message is split into fragments.
 */
export const MAX_STREAM_FRAGMENT_LENGTH = MAX_STREAM_PLAINTEXT_LENGTH - STREAM_RECORD_HEADER_LENGTH;

/**
 * The capability a stream channel announces when it takes messages with a clear tail
 * ({@link StreamChannel.sendWithClearTail}; docs/protocol.md, section 6). A channel sends clear
 * tails only to a peer that announced it, and takes them only if it announced it itself.
 */
export const CLEAR_TAIL_CAPABILITY = 'clear-tail';

/** Bytes of a clear-tail record before the message's sealed bytes: the tail's length, a u32. */
const CLEAR_TAIL_LENGTH_BYTES = 4;

/**
 * Most sealed bytes a message with a clear tail may have before its tail (65512): they travel
 * whole in one record of one transport message.
 */
export const MAX_CLEAR_TAIL_HEAD = MAX_STREAM_FRAGMENT_LENGTH - CLEAR_TAIL_LENGTH_BYTES;

/**
 * Most bytes {@link StreamChannel.pollTransmit} joins into one buffer: 64 KiB. Joining saves
 * system calls for small frames; for large ones it would only cost a copy.
 */
export const MAX_COALESCED_WRITE = 65_536;

/** The life of a channel. */
export type ChannelState = 'handshaking' | 'open' | 'closing' | 'closed' | 'failed';

const EMPTY = new Uint8Array(0);

/**
 * Record bodies shorter than this are copied into the plaintext buffer of their transport message;
 * longer ones go to the cipher as parts of their own, uncopied (a cipher call costs more than
 * copying a few KiB, less than copying 64 KiB).
 */
const COPY_LIMIT = 4096;

/** Sealed entries at the front of the send queue are spliced out once this many make half of it. */
const COMPACT_AFTER = 1024;

/** Largest plaintext a frame can carry and still fit, framed, into a write of `room` bytes. */
function plaintextRoom(room: number): number {
  return room - STREAM_FRAME_HEADER_LENGTH - AEAD_TAG_LENGTH;
}

/** Joins the fragments of a message. */
function concatenate(parts: readonly Uint8Array[], length: number): Uint8Array {
  const output = bytesToOverwrite(length);
  let offset = 0;
  for (const part of parts) {
    output.set(part, offset);
    offset += part.length;
  }
  return output;
}

/** Options of a {@link StreamChannel}. */
export interface StreamChannelOptions extends SecureChannelOptions {
  /**
   * Deliver every received message as a view of the decrypted transport message it came in,
   * never a copy. Default false: a message taking less than half of its transport message is
   * copied out, so that keeping it does not keep the other messages' bytes alive. Set it when
   * each message is read and dropped at once, as the chat session does: it saves a copy per small
   * message.
   */
  readonly messageViews?: boolean;
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
 * Sealing is lazy and batched: {@link StreamChannel.send} only queues a message, and
 * {@link StreamChannel.pollTransmit} seals what is queued, packing as many messages as fit into
 * each transport message (docs/protocol.md, section 6). Many small messages sent in one turn of
 * the event loop cost one seal, not one each.
 *
 * Every frame after the handshake is sealed under an implicit counter nonce, so a changed,
 * dropped, reordered, replayed or injected frame fails authentication: the channel throws
 * `TamperedError` and is failed for good (fail closed). Errors are sticky: after one, every call
 * throws it again. The one exception is a clear tail ({@link StreamChannel.sendWithClearTail}),
 * between peers that both announced {@link CLEAR_TAIL_CAPABILITY}: bytes the application sealed
 * itself, whose length and place the sealed frame before them authenticates.
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

  /** Encoded frames waiting for pollTransmit(). */
  readonly #outgoing = new OutgoingQueue();
  /**
   * Messages waiting to be sealed, the caller's own buffers (not copies); those before `#head`
   * are sealed and replaced by {@link EMPTY}.
   */
  #queue: Uint8Array[] = [];
  #head = 0;
  /** Bytes of the message at `#head` already sealed as fragments. */
  #headOffset = 0;
  /** Plaintext bytes of the messages waiting to be sealed. */
  #queuedBytes = 0;
  /** A close record waits to be sealed after the queued messages. */
  #closeQueued = false;
  readonly #events = new EventQueue();
  /** Fragments of the message being received. */
  #fragments: Uint8Array[] = [];
  #fragmentBytes = 0;
  /** A `message more` record came, and the message it began has not ended. */
  #fragmenting = false;
  /** Deliver every message as a view of its transport message (see {@link StreamChannelOptions}). */
  readonly #messageViews: boolean;
  /** This side announced {@link CLEAR_TAIL_CAPABILITY}: it takes clear tails. */
  readonly #takesClearTails: boolean;
  /** The peer announced {@link CLEAR_TAIL_CAPABILITY}: it is sent clear tails. */
  #sendsClearTails = false;
  /** The clear tails of queued messages, by the message's own buffer. */
  readonly #clearTails = new Map<Uint8Array, Uint8Array>();
  /** Bytes of the clear tail announced by the last transport message, expected as the next frame. */
  #pendingTail: number | undefined;
  /**
   * The message whose clear tail is expected, assembled in one buffer: its sealed bytes first,
   * then room for the tail, which the frame decoder fills in place when the tail spans reads.
   */
  #tailMessage: Uint8Array | undefined;

  /**
   * @throws `InvalidArgumentError` for an unsupported protocol, a missing key, a bad capability
   * name or a limit out of range.
   */
  constructor(options: StreamChannelOptions) {
    this.initiator = options.initiator;
    this.#messageViews = options.messageViews ?? false;
    this.#takesClearTails = options.capabilities?.includes(CLEAR_TAIL_CAPABILITY) ?? false;
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

  /** Always `undefined`: a stream's acknowledgements are the transport's (TCP's) own. */
  get unacknowledgedSince(): number | undefined {
    return undefined;
  }

  /** Bytes waiting for {@link pollTransmit}: sealed frames, and queued messages not yet sealed. */
  get bufferedOutgoingBytes(): number {
    return this.#outgoing.bytes + this.#queuedBytes;
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
   * Queues an application message. Nothing is sealed yet: {@link pollTransmit} seals the queued
   * messages, as many to a transport message as fit, and splits a long one into fragments; the
   * peer gets them whole and in order.
   *
   * The channel keeps a reference to `payload`, not a copy, until {@link pollTransmit} has sealed
   * it: the caller must not modify the buffer after handing it over (like node's
   * `socket.write()`).
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
    this.#queue.push(payload);
    this.#queuedBytes += payload.length;
  }

  /**
   * Queues an application message made of `message` and then `tail`; the peer receives them as one
   * message, `message` followed by `tail`, as from {@link send}. The difference is on the wire:
   * when the peer announced {@link CLEAR_TAIL_CAPABILITY}, the tail travels **as it is, neither
   * encrypted nor authenticated by the channel**, as a frame of its own after the transport
   * message that carries `message` and the tail's length (docs/protocol.md, section 6). So pass as
   * a tail only bytes the application has sealed end to end already (a file's data, section 9),
   * and authenticate them where they are opened; the channel saves sealing them a second time.
   * With a peer that did not announce the capability, or before the handshake has said, the two
   * parts are joined and sent as one sealed message.
   *
   * The channel keeps references to both buffers until {@link pollTransmit} has handed them out.
   *
   * @throws {@link OutgoingMessageTooLargeError} when the two parts pass `maxMessageLength`.
   * @throws `InvalidArgumentError` when `message` is longer than {@link MAX_CLEAR_TAIL_HEAD}.
   * @throws {@link BufferFullError} and `InvalidStateError` as {@link send} does.
   */
  sendWithClearTail(message: Uint8Array, tail: Uint8Array): void {
    if (!this.#sendsClearTails || tail.length === 0) {
      this.#checkUsable();
      if (message.length + tail.length > this.#limits.maxMessageLength) {
        throw new OutgoingMessageTooLargeError(
          message.length + tail.length,
          this.#limits.maxMessageLength,
        );
      }
      this.send(concatenate([message, tail], message.length + tail.length));
      return;
    }
    this.#checkUsable();
    if (this.#localClosed || this.#state === 'closed') {
      throw new InvalidStateError('sendWithClearTail() was called after the channel was closed');
    }
    if (message.length > MAX_CLEAR_TAIL_HEAD) {
      throw new InvalidArgumentError(
        `a message with a clear tail has at most ${MAX_CLEAR_TAIL_HEAD} bytes before its tail, ` +
          `not ${message.length}`,
      );
    }
    const length = message.length + tail.length;
    if (length > this.#limits.maxMessageLength) {
      throw new OutgoingMessageTooLargeError(length, this.#limits.maxMessageLength);
    }
    const queued = CLEAR_TAIL_LENGTH_BYTES + length;
    if (this.bufferedOutgoingBytes + queued > this.#limits.maxBufferedBytes) {
      throw new BufferFullError('outgoing', this.#limits.maxBufferedBytes);
    }
    // The tail is found again by the message's buffer: a buffer queued twice gets a copy.
    const head = this.#clearTails.has(message) ? message.slice() : message;
    this.#clearTails.set(head, tail);
    this.#queue.push(head);
    this.#queuedBytes += queued;
  }

  /**
   * Says goodbye: queues an authenticated close record after everything already sent. Incoming
   * messages are still delivered until the peer's close arrives; then `channel-closed` (graceful)
   * is reported. Calling it again does nothing.
   */
  close(): void {
    this.#checkUsable();
    if (this.#localClosed || this.#state === 'closed') return;
    this.#localClosed = true;
    this.#closeQueued = true;
    if (this.#state === 'open') this.#state = 'closing';
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
   * graceful if the peer's close message came first. Messages already queued are still sealed for
   * {@link pollTransmit}.
   *
   * @throws `TruncatedFrameError` if the stream ended inside a frame; the channel is then failed.
   */
  receiveEnd(_now: number): void {
    this.#checkUsable();
    if (this.#state === 'closed') return;
    guarded(() => {
      if (this.#preamble === undefined) this.#frames.finish();
      if (this.#pendingTail !== undefined) {
        throw new TruncatedFrameError(0, STREAM_FRAME_HEADER_LENGTH + this.#pendingTail);
      }
      this.#closed(false);
    }, this.#failWith);
  }

  /** The next event, or `undefined` until more input. */
  nextEvent(): ChannelEvent | undefined {
    return this.#events.next();
  }

  /**
   * The next bytes to write, or `undefined`. Call until it returns `undefined`.
   *
   * Seals what {@link send} and {@link close} queued, one transport message at a time: when no
   * sealed frame is waiting, it packs as many queued messages (and fragments) as fit into one
   * transport message and returns that frame, so that the messages of one turn of the event loop
   * leave in one write and cost one seal, and a large frame leaves uncopied. Frames already
   * waiting (the handshake's) are joined into one buffer of up to {@link MAX_COALESCED_WRITE}
   * bytes, together with the queued messages if all of them fit in it.
   *
   * @throws `NonceExhaustedError` if the sending nonce ran out; the channel is then failed.
   */
  pollTransmit(_now?: number): Uint8Array | undefined {
    if (this.#send !== undefined && this.#hasQueued()) {
      const waiting = this.#outgoing.bytes;
      const room = plaintextRoom(MAX_COALESCED_WRITE - waiting);
      if (waiting === 0 || this.#queuedRecordBytes() <= room) {
        guarded(() => {
          this.#sealBatch(waiting === 0 ? MAX_STREAM_PLAINTEXT_LENGTH : room);
        }, this.#failWith);
      }
    }
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
    if (this.#pendingTail === undefined) this.#openFrame(frame);
    else this.#readClearTail(frame, this.#pendingTail);
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

  /** Takes the transport keys. Messages queued meanwhile are sealed by the next pollTransmit(). */
  #finishHandshake(): void {
    const handshake = this.#handshake!;
    const result = handshake.split();
    this.#handshake = undefined;
    this.#send = result.send;
    this.#receive = result.receive;
    this.#state = this.#localClosed ? 'closing' : 'open';
    this.#sendsClearTails = this.#remoteAnnouncement!.capabilities.includes(CLEAR_TAIL_CAPABILITY);
    this.#events.push(handshakeCompleted(result, this.#remoteAnnouncement!));
  }

  /** True while a message or a close record waits to be sealed. */
  #hasQueued(): boolean {
    return this.#head < this.#queue.length || this.#closeQueued;
  }

  /** Plaintext bytes the queued records take, if none is split: bodies plus headers. */
  #queuedRecordBytes(): number {
    const records = this.#queue.length - this.#head + (this.#closeQueued ? 1 : 0);
    return this.#queuedBytes + records * STREAM_RECORD_HEADER_LENGTH;
  }

  /** Seals everything queued (before the keys go away). */
  #sealAll(): void {
    while (this.#hasQueued()) this.#sealBatch(MAX_STREAM_PLAINTEXT_LENGTH);
  }

  /**
   * Seals the oldest queued records into one transport message of at most `capacity` plaintext
   * bytes and queues its frame: whole messages while they fit, then a fragment of the next one if
   * the room allows and that message fits no transport message whole (one that fits waits for the
   * next), then the close record if it is due and fits. The callers' capacity always
   * takes at least one record (the maximum, or room for everything queued).
   */
  #sealBatch(capacity: number): void {
    const queue = this.#queue;
    // First the plan: the record bodies, views of the caller's buffers.
    const bodies: Uint8Array[] = [];
    let head = this.#head;
    let offset = this.#headOffset;
    let room = capacity;
    let fragment = false;
    let bodyBytes = 0;
    let copied = 0;
    /** The clear tail of the last record, which then ends the transport message. */
    let clearTail: Uint8Array | undefined;
    while (head < queue.length && room >= STREAM_RECORD_HEADER_LENGTH) {
      const message = queue[head]!;
      const rest = message.length - offset;
      let body: Uint8Array;
      const tail = this.#clearTails.size === 0 ? undefined : this.#clearTails.get(message);
      if (tail !== undefined) {
        // Never split: its record is whole, and last, in this transport message or the next.
        const recordLength = STREAM_RECORD_HEADER_LENGTH + CLEAR_TAIL_LENGTH_BYTES + message.length;
        if (recordLength > room) break;
        body = bytesToOverwrite(CLEAR_TAIL_LENGTH_BYTES + message.length);
        writeUint32(body, 0, tail.length);
        body.set(message, CLEAR_TAIL_LENGTH_BYTES);
        this.#clearTails.delete(message);
        queue[head] = EMPTY;
        head++;
        bodies.push(body);
        bodyBytes += CLEAR_TAIL_LENGTH_BYTES + message.length + tail.length;
        room -= recordLength;
        copied += STREAM_RECORD_HEADER_LENGTH + (body.length < COPY_LIMIT ? body.length : 0);
        clearTail = tail;
        break;
      }
      if (rest <= room - STREAM_RECORD_HEADER_LENGTH) {
        body = offset === 0 ? message : message.subarray(offset);
        queue[head] = EMPTY;
        head++;
        offset = 0;
      } else if (
        room > STREAM_RECORD_HEADER_LENGTH &&
        (bodies.length === 0 || rest > MAX_STREAM_FRAGMENT_LENGTH)
      ) {
        // Split a message only if it comes first or fits no transport message whole: one that
        // fits waits for the next transport message, and the receiver gets it in one piece
        // rather than two to join (a copy of the whole message).
        body = message.subarray(offset, offset + room - STREAM_RECORD_HEADER_LENGTH);
        offset += body.length;
        fragment = true;
      } else {
        break;
      }
      bodies.push(body);
      bodyBytes += body.length;
      room -= STREAM_RECORD_HEADER_LENGTH + body.length;
      copied += STREAM_RECORD_HEADER_LENGTH + (body.length < COPY_LIMIT ? body.length : 0);
      if (fragment) break;
    }
    const close =
      this.#closeQueued &&
      clearTail === undefined &&
      head === queue.length &&
      room >= STREAM_RECORD_HEADER_LENGTH;
    if (close) copied += STREAM_RECORD_HEADER_LENGTH;

    // Then the plaintext: headers and short bodies copied into one buffer, long bodies as parts.
    const plaintext = new Uint8Array(copied);
    const parts: Uint8Array[] = [];
    let at = 0;
    let partStart = 0;
    for (let index = 0; index < bodies.length; index++) {
      const body = bodies[index]!;
      const last = index === bodies.length - 1;
      at = writeRecordHeader(
        plaintext,
        at,
        last && clearTail !== undefined
          ? TransportType.messageClearTail
          : last && fragment
            ? TransportType.messageMore
            : TransportType.messageEnd,
        body.length,
      );
      if (body.length < COPY_LIMIT) {
        plaintext.set(body, at);
        at += body.length;
      } else {
        parts.push(plaintext.subarray(partStart, at), body);
        partStart = at;
      }
    }
    if (close) at = writeRecordHeader(plaintext, at, TransportType.close, 0);
    if (at > partStart) parts.push(partStart === 0 ? plaintext : plaintext.subarray(partStart));

    const send = this.#send!;
    if (send.nonce > 0n && send.nonce % this.#limits.rekeyInterval === 0n) send.rekey();
    const frame = send.seal(EMPTY, parts, STREAM_FRAME_HEADER_LENGTH);
    const length = frame.length - STREAM_FRAME_HEADER_LENGTH;
    writeUint32(frame, 0, length);
    this.#outgoing.push(frame);
    if (clearTail !== undefined) {
      // The tail's own frame, unsealed: its header joins the small frame before it, the tail
      // itself leaves uncopied.
      const header = new Uint8Array(STREAM_FRAME_HEADER_LENGTH);
      writeUint32(header, 0, clearTail.length);
      this.#outgoing.push(header);
      this.#outgoing.pushAlone(clearTail);
    }

    this.#queuedBytes -= bodyBytes;
    if (close) this.#closeQueued = false;
    if (head === queue.length) {
      this.#queue = [];
      head = 0;
    } else if (head >= COMPACT_AFTER && head * 2 >= queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    this.#head = head;
    this.#headOffset = offset;
  }

  /** Opens a transport message and reads its records. */
  #openFrame(frame: Uint8Array): void {
    const receive = this.#receive!;
    if (receive.nonce > 0n && receive.nonce % this.#limits.rekeyInterval === 0n) receive.rekey();
    const plaintext = receive.decryptWithAd(EMPTY, frame);
    if (plaintext.length === 0) {
      throw new MalformedTransportMessageError('the peer sent an empty transport message');
    }
    let offset = 0;
    while (offset < plaintext.length) {
      if (plaintext.length - offset < STREAM_RECORD_HEADER_LENGTH) {
        throw new MalformedTransportMessageError(
          'a record header ran past the end of its transport message',
        );
      }
      const type = plaintext[offset]!;
      const length = (plaintext[offset + 1]! << 8) | plaintext[offset + 2]!;
      const start = offset + STREAM_RECORD_HEADER_LENGTH;
      offset = start + length;
      if (offset > plaintext.length) {
        throw new MalformedTransportMessageError(
          `a record of ${length} bytes ran past the end of its transport message`,
        );
      }
      const body = plaintext.subarray(start, offset);
      switch (type) {
        case TransportType.messageMore:
        case TransportType.messageEnd:
          this.#readFragment(type === TransportType.messageEnd, body, plaintext.length);
          break;
        case TransportType.messageClearTail:
          if (offset < plaintext.length) {
            throw new MalformedTransportMessageError(
              'a clear-tail record was not the last of its transport message',
            );
          }
          this.#readClearTailRecord(body);
          return;
        case TransportType.close:
          if (length > 0 || this.#fragmenting) {
            throw new MalformedTransportMessageError(
              'a close record carried data or cut a message short',
            );
          }
          if (offset < plaintext.length) {
            throw new MalformedTransportMessageError('the peer sent data after its close record');
          }
          this.#remoteClosed();
          return;
        default:
          throw new MalformedTransportMessageError(
            `the peer sent a record of unknown type ${type}`,
          );
      }
    }
  }

  /**
   * Takes a message record: a fragment to keep, or the end of a message to deliver. Unless
   * `messageViews` is set, a message taking less than half of its transport message is copied out,
   * so that it does not keep the others' bytes alive; a larger one is delivered as a view.
   */
  #readFragment(end: boolean, body: Uint8Array, plaintextLength: number): void {
    const length = this.#fragmentBytes + body.length;
    if (length > this.#limits.maxMessageLength) {
      throw new IncomingMessageTooLargeError(length, this.#limits.maxMessageLength);
    }
    if (!end) {
      if (body.length > 0) this.#fragments.push(body);
      this.#fragmentBytes = length;
      this.#fragmenting = true;
      return;
    }
    let payload: Uint8Array;
    if (this.#fragments.length > 0) {
      payload = concatenate([...this.#fragments, body], length);
    } else {
      payload = this.#messageViews || body.length * 2 >= plaintextLength ? body : body.slice();
    }
    this.#fragments = [];
    this.#fragmentBytes = 0;
    this.#fragmenting = false;
    this.#events.push({ type: 'message-received', payload });
  }

  /**
   * A clear-tail record: the message's sealed bytes, and the length of its tail, which the next
   * frame must be.
   */
  #readClearTailRecord(body: Uint8Array): void {
    if (!this.#takesClearTails) {
      throw new MalformedTransportMessageError(
        `the peer sent a clear tail, but this side did not announce "${CLEAR_TAIL_CAPABILITY}"`,
      );
    }
    if (body.length < CLEAR_TAIL_LENGTH_BYTES) {
      throw new MalformedTransportMessageError(
        `a clear-tail record of ${body.length} bytes is shorter than its tail's length`,
      );
    }
    const tail = readUint32(body, 0);
    if (tail === 0) {
      throw new MalformedTransportMessageError('a clear-tail record announced an empty tail');
    }
    const head = body.subarray(CLEAR_TAIL_LENGTH_BYTES);
    const length = this.#fragmentBytes + head.length + tail;
    if (length > this.#limits.maxMessageLength) {
      throw new IncomingMessageTooLargeError(length, this.#limits.maxMessageLength);
    }
    // The whole message in one buffer, the tail to come in place: no join afterwards.
    const message = concatenate([...this.#fragments, head], length);
    const at = length - tail;
    this.#fragments = [];
    this.#fragmentBytes = 0;
    this.#fragmenting = true;
    this.#pendingTail = tail;
    this.#tailMessage = message;
    this.#frames.allowNextFrame(tail, message.subarray(at));
  }

  /** The frame after a clear-tail record: the end of its message, as it is. */
  #readClearTail(frame: Uint8Array, expected: number): void {
    if (frame.length !== expected) {
      throw new MalformedTransportMessageError(
        `a clear tail of ${frame.length} bytes came where ${expected} were announced`,
      );
    }
    const payload = this.#tailMessage!;
    // Assembled in place across reads; a tail inside one read is a view of the caller's buffer,
    // copied (the caller may reuse its buffer once receive() returns).
    const place = payload.length - expected;
    if (frame.buffer !== payload.buffer || frame.byteOffset !== payload.byteOffset + place) {
      payload.set(frame, place);
    }
    this.#pendingTail = undefined;
    this.#tailMessage = undefined;
    this.#fragmenting = false;
    this.#events.push({ type: 'message-received', payload });
  }

  /** The peer said goodbye: answer with ours, as TLS does, so that both sides end gracefully. */
  #remoteClosed(): void {
    if (!this.#localClosed) {
      this.#localClosed = true;
      this.#closeQueued = true;
    }
    this.#closed(true);
  }

  /** Seals what is still queued (the keys are about to go), then reports the end. */
  #closed(graceful: boolean): void {
    if (this.#send !== undefined) this.#sealAll();
    this.#clearQueue();
    this.#state = 'closed';
    this.#wipeSecrets();
    this.#events.push({ type: 'channel-closed', graceful });
  }

  #clearQueue(): void {
    this.#clearTails.clear();
    this.#queue = [];
    this.#head = 0;
    this.#headOffset = 0;
    this.#queuedBytes = 0;
    this.#closeQueued = false;
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
    this.#clearQueue();
    this.#fragments = [];
    this.#fragmentBytes = 0;
    this.#fragmenting = false;
    this.#pendingTail = undefined;
    this.#tailMessage = undefined;
    return error;
  };
}

/** Writes a record header at `at` and returns the offset after it. */
function writeRecordHeader(into: Uint8Array, at: number, type: number, length: number): number {
  into[at] = type;
  into[at + 1] = length >>> 8;
  into[at + 2] = length & 0xff;
  return at + STREAM_RECORD_HEADER_LENGTH;
}
