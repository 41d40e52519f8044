/**
 * The secure channel over datagrams (UDP): the Noise handshake with retransmission, then
 * independent sealed datagrams whose 64-bit counter travels in clear and is the nonce, with a
 * sliding replay window. Sans-I/O: feed it datagrams, take datagrams and events out.
 *
 * @module
 */

import { AEAD_TAG_LENGTH, type CryptoProvider } from '../crypto/crypto-provider.js';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import {
  BufferFullError,
  MalformedTransportMessageError,
  OutgoingMessageTooLargeError,
} from '../errors/channel-errors.js';
import type { ProtocolVersion } from '../errors/frame-errors.js';
import {
  InvalidArgumentError,
  InvalidStateError,
  LanchatError,
  RemoteProtocolError,
} from '../errors/lanchat-error.js';
import { HandshakeTimeoutError } from '../errors/noise-errors.js';
import {
  DATAGRAM_HEADER_LENGTH,
  decodeDatagramFrame,
  encodeDatagramFrame,
} from '../frame/datagram-frame.js';
import {
  DATAGRAM_LENGTH_CEILING,
  DEFAULT_MAX_DATAGRAM_LENGTH,
  checkLimit,
} from '../frame/limits.js';
import { PROTOCOL_VERSION } from '../frame/preamble.js';
import type { CipherState } from '../noise/cipher-state.js';
import type { HandshakeState } from '../noise/handshake-state.js';
import type { ChannelEvent } from './channel-events.js';
import { EventQueue, OutgoingQueue, guarded } from './channel-queues.js';
import {
  type ChannelLimits,
  type SecureChannelOptions,
  TransportType,
  channelLimits,
} from './channel-options.js';
import { createHandshake, handshakeCompleted, readHandshakePayload } from './handshake-driver.js';
import {
  COOKIE_REPLY_TYPE,
  CookieChecker,
  CookieJar,
  HANDSHAKE_MAC_LENGTH,
  cookieReplyIndex,
} from './handshake-cookies.js';
import {
  type HandshakeAnnouncement,
  checkCapabilities,
  encodeHandshakeAnnouncement,
} from './handshake-payload.js';
import { DEFAULT_REPLAY_WINDOW_SIZE, ReplayWindow } from './replay-window.js';

/** Datagram frame types of the secure channel. */
export const DatagramType = {
  /** A Noise handshake message. */
  handshake: 1,
  /** A sealed transport message. */
  transport: 4,
} as const;

/** Handshake datagram body header: message number (1), sender index (4), receiver index (4). */
const HANDSHAKE_HEADER_LENGTH = 9;
/** Transport datagram body header: receiver index (4), counter (8). */
const TRANSPORT_HEADER_LENGTH = 12;
/** Bytes a transport datagram adds to a message: both headers, the type byte and the tag. */
export const DATAGRAM_TRANSPORT_OVERHEAD =
  DATAGRAM_HEADER_LENGTH + TRANSPORT_HEADER_LENGTH + 1 + AEAD_TAG_LENGTH;
/** A receiver accepts counters at most this many rekey epochs ahead of the newest it has seen. */
export const MAX_EPOCH_SKIP = 4n;

/** Default first handshake retransmission delay, in milliseconds; doubled after each retry. */
export const DEFAULT_HANDSHAKE_RETRANSMIT = 500;
/**
 * Longest delay between two handshake retransmissions, in milliseconds: 2 s. On a LAN a round
 * trip takes milliseconds, so a longer wait only wastes the handshake's deadline: with 500 ms
 * doubling to 2 s, a 10 s deadline allows seven tries of each message.
 */
export const MAX_HANDSHAKE_RETRANSMIT = 2_000;

/** Options of a {@link DatagramChannel}. */
export interface DatagramChannelOptions extends SecureChannelOptions {
  /** Largest datagram, header included. Default 1200 (see `DEFAULT_MAX_DATAGRAM_LENGTH`). */
  readonly maxDatagramLength?: number;
  /** Replay window, in packets; at least 1024. Default {@link DEFAULT_REPLAY_WINDOW_SIZE}. */
  readonly replayWindowSize?: number;
  /** First handshake retransmission delay, in ms. Default {@link DEFAULT_HANDSHAKE_RETRANSMIT}. */
  readonly handshakeRetransmit?: number;
  /**
   * The server's static public key, to key the handshake MACs of protocol section 7.1. On the
   * initiator (the client), every handshake datagram it sends ends with mac1 and mac2, and a
   * cookie reply from the server is taken; on the responder (the server), every handshake
   * datagram must carry a valid mac1 (checked, then stripped) or it is dropped. Both sides set it,
   * or neither. Default: no MACs.
   */
  readonly handshakeMacs?: Uint8Array;
}

