/**
 * Reliable, ordered messages over a path that loses, duplicates and reorders (docs/protocol.md,
 * section 7.2): what the chat session needs from a datagram transport. Sans-I/O: it takes the
 * segments that arrived and gives segments to send, each to be carried in one authenticated
 * datagram of the secure channel.
 *
 * Messages are cut into numbered segments; the receiver delivers them in order, whole, exactly
 * once, and acknowledges what it holds (the next number it expects, and up to 16 ranges beyond
 * it); the sender keeps at most `window` segments unacknowledged and resends a segment at once
 * when an acknowledgement reports it missing after three segments sent later arrived, or after a
 * later one arrived and a round trip has passed (RFC 9002's thresholds, which catch a lost resend
 * too). When its RFC 6298 timer expires, it sends two probes (the oldest and the newest segment
 * unacknowledged), whose acknowledgement shows what else was lost.
 *
 * @module
 */

import {
  BufferFullError,
  IncomingMessageTooLargeError,
  MalformedTransportMessageError,
  OutgoingMessageTooLargeError,
} from '../errors/channel-errors.js';
import { checkLimit } from '../frame/limits.js';
import { RetransmitTimer } from '../transfer/transfer-timing.js';
import { FifoQueue } from '../util/fifo-queue.js';
import { readUint32, writeUint32 } from '../util/uint32.js';

/** Segment kind: data. */
export const SEGMENT_DATA = 0x10;
/** Segment kind: acknowledgement. */
export const SEGMENT_ACK = 0x11;
/** Bytes before the payload of a data segment: kind, sequence number, flags. */
export const DATA_SEGMENT_HEADER_LENGTH = 6;
/** Most ranges an acknowledgement carries beyond its cumulative number. */
export const MAX_SEGMENT_ACK_RANGES = 16;
/**
 * Default most segments unacknowledged at once, and most kept ahead of a gap: 128 (about 145 KiB
 * of 1200-byte datagrams). A LAN's bandwidth-delay product is far less; the rest covers the
 * event-loop turns of busy processes at both ends. More only queues: a file through the server
 * on loopback moved no faster with 256 or 512, and chat behind it waited twice and four times as
 * long (docs/decisions.md).
 */
export const DEFAULT_RELIABLE_WINDOW = 128;
/**
 * A segment is taken as lost, and resent at once, when this many segments sent after it (new or
 * resent) were acknowledged while it was not: the packet threshold of RFC 9002's loss detection.
 */
const FAST_RESEND_AFTER = 3;
/**
 * Shortest resend timeout of a segment, in ms. A LAN's round trip is a millisecond or less, and
 * the peer acknowledges at the end of its event-loop turn: 30 ms leaves room for a busy turn
 * (RFC 9002 adds the peer's acknowledgement delay, 25 ms by default, to a 1 ms granularity),
 * where TCP's usual 200 ms would stall a window for a segment lost twice.
 */
export const MIN_SEGMENT_RETRANSMIT_TIMEOUT = 30;
/** Sequence numbers are 32-bit and must not wrap within a session. */
const MAX_SEQUENCE = 0xffff_ffff;
const END_FLAG = 0x01;

/** Options of {@link ReliableMessages}. */
export interface ReliableMessagesOptions {
  readonly now: number;
  /** Largest segment, header included: what one datagram of the channel carries. */
  readonly maxSegmentLength: number;
  /** Largest message, in bytes. Default 1 MiB. */
  readonly maxMessageLength?: number;
  /** Most bytes of messages waiting to be sent, and of messages received and not taken. Default 4 MiB. */
  readonly maxBufferedBytes?: number;
  /** Default {@link DEFAULT_RELIABLE_WINDOW}; from 1 to 65,536. */
  readonly window?: number;
}

/** What a {@link ReliableMessages} did, for statistics. */
export interface ReliableStatistics {
  /** Data segments sent for the first time. */
  sent: number;
  /** Data segments sent again (timer or fast resend). */
  resent: number;
  /** Data segments received that were already held or delivered. */
  duplicates: number;
  /** Data segments received beyond the window, dropped. */
  beyondWindow: number;
  /** Times the resend timer ran out (each resends what it finds overdue, and backs off). */
  timeouts: number;
}

