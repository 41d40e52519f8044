/**
 * The sending side of one file transfer, sans-I/O: it offers the file, asks the adapter for the
 * bytes it may send, sends them within the receiver's credit, and (over a lossy link) resends
 * what was lost.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { checkLimit } from '../frame/limits.js';
import { FifoQueue } from '../util/fifo-queue.js';
import {
  DEFAULT_SEALED_TRANSFER_CHUNK_SIZE,
  DEFAULT_TRANSFER_CHUNK_SIZE,
  MAX_SEALED_TRANSFER_CHUNK_SIZE,
  MAX_TRANSFER_CHUNK_SIZE,
  MAX_TRANSFER_SIZE,
  type TransferAck,
  type TransferMessage,
  type TransferOffer,
  isTransferId,
} from './transfer-messages.js';
import {
  DEFAULT_OFFER_TIMEOUT,
  DEFAULT_STALL_TIMEOUT,
  RetransmitTimer,
} from './transfer-timing.js';

/** Options of a {@link FileSender}. */
export interface FileSenderOptions {
  /** The transfer's id, from {@link transferIdFromBytes} over fresh random bytes. */
  readonly transfer: string;
  /** The file's name, as the receiver will see it (it makes the name safe itself). */
  readonly name: string;
  /** Bytes in the file. */
  readonly size: number;
  /** SHA-256 of the file, 32 bytes. */
  readonly sha256: Uint8Array;
  /** MD5 of the file, 16 bytes. */
  readonly md5: Uint8Array;
  /** The current time, in milliseconds. */
  readonly now: number;
  /**
   * True (the default) when the link delivers every message once and in order (the chat session
   * over TCP); false over datagrams, where the sender keeps what it sent until it is acknowledged
   * and resends what was lost.
   */
  readonly reliable?: boolean;
  /** Bytes of file per data message. Default {@link DEFAULT_TRANSFER_CHUNK_SIZE}. */
  readonly chunkSize?: number;
  /**
   * Bytes of file per data message once the receiver accepted the data sealed end to end (an
   * accept with `sealed`). Default {@link DEFAULT_SEALED_TRANSFER_CHUNK_SIZE}, at most
   * {@link MAX_SEALED_TRANSFER_CHUNK_SIZE}.
   */
  readonly sealedChunkSize?: number;
  /** Milliseconds the receiver has to answer the offer. Default {@link DEFAULT_OFFER_TIMEOUT}. */
  readonly offerTimeout?: number;
  /** Milliseconds without progress before failing. Default {@link DEFAULT_STALL_TIMEOUT}. */
  readonly stallTimeout?: number;
}

/** Where a {@link FileSender} is in its life. `done` and `failed` are final. */
export type FileSenderState =
  'offering' | 'sending' | 'finishing' | 'interrupted' | 'done' | 'failed';

/** The receiver took the file, from `offset` (more than 0 when it resumes a transfer). */
export interface SenderAcceptedEvent {
  readonly type: 'transfer-accepted';
  readonly offset: number;
}

/** Read `length` bytes of the file at `offset` and hand them to {@link FileSender.supply}. */
export interface ReadRequestedEvent {
  readonly type: 'read-requested';
  readonly offset: number;
  readonly length: number;
}

/** The receiver acknowledged `bytes` of the file's `size`. */
export interface TransferProgressEvent {
  readonly type: 'transfer-progress';
  readonly bytes: number;
  readonly size: number;
}

/** The transfer succeeded: the receiver checked the SHA-256 and saved the file. */
export interface TransferCompletedEvent {
  readonly type: 'transfer-completed';
}

/**
 * The transfer failed. `code` is stable (docs/errors.md); `remote` says whether the peer ended it
 * (its cancel or refusal) rather than this side.
 */
export interface TransferFailedEvent {
  readonly type: 'transfer-failed';
  readonly code: string;
  readonly message: string;
  readonly remote: boolean;
}