/** What a datagram channel dropped, by reason: none of these is fatal. */
export interface DatagramStatistics {
  /** Datagrams that authenticated and were delivered or acted on. */
  accepted: number;
  /** Transport datagrams whose counter was already seen. */
  duplicate: number;
  /** Transport datagrams older than the replay window (or than the previous key). */
  tooOld: number;
  /** Transport datagrams that failed authentication (forged, altered, or too far ahead). */
  forged: number;
  /** Datagrams that were not lanchat datagrams, or not well formed. */
  malformed: number;
  /** Datagrams addressed to another session index. */
  unknownSession: number;
  /** Transport datagrams that came before this side had its keys (handshake still running). */
  early: number;
  /** Handshake messages received again (answered with this side's last message). */
  handshakeDuplicate: number;
  /** Handshake datagrams retransmitted by this side on timeout. */
  handshakeRetransmitted: number;
  /** Cookie replies taken: the server was under load and asked for a retry with its cookie. */
  cookies: number;
}

export type DatagramChannelState = 'handshaking' | 'open' | 'closed' | 'failed';

const EMPTY = new Uint8Array(0);
const MESSAGE_END = Uint8Array.of(TransportType.messageEnd);
const CLOSE = Uint8Array.of(TransportType.close);

/** True when the handshake waits for the peer's next message (a function, so that the check does not narrow the getter's type for later reads). */
function expectsPeerMessage(handshake: HandshakeState): boolean {
  return !handshake.complete && !handshake.isWriteTurn;
}

function randomIndex(crypto: CryptoProvider): number {
  for (;;) {
    const bytes = crypto.randomBytes(4);
    const index = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
    if (index !== 0) return index;
  }
}

/**
 * A secure channel over an unreliable datagram transport.
 *
 * Each side has a random 32-bit session index; datagrams name the receiver's index, so that a
 * server can find the session of a client whose address changed. The handshake retransmits with
 * exponential backoff until it completes or its deadline passes. After the handshake each message
 * travels in one datagram: `[header][receiver index][counter][sealed type + body]`, the counter
 * being the AEAD nonce. Delivery is not guaranteed (that belongs to the layer above): a message
 * may be lost, but never altered, duplicated or replayed. Forged, duplicated, too-old and foreign
 * datagrams are dropped and counted in {@link DatagramChannel.statistics}; they never fail the
 * channel.
 */
export class DatagramChannel {
  /** True on the side that started the handshake. */
  readonly initiator: boolean;
  /** This side's session index (nonzero). */
  readonly localIndex: number;
  readonly #limits: ChannelLimits;
  readonly #maxDatagramLength: number;
  readonly #version: ProtocolVersion;
  readonly #announcement: Uint8Array;
  readonly #replay: ReplayWindow;
  readonly #deadline: number;
  readonly #firstRetransmit: number;
  /** The 4-byte datagram frame header of every transport datagram. */
  readonly #transportPrefix: Uint8Array;

  #handshake: HandshakeState | undefined;
  #handshakeNumber = 0;
  #announced = false;
  #remoteAnnouncement: HandshakeAnnouncement | undefined;
  #remoteIndex = 0;
  /** The last handshake datagram this side sent, resent on timeout or when the peer repeats itself. */
  #lastHandshake: Uint8Array | undefined;
  #retransmitAt: number | undefined;
  #retransmitDelay: number;

  #send: CipherState | undefined;
  /** Receive key of the newest epoch seen, and of the one before (for reordered stragglers). */
  #receive: CipherState | undefined;
  #receiveEpoch = 0n;
  #previousReceive: CipherState | undefined;