interface InFlight {
  readonly sequence: number;
  readonly segment: Uint8Array;
  sentAt: number;
  resent: boolean;
  /** Number of its latest transmission: transmissions are numbered in the order they leave. */
  serial: number;
  /** Waiting in the resend queue (so that it goes there once). */
  queued: boolean;
}

/**
 * Reliable, ordered messages over an unreliable path. Feed it the segments that arrive
 * ({@link receive}), send what {@link pollTransmit} gives, take messages with
 * {@link nextMessage}, and run its timer ({@link pollTimeout}, {@link handleTimeout}).
 */
export class ReliableMessages {
  readonly statistics: ReliableStatistics = {
    sent: 0,
    resent: 0,
    duplicates: 0,
    beyondWindow: 0,
    timeouts: 0,
  };
  readonly #maxPayload: number;
  readonly #maxMessageLength: number;
  readonly #maxBufferedBytes: number;
  readonly #window: number;
  readonly #timer = new RetransmitTimer({ min: MIN_SEGMENT_RETRANSMIT_TIMEOUT });

  // Sending.
  readonly #queue = new FifoQueue<Uint8Array>();
  #queuedBytes = 0;
  /** Bytes of the message at the head of the queue already cut into segments. */
  #headOffset = 0;
  #nextSequence = 0;
  readonly #inFlight = new Map<number, InFlight>();
  readonly #resend = new FifoQueue<InFlight>();
  /** Every segment below this was acknowledged. */
  #acknowledged = 0;
  #retransmitAt: number | undefined;
  /** Number of the next transmission. */
  #serial = 0;
  /** Highest transmission number acknowledged so far. */
  #ackedSerial = -1;
  /** The latest round trip measured, in ms. */
  #latestRoundTrip = 0;
  /** When the segments in flight last saw progress (or the first of them left). */
  #waitingSince = 0;
  /** Every acknowledgement so far described the segments below this one. */
  #reportedUpTo = 0;
  /** When a segment reported missing will be taken as lost by the time threshold. */
  #lossAt: number | undefined;

  // Receiving.
  #expected = 0;
  readonly #early = new Map<number, Uint8Array>();
  #fragments: Uint8Array[] = [];
  #fragmentBytes = 0;
  readonly #messages = new FifoQueue<Uint8Array>();
  #messageBytes = 0;
  #ackDue = false;