/** Everything a {@link FileSender} reports. */
export type FileSenderEvent =
  | SenderAcceptedEvent
  | ReadRequestedEvent
  | TransferProgressEvent
  | TransferCompletedEvent
  | TransferFailedEvent;

/** A chunk sent and not yet acknowledged (lossy links only). */
interface InFlight {
  readonly offset: number;
  readonly bytes: Uint8Array;
  sentAt: number;
  /** Sent more than once: its acknowledgement says nothing about the round trip (Karn). */
  resent: boolean;
  /** Reported received by a SACK range: not resent on timeout. */
  sacked: boolean;
}

/**
 * The sending side of one file transfer.
 *
 * Drive it like every lanchat machine, but with messages rather than bytes:
 * {@link FileSender.pollMessage} gives what to send to the receiver (the offer first),
 * {@link FileSender.receive} takes the receiver's answers, {@link FileSender.nextEvent} says what
 * happened and {@link FileSender.pollTimeout} / {@link FileSender.handleTimeout} run the timers.
 * It never reads the file: a `read-requested` event asks the adapter for bytes, which it hands
 * back with {@link FileSender.supply}. Reads are asked for only within the receiver's credit, so
 * a slow receiver slows the reading, and the sender holds at most one window of file bytes.
 *
 * The peer's mistakes never throw: they fail the transfer (`transfer-failed`, code
 * `protocol-error`) and a cancel goes to the peer. Misuse by the caller throws.
 */
export class FileSender {
  /** The transfer's id. */
  readonly transfer: string;
  /** Bytes in the file. */
  readonly size: number;
  readonly #offer: TransferOffer;
  readonly #reliable: boolean;
  /** Bytes per data message now: the plain or the sealed size, as the last accept said. */
  #chunkSize: number;
  readonly #plainChunkSize: number;
  readonly #sealedChunkSize: number;
  readonly #offerTimeout: number;
  readonly #stallTimeout: number;

  #state: FileSenderState = 'offering';
  /** The receiver has every byte before this offset. */
  #acked = 0;
  /** The sender may send bytes up to this offset (the receiver's credit). */
  #limit = 0;
  /** The next offset to ask the adapter for. */
  #readOffset = 0;
  /** The next offset to send for the first time. */
  #sendOffset = 0;
  /** Reads asked for and not supplied yet: offset to length. */
  readonly #reads = new Map<number, number>();
  /** Bytes supplied and not sent yet, by offset. */
  readonly #ready = new Map<number, Uint8Array>();
  /** Sent and not acknowledged, in offset order (lossy links only). */
  #inFlight: InFlight[] = [];
  /** In-flight chunks to send again, oldest first. */
  readonly #resend = new FifoQueue<InFlight>();
  readonly #timer = new RetransmitTimer();
  readonly #outbox = new FifoQueue<TransferMessage>();
  readonly #events = new FifoQueue<FileSenderEvent>();
  /** The receiver's pass over the file (an accept's `attempt`). */
  #attempt = 0;
  /** The receiver accepted once: a new offer after an interruption is a resumption. */
  #everAccepted = false;
  /** When the current offer or resumption gives up. */
  #offerDeadline: number;
  /** When the offer is sent again (lossy links). */
  #offerResendAt: number | undefined;
  /** The last time the transfer moved (accepted, acknowledged). */
  #lastProgress: number;
  /** When a probe goes out (lossy links, nothing to send or no credit). */
  #probeAt: number | undefined;
  #probeDue = false;
  /** A message came for a finished transfer: tell the peer again how it ended. */
  #cancelAgain: TransferMessage | undefined;
  /** Why the transfer failed. */
  #failure: { readonly code: string; readonly message: string } | undefined;