  #state: DatagramChannelState = 'handshaking';
  #error: LanchatError | undefined;
  readonly #outgoing = new OutgoingQueue();
  readonly #events = new EventQueue();
  readonly #statistics: DatagramStatistics = {
    accepted: 0,
    duplicate: 0,
    tooOld: 0,
    forged: 0,
    malformed: 0,
    unknownSession: 0,
    early: 0,
    handshakeDuplicate: 0,
    handshakeRetransmitted: 0,
    cookies: 0,
  };
  /** Initiator with handshake MACs: the server's mac1 key and the cookie it gave. */
  readonly #cookieJar: CookieJar | undefined;
  /** Responder with handshake MACs: checks mac1. */
  readonly #macChecker: CookieChecker | undefined;
  /** The last handshake datagram as sent, MACs included (a cookie reply answers its mac1). */
  #lastSent: Uint8Array | undefined;

  /**
   * @throws {@link InvalidArgumentError} for an unsupported protocol, a missing key, a bad
   * capability name, a limit out of range, or a handshake announcement too large for a datagram.
   */
  constructor(options: DatagramChannelOptions) {
    this.initiator = options.initiator;
    this.#maxDatagramLength = checkLimit(
      'maxDatagramLength',
      options.maxDatagramLength,
      DEFAULT_MAX_DATAGRAM_LENGTH,
      256,
      DATAGRAM_LENGTH_CEILING,
    );
    this.#limits = channelLimits(options, this.#maxDatagramLength - DATAGRAM_TRANSPORT_OVERHEAD);
    const windowSize = options.replayWindowSize ?? DEFAULT_REPLAY_WINDOW_SIZE;
    if (windowSize < 1024)
      throw new InvalidArgumentError('replayWindowSize must be at least 1024 packets');
    this.#replay = new ReplayWindow({ size: windowSize });
    this.#firstRetransmit = checkLimit(
      'handshakeRetransmit',
      options.handshakeRetransmit,
      DEFAULT_HANDSHAKE_RETRANSMIT,
      1,
      60_000,
    );
    this.#retransmitDelay = this.#firstRetransmit;
    this.#version = options.version ?? PROTOCOL_VERSION;
    this.#announcement = encodeHandshakeAnnouncement({
      version: this.#version,
      capabilities: checkCapabilities(options.capabilities ?? []),
    });
    // The largest handshake message (XX's second: two keys, two tags) must fit one datagram.
    const largestHandshake =
      DATAGRAM_HEADER_LENGTH +
      HANDSHAKE_HEADER_LENGTH +
      32 +
      48 +
      AEAD_TAG_LENGTH +
      this.#announcement.length +
      (options.handshakeMacs === undefined ? 0 : 2 * HANDSHAKE_MAC_LENGTH);
    if (largestHandshake > this.#maxDatagramLength) {
      throw new InvalidArgumentError(
        'the capabilities are too long to fit a handshake in one datagram',
      );
    }
    this.#transportPrefix = encodeDatagramFrame(
      { type: DatagramType.transport, body: EMPTY },
      { majorVersion: this.#version.major },
    );
    const crypto = options.crypto ?? nodeCryptoProvider;
    if (options.handshakeMacs !== undefined && options.initiator) {
      this.#cookieJar = new CookieJar(options.handshakeMacs, crypto);
    } else if (options.handshakeMacs !== undefined) {
      this.#macChecker = new CookieChecker({
        staticPublicKey: options.handshakeMacs,
        now: options.now,
        crypto,
      });
    }
    this.localIndex = randomIndex(crypto);
    this.#handshake = createHandshake(options, ' datagram');
    this.#deadline = options.now + this.#limits.handshakeTimeout;
    if (this.#handshake.isWriteTurn) this.#writeHandshake(options.now);
  }

  /** Where the channel is in its life. */
  get state(): DatagramChannelState {
    return this.#state;
  }

  /** The error that failed the channel, if it has failed. */
  get error(): LanchatError | undefined {
    return this.#error;
  }

  /** The peer's session index, once known (0 before). */
  get remoteIndex(): number {
    return this.#remoteIndex;
  }

  /** Counts of what was accepted and dropped, by reason. */
  get statistics(): Readonly<DatagramStatistics> {
    return { ...this.#statistics };
  }

  /** The largest message {@link send} accepts: what fits in one datagram. */
  get maxMessageLength(): number {
    return this.#limits.maxMessageLength;
  }

  /**
   * Seals a message into one datagram. Only once the handshake has completed: datagram mode does
   * not queue.
   *
   * @throws {@link OutgoingMessageTooLargeError} if it does not fit one datagram.
   * @throws {@link InvalidStateError} before the handshake completes or after close.
   * @throws {@link BufferFullError} if datagrams the transport has not taken fill `maxBufferedBytes`.
   */
  send(payload: Uint8Array): void {
    this.#checkUsable();
    if (this.#state !== 'open') {
      throw new InvalidStateError(
        this.#state === 'handshaking'
          ? 'send() before the handshake completed'
          : 'send() after the channel closed',
      );
    }
    if (payload.length > this.#limits.maxMessageLength) {
      throw new OutgoingMessageTooLargeError(payload.length, this.#limits.maxMessageLength);
    }
    if (this.#outgoing.bytes + payload.length > this.#limits.maxBufferedBytes) {
      throw new BufferFullError('outgoing', this.#limits.maxBufferedBytes);
    }
    guarded(() => {
      this.#sealDatagram(MESSAGE_END, payload);
    }, this.#failWith);
  }

  /** Sends a close datagram (best effort: it may be lost) and closes the channel. */
  close(): void {
    this.#checkUsable();
    if (this.#state === 'closed') return;
    if (this.#state === 'open')
      guarded(() => {
        this.#sealDatagram(CLOSE, EMPTY);
      }, this.#failWith);
    this.#closed(false, false);
  }

  /**
   * Feeds one received datagram. Datagrams that are not lanchat's, not for this session,
   * duplicated, too old or forged are dropped and counted; they never throw.
   *
   * @throws a `RemoteProtocolError` when an authenticated message breaks the protocol, or a
   * handshake message for this session fails (`TamperedError`, `MalformedHandshakeError`,
   * `LowOrderPublicKeyError`, `UnsupportedVersionError`); the channel is then failed.
   * @throws {@link BufferFullError} if received messages already fill `maxBufferedBytes`.
   */
  receive(datagram: Uint8Array, now: number): void {
    this.#checkUsable();
    if (this.#state === 'closed') return;
    if (this.#events.bytes >= this.#limits.maxBufferedBytes) {
      throw new BufferFullError('incoming', this.#limits.maxBufferedBytes);
    }
    let frame;
    try {
      frame = decodeDatagramFrame(datagram, {
        maxDatagramLength: this.#maxDatagramLength,
        majorVersion: this.#version.major,
      });
    } catch (error) {
      if (!RemoteProtocolError.isInstance(error)) throw error;
      this.#statistics.malformed++;
      return;
    }
    let body = frame.body;
    if (frame.type === DatagramType.handshake && this.#macChecker !== undefined) {
      // mac1 first: a datagram not keyed by this server's key costs one HMAC, nothing more.
      if (this.#macChecker.check(datagram, '', false, now) !== 'accept') {
        this.#statistics.malformed++;
        return;
      }
      body = body.subarray(0, body.length - 2 * HANDSHAKE_MAC_LENGTH);
    }
    if (frame.type === COOKIE_REPLY_TYPE) {
      this.#receiveCookieReply(body, now);
      return;
    }
    guarded(() => {
      if (frame.type === DatagramType.handshake && body.length >= HANDSHAKE_HEADER_LENGTH) {
        this.#receiveHandshake(body, now);
      } else if (
        frame.type === DatagramType.transport &&
        body.length >= TRANSPORT_HEADER_LENGTH + 1 + AEAD_TAG_LENGTH
      ) {
        this.#receiveTransport(datagram, body);
      } else {
        this.#statistics.malformed++;
      }
    }, this.#failWith);
  }

  /** The next event, or `undefined` until more input. */
  nextEvent(): ChannelEvent | undefined {
    return this.#events.next();
  }

  /** The next datagram to send, or `undefined`. */
  pollTransmit(_now?: number): Uint8Array | undefined {
    return this.#outgoing.takeOne();
  }

  /** The earliest of the handshake deadline and the next retransmission, while handshaking. */
  pollTimeout(): number | undefined {
    if (this.#state !== 'handshaking') return undefined;
    return this.#retransmitAt === undefined
      ? this.#deadline
      : Math.min(this.#deadline, this.#retransmitAt);
  }

  /**
   * Acts on the time: retransmits the last handshake message when its timer fires (doubling the
   * delay up to {@link MAX_HANDSHAKE_RETRANSMIT}), and fails the channel at the handshake deadline.
   *
   * @throws {@link HandshakeTimeoutError} at the deadline.
   */
  handleTimeout(now: number): void {
    this.#checkUsable();
    if (this.#state !== 'handshaking') return;
    if (now >= this.#deadline)
      throw this.#failWith(new HandshakeTimeoutError(this.#limits.handshakeTimeout));
    if (
      this.#retransmitAt !== undefined &&
      now >= this.#retransmitAt &&
      this.#lastHandshake !== undefined
    ) {
      this.#pushHandshake(this.#lastHandshake, now);
      this.#statistics.handshakeRetransmitted++;
      this.#retransmitDelay = Math.min(this.#retransmitDelay * 2, MAX_HANDSHAKE_RETRANSMIT);
      this.#retransmitAt = now + this.#retransmitDelay;
    }
  }

  #receiveHandshake(body: Uint8Array, now: number): void {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const number = body[0]!;
    const senderIndex = view.getUint32(1);
    const receiverIndex = view.getUint32(5);
    const message = body.subarray(HANDSHAKE_HEADER_LENGTH);
    const fromPeer = this.#remoteIndex === 0 || senderIndex === this.#remoteIndex;
    const toUs = number === 0 ? receiverIndex === 0 : receiverIndex === this.localIndex;
    if (!fromPeer || !toUs || senderIndex === 0) {
      this.#statistics.unknownSession++;
      return;
    }
    if (number < this.#handshakeNumber) {
      // The peer did not get our answer and repeated itself: answer again (once per repeat).
      this.#statistics.handshakeDuplicate++;
      // Our last message answered the peer message just before it, number (ours - 1). Repeats are
      // answered only while the output queue has room: the peer retransmits anyway.
      const answer = this.#lastHandshake;
      if (
        answer !== undefined &&
        number === this.#handshakeNumber - 2 &&
        this.#outgoing.bytes + answer.length <= this.#limits.maxBufferedBytes
      ) {
        this.#pushHandshake(answer, now);
      }
      return;
    }
    const handshake = this.#handshake;
    if (
      handshake === undefined ||
      number > this.#handshakeNumber ||
      !expectsPeerMessage(handshake)
    ) {
      this.#statistics.malformed++;
      return;
    }
    const payload = handshake.readMessage(message);
    this.#remoteAnnouncement = readHandshakePayload(
      payload,
      this.#version,
      this.#remoteAnnouncement,
    );
    this.#remoteIndex = senderIndex;
    this.#handshakeNumber++;
    this.#statistics.accepted++;
    this.#retransmitAt = undefined;
    this.#lastHandshake = undefined;
    if (handshake.isWriteTurn) this.#writeHandshake(now);
    else if (handshake.complete) this.#finishHandshake();
  }

  #writeHandshake(now: number): void {
    const handshake = this.#handshake!;
    const payload = this.#announced ? EMPTY : this.#announcement;
    this.#announced = true;
    const message = handshake.writeMessage(payload);
    const body = new Uint8Array(HANDSHAKE_HEADER_LENGTH + message.length);
    const view = new DataView(body.buffer);
    body[0] = this.#handshakeNumber;
    view.setUint32(1, this.localIndex);
    view.setUint32(5, this.#remoteIndex);
    body.set(message, HANDSHAKE_HEADER_LENGTH);
    const datagram = encodeDatagramFrame(
      { type: DatagramType.handshake, body },
      { maxDatagramLength: this.#maxDatagramLength, majorVersion: this.#version.major },
    );
    this.#handshakeNumber++;
    this.#lastHandshake = datagram;
    this.#pushHandshake(datagram, now);
    if (handshake.complete) {
      // The last message: the peer completes when it arrives. If it is lost, the peer repeats its
      // own message and we answer with this one again (kept in #lastHandshake).
      this.#finishHandshake();
    } else {
      this.#retransmitDelay = this.#firstRetransmit;
      this.#retransmitAt = now + this.#retransmitDelay;
    }
  }

  /** Queues a handshake datagram, with its MACs when this side is a client that sends them. */
  #pushHandshake(datagram: Uint8Array, now: number): void {
    const sent = this.#cookieJar === undefined ? datagram : this.#cookieJar.seal(datagram, now);
    this.#lastSent = sent;
    this.#outgoing.push(sent);
  }

  /**
   * A cookie reply: the server is under load and wants the handshake again with its cookie. Taken
   * only by a client that sends MACs, while handshaking, for its own index and last datagram;
   * anything else is dropped.
   */
  #receiveCookieReply(body: Uint8Array, now: number): void {
    const jar = this.#cookieJar;
    const sent = this.#lastSent;
    if (
      jar === undefined ||
      sent === undefined ||
      this.#lastHandshake === undefined ||
      this.#state !== 'handshaking' ||
      cookieReplyIndex(body) !== this.localIndex ||
      !jar.receiveReply(body, sent, now)
    ) {
      this.#statistics.malformed++;
      return;
    }
    this.#statistics.cookies++;
    this.#pushHandshake(this.#lastHandshake, now);
    this.#retransmitAt = now + this.#retransmitDelay;
  }

  #finishHandshake(): void {
    const result = this.#handshake!.split();
    this.#handshake = undefined;
    this.#send = result.send;
    this.#receive = result.receive;
    this.#retransmitAt = undefined;
    this.#state = 'open';
    this.#events.push(handshakeCompleted(result, this.#remoteAnnouncement!));
  }

  #sealDatagram(type: Uint8Array, body: Uint8Array): void {
    const send = this.#send!;
    const interval = this.#limits.rekeyInterval;
    if (send.nonce > 0n && send.nonce % interval === 0n) send.rekey();
    const headerLength = DATAGRAM_HEADER_LENGTH + TRANSPORT_HEADER_LENGTH;
    const header = new Uint8Array(headerLength);
    header.set(this.#transportPrefix, 0);
    const view = new DataView(header.buffer);
    view.setUint32(DATAGRAM_HEADER_LENGTH, this.#remoteIndex);
    view.setBigUint64(DATAGRAM_HEADER_LENGTH + 4, send.nonce);
    // The clear header is the associated data: changing the index or counter breaks the tag.
    const datagram = send.seal(header, [type, body], headerLength);
    datagram.set(header, 0);
    this.#outgoing.push(datagram);
  }

  #receiveTransport(datagram: Uint8Array, body: Uint8Array): void {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    if (view.getUint32(0) !== this.localIndex) {
      this.#statistics.unknownSession++;
      return;
    }
    const receive = this.#receive;
    if (receive === undefined) {
      this.#statistics.early++;
      return;
    }
    const counter = view.getBigUint64(4);
    const verdict = this.#replay.check(counter);
    if (verdict !== 'fresh') {
      this.#statistics[verdict === 'duplicate' ? 'duplicate' : 'tooOld']++;
      return;
    }
    const epoch = counter / this.#limits.rekeyInterval;
    let cipher: CipherState | undefined;
    /** The key of the epoch before `epoch`, when `epoch` is new: kept for stragglers. */
    let previous: CipherState | undefined;
    if (epoch === this.#receiveEpoch) cipher = receive;
    else if (epoch + 1n === this.#receiveEpoch) cipher = this.#previousReceive;
    else if (epoch > this.#receiveEpoch && epoch - this.#receiveEpoch <= MAX_EPOCH_SKIP) {
      previous = receive.copy();
      for (let step = this.#receiveEpoch + 1n; step < epoch; step++) previous.rekey();
      cipher = previous.copy();
      cipher.rekey();
    }
    if (cipher === undefined) {
      this.#statistics.tooOld++;
      return;
    }
    const headerLength = DATAGRAM_HEADER_LENGTH + TRANSPORT_HEADER_LENGTH;
    const plaintext = cipher.openAt(
      counter,
      datagram.subarray(0, headerLength),
      datagram.subarray(headerLength),
    );
    if (plaintext === undefined) {
      this.#statistics.forged++;
      return;
    }
    this.#replay.commit(counter);
    this.#statistics.accepted++;
    // A valid datagram from the peer proves it completed the handshake: stop answering repeats.
    this.#lastHandshake = undefined;
    if (previous !== undefined) {
      this.#previousReceive?.wipe();
      if (epoch > this.#receiveEpoch + 1n) receive.wipe();
      this.#previousReceive = previous;
      this.#receive = cipher;
      this.#receiveEpoch = epoch;
    }
    const type = plaintext[0];
    const message = plaintext.subarray(1);
    if (type === TransportType.messageEnd) {
      this.#events.push({ type: 'message-received', payload: message });
    } else if (type === TransportType.close && message.length === 0) {
      this.#closed(true, true);
    } else {
      throw new MalformedTransportMessageError(
        `the peer sent a datagram message of unknown type ${String(type)}`,
      );
    }
  }

  #closed(graceful: boolean, report: boolean): void {
    this.#state = 'closed';
    this.#wipeSecrets();
    if (report) this.#events.push({ type: 'channel-closed', graceful });
  }

  /** Erases every key this channel holds (the handshake's and both directions'). */
  #wipeSecrets(): void {
    this.#handshake?.destroy();
    this.#handshake = undefined;
    this.#send?.wipe();
    this.#receive?.wipe();
    this.#previousReceive?.wipe();
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
    return error;
  };
}