  /** @throws `InvalidArgumentError` for a limit out of range. */
  constructor(options: ReliableMessagesOptions) {
    // Room for the longest acknowledgement: kind, cumulative number, count, 16 ranges.
    const smallest = 1 + 4 + 1 + MAX_SEGMENT_ACK_RANGES * 8;
    const maxSegmentLength = checkLimit(
      'maxSegmentLength',
      options.maxSegmentLength,
      smallest,
      smallest,
      65_535,
    );
    this.#maxPayload = maxSegmentLength - DATA_SEGMENT_HEADER_LENGTH;
    this.#maxMessageLength = checkLimit(
      'maxMessageLength',
      options.maxMessageLength,
      1_048_576,
      0,
      2 ** 31,
    );
    this.#maxBufferedBytes = checkLimit(
      'maxBufferedBytes',
      options.maxBufferedBytes,
      4 * 1_048_576,
      1,
      2 ** 40,
    );
    this.#window = checkLimit('window', options.window, DEFAULT_RELIABLE_WINDOW, 1, 65_536);
  }

  /** Bytes of messages waiting to be sent (not yet cut into segments). */
  get bufferedBytes(): number {
    return this.#queuedBytes;
  }

  /**
   * Since when segments have been in flight with no acknowledgement settling any of them, or
   * `undefined` when none is in flight.
   */
  get unacknowledgedSince(): number | undefined {
    return this.#inFlight.size === 0 ? undefined : this.#waitingSince;
  }

  /** True once everything sent has been acknowledged. */
  get idle(): boolean {
    return this.#queue.length === 0 && this.#inFlight.size === 0;
  }

  /** The timer's current round-trip estimate, in ms. */
  get roundTrip(): number {
    return this.#timer.roundTrip;
  }

  /**
   * Queues a message.
   *
   * @throws {@link OutgoingMessageTooLargeError} over `maxMessageLength`.
   * @throws {@link BufferFullError} if messages waiting would pass `maxBufferedBytes`.
   */
  send(message: Uint8Array): void {
    if (message.length > this.#maxMessageLength) {
      throw new OutgoingMessageTooLargeError(message.length, this.#maxMessageLength);
    }
    if (this.#queuedBytes + message.length > this.#maxBufferedBytes) {
      throw new BufferFullError('outgoing', this.#maxBufferedBytes);
    }
    this.#queue.push(message);
    this.#queuedBytes += message.length;
  }

  /** The next message received, whole and in order, or `undefined`. */
  nextMessage(): Uint8Array | undefined {
    const message = this.#messages.shift();
    if (message !== undefined) this.#messageBytes -= message.length;
    return message;
  }

  /**
   * Takes a segment from the peer.
   *
   * @throws {@link MalformedTransportMessageError} for a segment that breaks the format: the
   * path is authenticated, so this is the peer's fault, and the session should end.
   * @throws {@link IncomingMessageTooLargeError} for a message over `maxMessageLength`.
   * @throws {@link BufferFullError} if received messages not taken fill `maxBufferedBytes`
   * (nothing is read: the peer resends).
   */
  receive(segment: Uint8Array, now: number): void {
    if (segment.length === 0) throw new MalformedTransportMessageError('an empty segment');
    switch (segment[0]) {
      case SEGMENT_DATA:
        this.#receiveData(segment);
        return;
      case SEGMENT_ACK:
        this.#receiveAck(segment, now);
        return;
      default:
        throw new MalformedTransportMessageError(`a segment of unknown kind ${segment[0]!}`);
    }
  }

  /** The next segment to send (an acknowledgement, a resend, new data), or `undefined`. */
  pollTransmit(now: number): Uint8Array | undefined {
    if (this.#ackDue) {
      this.#ackDue = false;
      return this.#ack();
    }
    const again = this.#resend.shift();
    if (again !== undefined) {
      again.queued = false;
      if (!this.#inFlight.has(again.sequence)) return this.pollTransmit(now);
      again.sentAt = now;
      again.resent = true;
      again.serial = this.#serial++;
      this.statistics.resent++;
      this.#retransmitAt ??= now + this.#timer.timeout;
      return again.segment;
    }
    if (this.#queue.length === 0 || this.#nextSequence - this.#acknowledged >= this.#window) {
      return undefined;
    }
    if (this.#nextSequence >= MAX_SEQUENCE) {
      throw new MalformedTransportMessageError('the session used up its segment numbers');
    }
    const message = this.#queue.peek()!;
    const length = Math.min(this.#maxPayload, message.length - this.#headOffset);
    const end = this.#headOffset + length === message.length;
    const segment = new Uint8Array(DATA_SEGMENT_HEADER_LENGTH + length);
    segment[0] = SEGMENT_DATA;
    writeUint32(segment, 1, this.#nextSequence);
    segment[5] = end ? END_FLAG : 0;
    segment.set(message.subarray(this.#headOffset, this.#headOffset + length), 6);
    if (end) {
      this.#queue.shift();
      this.#queuedBytes -= message.length;
      this.#headOffset = 0;
    } else {
      this.#headOffset += length;
    }
    const entry: InFlight = {
      sequence: this.#nextSequence,
      segment,
      sentAt: now,
      resent: false,
      serial: this.#serial++,
      queued: false,
    };
    if (this.#inFlight.size === 0) this.#waitingSince = now;
    this.#inFlight.set(entry.sequence, entry);
    this.#nextSequence++;
    this.statistics.sent++;
    this.#retransmitAt ??= now + this.#timer.timeout;
    return segment;
  }

  /** When a segment is taken as lost, or the probes go out, or `undefined`. */
  pollTimeout(): number | undefined {
    if (this.#lossAt === undefined) return this.#retransmitAt;
    if (this.#retransmitAt === undefined) return this.#lossAt;
    return Math.min(this.#lossAt, this.#retransmitAt);
  }

  /**
   * The timer ran out: no acknowledgement came for a while. Two probes go out, the oldest
   * unacknowledged segment and the newest (RFC 9002's probe timeout): the acknowledgement of the
   * newest reports every gap below it, and the loss detection of {@link receive} resends those at
   * once (after a loss at the end of a burst, when no later acknowledgement comes). Resending
   * everything instead would send a whole window again whenever the peer was only slow (a long
   * event-loop turn, a garbage collection). The timer backs off.
   */
  handleTimeout(now: number): void {
    if (this.#lossAt !== undefined && now >= this.#lossAt) this.#detectLosses(now);
    if (this.#retransmitAt === undefined || now < this.#retransmitAt) return;
    if (this.#inFlight.size === 0) {
      this.#retransmitAt = undefined;
      return;
    }
    let oldest: InFlight | undefined;
    let newest: InFlight | undefined;
    for (const entry of this.#inFlight.values()) {
      if (oldest === undefined || entry.sequence < oldest.sequence) oldest = entry;
      if (newest === undefined || entry.sequence > newest.sequence) newest = entry;
    }
    this.#queueResend(oldest!);
    this.#queueResend(newest!);
    this.statistics.timeouts++;
    this.#timer.backOff();
    this.#retransmitAt = now + this.#timer.timeout;
  }

  #queueResend(entry: InFlight): void {
    if (entry.queued) return;
    entry.queued = true;
    this.#resend.push(entry);
  }

  #receiveData(segment: Uint8Array): void {
    if (segment.length < DATA_SEGMENT_HEADER_LENGTH) {
      throw new MalformedTransportMessageError('a data segment shorter than its header');
    }
    if ((segment[5]! & ~END_FLAG) !== 0) {
      throw new MalformedTransportMessageError(`a data segment with unknown flags ${segment[5]!}`);
    }
    const sequence = readUint32(segment, 1);
    // Every data segment is answered, duplicates too: the sender may have lost our last ack.
    this.#ackDue = true;
    if (sequence < this.#expected || this.#early.has(sequence)) {
      this.statistics.duplicates++;
      return;
    }
    if (sequence >= this.#expected + this.#window) {
      this.statistics.beyondWindow++;
      return;
    }
    if (this.#messageBytes >= this.#maxBufferedBytes) {
      throw new BufferFullError('incoming', this.#maxBufferedBytes);
    }
    this.#early.set(sequence, segment);
    for (let next = this.#early.get(this.#expected); next !== undefined;) {
      this.#early.delete(this.#expected);
      this.#expected++;
      this.#takeFragment(next);
      next = this.#early.get(this.#expected);
    }
  }

  #takeFragment(segment: Uint8Array): void {
    const body = segment.subarray(DATA_SEGMENT_HEADER_LENGTH);
    const length = this.#fragmentBytes + body.length;
    if (length > this.#maxMessageLength) {
      throw new IncomingMessageTooLargeError(length, this.#maxMessageLength);
    }
    if ((segment[5]! & END_FLAG) === 0) {
      this.#fragments.push(body);
      this.#fragmentBytes = length;
      return;
    }
    let message: Uint8Array;
    if (this.#fragments.length === 0) {
      message = body.slice();
    } else {
      message = new Uint8Array(length);
      let at = 0;
      for (const part of [...this.#fragments, body]) {
        message.set(part, at);
        at += part.length;
      }
    }
    this.#fragments = [];
    this.#fragmentBytes = 0;
    this.#messages.push(message);
    this.#messageBytes += message.length;
  }

  #ack(): Uint8Array {
    const ranges: [number, number][] = [];
    if (this.#early.size > 0) {
      for (const sequence of [...this.#early.keys()].sort((a, b) => a - b)) {
        const last = ranges.at(-1);
        if (last !== undefined && sequence === last[1]) last[1] = sequence + 1;
        else if (ranges.length < MAX_SEGMENT_ACK_RANGES) ranges.push([sequence, sequence + 1]);
        else break;
      }
    }
    const segment = new Uint8Array(1 + 4 + 1 + ranges.length * 8);
    segment[0] = SEGMENT_ACK;
    writeUint32(segment, 1, this.#expected);
    segment[5] = ranges.length;
    ranges.forEach(([start, end], index) => {
      writeUint32(segment, 6 + index * 8, start);
      writeUint32(segment, 10 + index * 8, end);
    });
    return segment;
  }

  #receiveAck(segment: Uint8Array, now: number): void {
    if (segment.length < 6)
      throw new MalformedTransportMessageError('an ack shorter than its header');
    const count = segment[5]!;
    if (count > MAX_SEGMENT_ACK_RANGES || segment.length !== 6 + count * 8) {
      throw new MalformedTransportMessageError('an ack whose ranges do not match its length');
    }
    const cumulative = readUint32(segment, 1);
    if (cumulative > this.#nextSequence) {
      throw new MalformedTransportMessageError('an ack for segments never sent');
    }
    let progressed = false;
    const before = this.#ackedSerial;
    for (let sequence = this.#acknowledged; sequence < cumulative; sequence++) {
      progressed = this.#settle(sequence, now) || progressed;
    }
    this.#acknowledged = Math.max(this.#acknowledged, cumulative);
    /** The end of what this acknowledgement describes: nothing is known of segments past it. */
    let highest = cumulative;
    for (let index = 0; index < count; index++) {
      const start = readUint32(segment, 6 + index * 8);
      const end = readUint32(segment, 10 + index * 8);
      if (
        start < cumulative ||
        end <= start ||
        end > this.#nextSequence ||
        end - start > this.#window
      ) {
        throw new MalformedTransportMessageError('an ack with a range out of bounds');
      }
      for (let sequence = start; sequence < end; sequence++) {
        progressed = this.#settle(sequence, now) || progressed;
      }
      highest = end;
    }
    // A segment that this acknowledgement reports missing, sent before one that arrived, was
    // lost (or its copy was, if it was resent: a lost resend is caught the same way) when enough
    // transmissions after it were acknowledged, or when it was sent longer than a round trip ago
    // (RFC 9002's packet and time thresholds). Past the ranges the acknowledgement carries,
    // nothing is known.
    // The receiver only gains segments, so its gaps below an earlier reach only close: a later
    // acknowledgement reaches at least as far, and one that reaches less arrived out of order.
    this.#reportedUpTo = Math.max(this.#reportedUpTo, highest);
    if (progressed) this.#waitingSince = now;
    if (this.#ackedSerial > before) this.#detectLosses(now);
    if (this.#inFlight.size === 0) this.#retransmitAt = undefined;
    else if (progressed) this.#retransmitAt = now + this.#timer.timeout;
  }

  /**
   * Queues for resending the segments an acknowledgement reported missing that are lost by the
   * thresholds, and sets the loss timer for the first that will be by time.
   */
  #detectLosses(now: number): void {
    this.#lossAt = undefined;
    const byCount = this.#ackedSerial - FAST_RESEND_AFTER;
    const delay = (9 / 8) * Math.max(this.#timer.roundTrip, this.#latestRoundTrip);
    for (const entry of this.#inFlight.values()) {
      if (
        entry.queued ||
        entry.sequence >= this.#reportedUpTo ||
        entry.serial >= this.#ackedSerial
      ) {
        continue;
      }
      if (entry.serial <= byCount || entry.sentAt + delay <= now) {
        this.#queueResend(entry);
      } else if (this.#lossAt === undefined || entry.sentAt + delay < this.#lossAt) {
        this.#lossAt = entry.sentAt + delay;
      }
    }
  }

  /** A segment arrived: forget it, and measure the round trip if it was sent once. */
  #settle(sequence: number, now: number): boolean {
    const entry = this.#inFlight.get(sequence);
    if (entry === undefined) return false;
    this.#inFlight.delete(sequence);
    if (entry.serial > this.#ackedSerial) this.#ackedSerial = entry.serial;
    if (!entry.resent) {
      this.#latestRoundTrip = Math.max(1, now - entry.sentAt);
      this.#timer.sample(this.#latestRoundTrip);
    }
    return true;
  }
}