  /**
   * @throws `InvalidArgumentError` for an id that is not 32 lowercase hex digits, a size out of
   * range, digests of the wrong length, or a limit out of range.
   */
  constructor(options: FileSenderOptions) {
    if (!isTransferId(options.transfer)) {
      throw new InvalidArgumentError('a transfer id is 32 lowercase hexadecimal digits');
    }
    checkLimit('size', options.size, 0, 0, MAX_TRANSFER_SIZE);
    if (options.sha256.length !== 32 || options.md5.length !== 16) {
      throw new InvalidArgumentError('sha256 must be 32 bytes and md5 16 bytes');
    }
    this.transfer = options.transfer;
    this.size = options.size;
    this.#reliable = options.reliable ?? true;
    this.#plainChunkSize = checkLimit(
      'chunkSize',
      options.chunkSize,
      DEFAULT_TRANSFER_CHUNK_SIZE,
      1,
      MAX_TRANSFER_CHUNK_SIZE,
    );
    this.#sealedChunkSize = checkLimit(
      'sealedChunkSize',
      options.sealedChunkSize,
      DEFAULT_SEALED_TRANSFER_CHUNK_SIZE,
      1,
      MAX_SEALED_TRANSFER_CHUNK_SIZE,
    );
    this.#chunkSize = this.#plainChunkSize;
    this.#offerTimeout = checkLimit(
      'offerTimeout',
      options.offerTimeout,
      DEFAULT_OFFER_TIMEOUT,
      1,
      2 ** 31,
    );
    this.#stallTimeout = checkLimit(
      'stallTimeout',
      options.stallTimeout,
      DEFAULT_STALL_TIMEOUT,
      1,
      2 ** 31,
    );
    this.#offer = {
      type: 'offer',
      transfer: options.transfer,
      name: options.name,
      size: options.size,
      sha256: options.sha256,
      md5: options.md5,
    };
    this.#lastProgress = options.now;
    this.#offerDeadline = options.now + this.#offerTimeout;
    this.#sendOffer(options.now);
  }

  /** Where the transfer is. */
  get state(): FileSenderState {
    return this.#state;
  }

  /** Bytes the receiver has acknowledged. */
  get acknowledged(): number {
    return this.#acked;
  }

  /** The offer this sender makes. */
  get offer(): TransferOffer {
    return this.#offer;
  }

  /** The next event, or `undefined`. */
  nextEvent(): FileSenderEvent | undefined {
    return this.#events.shift();
  }

  /**
   * Hands over bytes a `read-requested` event asked for. Bytes for a request that no longer
   * stands (the transfer ended or restarted meanwhile) are ignored. Fewer bytes than asked for
   * mean the file changed under the reader: the transfer fails with `source-changed`.
   *
   * The sender keeps a reference to `bytes` until it has sent them (and, over a lossy link, until
   * they are acknowledged): do not reuse the buffer.
   */
  supply(offset: number, bytes: Uint8Array, _now: number): void {
    const length = this.#reads.get(offset);
    if (length === undefined || this.#isFinal()) return;
    this.#reads.delete(offset);
    if (bytes.length !== length) {
      this.#fail(
        'source-changed',
        `the file changed while it was sent: ${bytes.length} bytes at offset ${offset}, not ${length}`,
        false,
      );
      return;
    }
    this.#ready.set(offset, bytes);
  }

  /** The adapter could not read the file: the transfer fails (`read-failed`). */
  readFailed(message: string, _now: number): void {
    if (this.#isFinal()) return;
    this.#fail('read-failed', message, false);
  }

  /** Stops the transfer; the receiver is told. Does nothing once the transfer has ended. */
  cancel(_now: number, message = 'the sender cancelled the transfer'): void {
    if (this.#isFinal()) return;
    this.#fail('cancelled', message, false);
  }

  /**
   * The link to the receiver broke (the connection dropped): what was in flight is gone. The
   * transfer waits, for at most the stall timeout, for {@link resume}.
   */
  interrupt(now: number): void {
    if (this.#isFinal()) return;
    this.#state = 'interrupted';
    this.#clearFlight();
    this.#outbox.clear();
    this.#lastProgress = now;
    this.#offerResendAt = undefined;
    this.#probeAt = undefined;
  }

  /**
   * The link is back: offer the file again. A receiver that accepted it before answers with the
   * offset it has, and the transfer continues from there; bytes it has are not sent again.
   */
  resume(now: number): void {
    if (this.#isFinal()) return;
    this.#state = 'offering';
    this.#clearFlight();
    this.#outbox.clear();
    this.#offerDeadline = now + (this.#everAccepted ? this.#stallTimeout : this.#offerTimeout);
    this.#sendOffer(now);
  }

  /** Takes a message from the receiver. */
  receive(message: TransferMessage, now: number): void {
    if (message.transfer !== this.transfer) {
      throw new InvalidArgumentError('receive() got a message of another transfer');
    }
    if (this.#state === 'failed') {
      if (message.type !== 'cancel' && message.type !== 'reject') {
        this.#cancelAgain = this.#cancelMessage;
      }
      return;
    }
    if (this.#state === 'done' || this.#state === 'interrupted') return;
    switch (message.type) {
      case 'accept':
        this.#accepted(message.offset, message.window, message.attempt, message.sealed, now);
        return;
      case 'ack':
        if (this.#state === 'offering') return;
        this.#acknowledged(message, now);
        return;
      case 'done':
        this.#state = 'done';
        this.#clearFlight();
        this.#events.push({ type: 'transfer-completed' });
        return;
      case 'reject':
        if (this.#state === 'offering') this.#fail(message.code, message.message, true);
        return;
      case 'cancel':
        // The server answers file data for a transfer it no longer relays with `unknown-transfer`.
        // While offering, this side has sent no data since its offer: such an answer is about
        // data sent before an interruption, which crossed the server's `transfer-interrupted` and
        // the resumption; the offer starts the transfer again anyway.
        if (this.#state === 'offering' && message.code === 'unknown-transfer') return;
        this.#fail(message.code, message.message, true);
        return;
      case 'offer':
      case 'data':
        this.#protocolError(`the receiver sent a "${message.type}" message`);
        return;
    }
  }

  /** The next message to send to the receiver, or `undefined`. */
  pollMessage(now: number): TransferMessage | undefined {
    const queued = this.#outbox.shift();
    if (queued !== undefined) return queued;
    if (this.#cancelAgain !== undefined) {
      const again = this.#cancelAgain;
      this.#cancelAgain = undefined;
      return again;
    }
    if (this.#state !== 'sending' && this.#state !== 'finishing') return undefined;
    const resend = this.#resend.shift();
    if (resend !== undefined) {
      resend.sentAt = now;
      resend.resent = true;
      return { type: 'data', transfer: this.transfer, offset: resend.offset, bytes: resend.bytes };
    }
    const bytes = this.#ready.get(this.#sendOffset);
    if (bytes !== undefined && this.#sendOffset + bytes.length <= this.#limit) {
      const offset = this.#sendOffset;
      this.#ready.delete(offset);
      this.#sendOffset += bytes.length;
      if (!this.#reliable) {
        this.#inFlight.push({ offset, bytes, sentAt: now, resent: false, sacked: false });
        this.#probeAt = undefined;
      }
      return { type: 'data', transfer: this.transfer, offset, bytes };
    }
    if (this.#probeDue) {
      this.#probeDue = false;
      return {
        type: 'data',
        transfer: this.transfer,
        offset: this.#sendOffset,
        bytes: new Uint8Array(0),
      };
    }
    return undefined;
  }

  /** The next deadline, or `undefined`. */
  pollTimeout(): number | undefined {
    switch (this.#state) {
      case 'offering':
        return Math.min(this.#offerDeadline, this.#offerResendAt ?? Infinity);
      case 'sending':
      case 'finishing':
      case 'interrupted': {
        let deadline = this.#lastProgress + this.#stallTimeout;
        if (!this.#reliable && this.#state !== 'interrupted') {
          const oldest = this.#oldestUnsacked();
          if (oldest !== undefined) {
            deadline = Math.min(deadline, oldest.sentAt + this.#timer.timeout);
          }
          if (this.#probeAt !== undefined) deadline = Math.min(deadline, this.#probeAt);
        }
        return deadline;
      }
      default:
        return undefined;
    }
  }

  /** Acts on every deadline that has passed. */
  handleTimeout(now: number): void {
    switch (this.#state) {
      case 'offering':
        if (now >= this.#offerDeadline) {
          this.#fail(
            this.#everAccepted ? 'stalled' : 'offer-timeout',
            this.#everAccepted
              ? 'the receiver did not come back in time'
              : 'the receiver did not answer the offer in time',
            false,
          );
        } else if (this.#offerResendAt !== undefined && now >= this.#offerResendAt) {
          this.#timer.backOff();
          this.#sendOffer(now);
        }
        return;
      case 'sending':
      case 'finishing':
      case 'interrupted':
        if (now >= this.#lastProgress + this.#stallTimeout) {
          this.#fail(
            'stalled',
            `nothing moved for ${Math.round(this.#stallTimeout / 1000)} s`,
            false,
          );
          return;
        }
        if (!this.#reliable && this.#state !== 'interrupted') this.#retransmitExpired(now);
        return;
      default:
        return;
    }
  }

  // -------------------------------------------------------------------------------------------

  #isFinal(): boolean {
    return this.#state === 'done' || this.#state === 'failed';
  }

  #sendOffer(now: number): void {
    this.#outbox.push(this.#offer);
    this.#offerResendAt = this.#reliable ? undefined : now + this.#timer.timeout;
  }

  #clearFlight(): void {
    this.#reads.clear();
    this.#ready.clear();
    this.#inFlight = [];
    this.#resend.clear();
    this.#probeDue = false;
  }

  #accepted(
    offset: number,
    window: number,
    attempt: number,
    sealed: boolean | undefined,
    now: number,
  ): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > this.size || window < 0) {
      this.#protocolError(`the receiver accepted at offset ${offset} of ${this.size}`);
      return;
    }
    if (attempt < this.#attempt) return;
    if (this.#state !== 'offering' && attempt === this.#attempt) {
      // A repeated accept (a late copy on a lossy link): at most what an acknowledgement says.
      if (offset >= this.#acked) {
        this.#acknowledged(
          { type: 'ack', transfer: this.transfer, offset, window, ranges: [] },
          now,
        );
      }
      return;
    }
    this.#attempt = attempt;
    // A first accept, one after a resumption, or the receiver starting over (its digest did not
    // match): send from the receiver's offset, in chunks of the size this accept allows.
    this.#clearFlight();
    this.#chunkSize = sealed === true ? this.#sealedChunkSize : this.#plainChunkSize;
    this.#state = 'sending';
    this.#everAccepted = true;
    this.#offerResendAt = undefined;
    this.#acked = offset;
    this.#readOffset = offset;
    this.#sendOffset = offset;
    this.#limit = offset + window;
    this.#lastProgress = now;
    this.#events.push({ type: 'transfer-accepted', offset });
    this.#afterProgress(now);
  }

  #acknowledged(ack: TransferAck, now: number): void {
    const { offset, window } = ack;
    if (!Number.isSafeInteger(offset) || offset > this.#sendOffset || window < 0) {
      this.#protocolError(`the receiver acknowledged bytes it was not sent (${offset})`);
      return;
    }
    this.#limit = Math.max(this.#limit, offset + window);
    if (offset > this.#acked) {
      this.#acked = offset;
      this.#lastProgress = now;
      this.#events.push({ type: 'transfer-progress', bytes: offset, size: this.size });
    }
    if (!this.#reliable) this.#trackAck(ack, now);
    this.#afterProgress(now);
  }

  /** Lossy links: drop what is acknowledged, measure the round trip, resend the holes. */
  #trackAck(ack: TransferAck, now: number): void {
    const flight = this.#inFlight;
    let first = 0;
    let newest: InFlight | undefined;
    while (
      first < flight.length &&
      flight[first]!.offset + flight[first]!.bytes.length <= ack.offset
    ) {
      if (!flight[first]!.resent) newest = flight[first];
      first++;
    }
    // The newest chunk this acknowledgement covers, if it went once, times the round trip.
    if (newest !== undefined) this.#timer.sample(now - newest.sentAt);
    if (first > 0) this.#inFlight = flight.slice(first);
    let highest = ack.offset;
    for (const [start, end] of ack.ranges) {
      for (const chunk of this.#inFlight) {
        if (chunk.offset >= start && chunk.offset + chunk.bytes.length <= end) chunk.sacked = true;
      }
      highest = Math.max(highest, end);
    }
    // A hole below a received range was lost (or is late): resend it, once per round trip.
    for (const chunk of this.#inFlight) {
      if (chunk.offset >= highest) break;
      if (!chunk.sacked && now - chunk.sentAt >= this.#timer.roundTrip) {
        chunk.sentAt = now;
        this.#resend.push(chunk);
      }
    }
  }

  #retransmitExpired(now: number): void {
    let expired = false;
    for (const chunk of this.#inFlight) {
      if (!chunk.sacked && now >= chunk.sentAt + this.#timer.timeout) {
        chunk.sentAt = now;
        this.#resend.push(chunk);
        expired = true;
      }
    }
    if (this.#probeAt !== undefined && now >= this.#probeAt) {
      this.#probeDue = true;
      this.#probeAt = now + this.#timer.timeout;
      expired = true;
    }
    if (expired) this.#timer.backOff();
  }

  #oldestUnsacked(): InFlight | undefined {
    let oldest: InFlight | undefined;
    for (const chunk of this.#inFlight) {
      if (!chunk.sacked && (oldest === undefined || chunk.sentAt < oldest.sentAt)) oldest = chunk;
    }
    return oldest;
  }

  /** Asks for the reads the credit allows, and notices the end. */
  #afterProgress(now: number): void {
    if (this.#acked >= this.size) {
      this.#state = 'finishing';
      this.#ready.clear();
      this.#reads.clear();
    } else {
      this.#requestReads();
    }
    if (!this.#reliable) {
      // Waiting with nothing in flight (all acknowledged, or no credit): probe now and then,
      // so that a lost acknowledgement or `done` cannot leave both sides waiting.
      const waiting = this.#inFlight.length === 0;
      this.#probeAt = waiting ? (this.#probeAt ?? now + this.#timer.timeout) : undefined;
    }
  }

  #requestReads(): void {
    while (this.#readOffset < this.size) {
      const rest = this.size - this.#readOffset;
      const credit = this.#limit - this.#readOffset;
      let length = Math.min(this.#chunkSize, rest);
      if (credit < length) {
        // Less credit than a chunk: wait for more, unless nothing is outstanding (a window
        // smaller than a chunk), when only a short chunk can keep the transfer going.
        if (credit <= 0 || this.#readOffset !== this.#acked) return;
        length = credit;
      }
      this.#reads.set(this.#readOffset, length);
      this.#events.push({ type: 'read-requested', offset: this.#readOffset, length });
      this.#readOffset += length;
    }
  }

  get #cancelMessage(): TransferMessage {
    return {
      type: 'cancel',
      transfer: this.transfer,
      code: this.#failure?.code ?? 'cancelled',
      message: this.#failure?.message ?? 'the transfer was cancelled',
    };
  }

  #protocolError(message: string): void {
    this.#fail('protocol-error', message, false);
  }

  #fail(code: string, message: string, remote: boolean): void {
    this.#state = 'failed';
    this.#failure = { code, message };
    this.#clearFlight();
    this.#outbox.clear();
    this.#offerResendAt = undefined;
    this.#probeAt = undefined;
    // The peer ended it: nothing to tell. Otherwise the receiver hears why (an offer nobody
    // answered is withdrawn the same way).
    if (!remote) this.#outbox.push(this.#cancelMessage);
    this.#events.push({ type: 'transfer-failed', code, message, remote });
  }
}
