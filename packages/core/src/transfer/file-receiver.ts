/**
 * The receiving side of one file transfer, sans-I/O: it answers the offer, hands the file's
 * bytes to the adapter in order, grants credit as they are written, and checks the SHA-256 at the
 * end.
 *
 * @module
 */

import { InvalidArgumentError, InvalidStateError } from '../errors/lanchat-error.js';
import { checkLimit } from '../frame/limits.js';
import { constantTimeEqual } from '../integrity/digest.js';
import { Sha256Digest } from '../integrity/sha256.js';
import { FifoQueue } from '../util/fifo-queue.js';
import type {
  TransferCompletedEvent,
  TransferFailedEvent,
  TransferProgressEvent,
} from './file-sender.js';
import {
  DEFAULT_TRANSFER_WINDOW,
  MAX_ACK_RANGES,
  type TransferMessage,
  type TransferOffer,
  toHex,
} from './transfer-messages.js';
import { DEFAULT_OFFER_TIMEOUT, DEFAULT_STALL_TIMEOUT } from './transfer-timing.js';

/** Options of a {@link FileReceiver}. */
export interface FileReceiverOptions {
  /** The offer the sender made. */
  readonly offer: TransferOffer;
  /** The current time, in milliseconds. */
  readonly now: number;
  /**
   * True (the default) when the link delivers every message once and in order; false over
   * datagrams, where bytes that come early are kept (within the window) until the gap fills.
   */
  readonly reliable?: boolean;
  /** Bytes the sender may send beyond what is written. Default {@link DEFAULT_TRANSFER_WINDOW}. */
  readonly window?: number;
  /** Milliseconds the user has to accept or reject. Default {@link DEFAULT_OFFER_TIMEOUT}. */
  readonly offerTimeout?: number;
  /** Milliseconds without progress before failing. Default {@link DEFAULT_STALL_TIMEOUT}. */
  readonly stallTimeout?: number;
}

/** Where a {@link FileReceiver} is in its life. `done` and `failed` are final. */
export type FileReceiverState = 'offered' | 'receiving' | 'verifying' | 'done' | 'failed';

/**
 * Write `bytes` at `offset` of the (temporary) file, then call {@link FileReceiver.written}.
 * Data comes in order: each event starts where the previous one ended.
 */
export interface DataReceivedEvent {
  readonly type: 'data-received';
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/**
 * Every byte is written and the file's SHA-256 matches the offer: make the file durable and give
 * it its final name, then call {@link FileReceiver.saved} (or {@link FileReceiver.saveFailed}).
 */
export interface TransferVerifiedEvent {
  readonly type: 'transfer-verified';
  /** The SHA-256, lowercase hexadecimal. */
  readonly sha256: string;
}

/**
 * The file's SHA-256 did not match: what was written is worthless. Empty the temporary file; the
 * sender starts again from offset 0. It happens once; a second mismatch fails the transfer.
 */
export interface TransferRestartedEvent {
  readonly type: 'transfer-restarted';
  readonly reason: 'hash-mismatch';
}

/** Everything a {@link FileReceiver} reports. */
export type FileReceiverEvent =
  | DataReceivedEvent
  | TransferProgressEvent
  | TransferVerifiedEvent
  | TransferRestartedEvent
  | TransferCompletedEvent
  | TransferFailedEvent;

/**
 * The receiving side of one file transfer.
 *
 * Created from an offer, it waits for the user: {@link FileReceiver.accept} or
 * {@link FileReceiver.reject}. Then `data-received` events give the file's bytes in order; the
 * adapter writes them to a temporary file and reports each write with
 * {@link FileReceiver.written}, which is what opens more credit to the sender: a slow disk slows
 * the sender, and the receiver never holds more than one window. When every byte is written the
 * machine checks the SHA-256 it computed on the way (`transfer-verified`, or one restart from
 * zero on a mismatch), and the transfer is done once the adapter has saved the file
 * ({@link FileReceiver.saved}).
 *
 * The rules that keep the receiving computer safe (a file name made safe, a size limit, free
 * space) are in `file-names.ts` and `checkOffer`; the adapter applies them before accepting.
 *
 * The peer's mistakes never throw: they fail the transfer (code `protocol-error`) and a cancel
 * goes to the peer. Misuse by the caller throws.
 */
export class FileReceiver {
  /** The transfer's id. */
  readonly transfer: string;
  /** The offer, as the sender made it. */
  readonly offer: TransferOffer;
  readonly #reliable: boolean;
  readonly #window: number;
  readonly #offerDeadline: number;
  readonly #stallTimeout: number;

  #state: FileReceiverState = 'offered';
  #hash = new Sha256Digest();
  /** Bytes fed to {@link restore} before accepting: what a resumed file already holds. */
  #restored = 0;
  /** Every byte before this offset was handed to the adapter (and hashed). */
  #received = 0;
  /** Every byte before this offset is written. */
  #written = 0;
  /** The credit last granted: the sender may send up to this offset. */
  #granted = 0;
  /** Bytes that came before the gap below them filled (lossy links), by offset. */
  readonly #early = new Map<number, Uint8Array>();
  #ackDue = false;
  #restarts = 0;
  #lastProgress: number;
  readonly #outbox = new FifoQueue<TransferMessage>();
  readonly #events = new FifoQueue<FileReceiverEvent>();
  #failure: { readonly code: string; readonly message: string } | undefined;
  /** A message came for a finished transfer: tell the peer again how it ended. */
  #finalAgain = false;

  /** @throws `InvalidArgumentError` for a limit out of range. */
  constructor(options: FileReceiverOptions) {
    this.offer = options.offer;
    this.transfer = options.offer.transfer;
    this.#reliable = options.reliable ?? true;
    this.#window = checkLimit('window', options.window, DEFAULT_TRANSFER_WINDOW, 1, 2 ** 40);
    this.#offerDeadline =
      options.now +
      checkLimit('offerTimeout', options.offerTimeout, DEFAULT_OFFER_TIMEOUT, 1, 2 ** 31);
    this.#stallTimeout = checkLimit(
      'stallTimeout',
      options.stallTimeout,
      DEFAULT_STALL_TIMEOUT,
      1,
      2 ** 31,
    );
    this.#lastProgress = options.now;
  }

  /** Where the transfer is. */
  get state(): FileReceiverState {
    return this.#state;
  }

  /** Bytes written so far (reported with {@link written}). */
  get writtenBytes(): number {
    return this.#written;
  }

  /** The next event, or `undefined`. */
  nextEvent(): FileReceiverEvent | undefined {
    return this.#events.shift();
  }

  /**
   * Before {@link accept}, for a transfer resumed from a file already on disk: feeds the bytes
   * that file holds, in order from offset 0, so that the SHA-256 covers them. Accept then at the
   * offset they reach.
   *
   * @throws `InvalidStateError` once accepted. `InvalidArgumentError` past the file's size.
   */
  restore(bytes: Uint8Array): void {
    if (this.#state !== 'offered') throw new InvalidStateError('restore() comes before accept()');
    if (this.#restored + bytes.length > this.offer.size) {
      throw new InvalidArgumentError('restore() was given more bytes than the file has');
    }
    this.#hash.update(bytes);
    this.#restored += bytes.length;
  }

  /**
   * Takes the file. The sender starts at the bytes {@link restore} fed (0 for a new file).
   *
   * @throws `InvalidStateError` unless the offer is still waiting.
   */
  accept(now: number): void {
    if (this.#state !== 'offered') {
      throw new InvalidStateError(`accept() was called in state ${this.#state}`);
    }
    this.#state = 'receiving';
    this.#received = this.#restored;
    this.#written = this.#restored;
    this.#lastProgress = now;
    this.#sendAccept();
    if (this.#written === this.offer.size) this.#verify();
  }

  /**
   * Refuses the file with a stable code (`rejected` by default) and a message for the sender.
   *
   * @throws `InvalidStateError` unless the offer is still waiting.
   */
  reject(_now: number, code = 'rejected', message = 'the receiver declined the file'): void {
    if (this.#state !== 'offered') {
      throw new InvalidStateError(`reject() was called in state ${this.#state}`);
    }
    this.#outbox.push({ type: 'reject', transfer: this.transfer, code, message });
    this.#finish(code, message, false);
  }

  /**
   * The adapter wrote every byte before `offset` (the end of one or more `data-received`
   * events). Opens credit for the sender; after the last byte, checks the SHA-256.
   *
   * @throws `InvalidArgumentError` for an offset behind the last one reported or past the bytes
   * handed out.
   */
  written(offset: number, now: number): void {
    if (this.#state !== 'receiving') return;
    if (offset < this.#written || offset > this.#received) {
      throw new InvalidArgumentError(
        `written(${offset}) is outside the bytes handed out and not yet written`,
      );
    }
    if (offset === this.#written) return;
    this.#written = offset;
    this.#lastProgress = now;
    this.#events.push({ type: 'transfer-progress', bytes: offset, size: this.offer.size });
    if (offset === this.offer.size) {
      // The sender hears that everything arrived; `done` follows once the file is saved.
      this.#outbox.push(this.#ack());
      this.#verify();
      return;
    }
    // Every write opens credit at once. (Waiting for a quarter window of progress saved a few
    // acknowledgements but deadlocked when the server cut the window below a quarter window plus
    // a chunk: the sender then waits for an acknowledgement the receiver never sends.) Writes
    // reported together make one acknowledgement.
    this.#ackDue = true;
  }

  /** The adapter saved the verified file under its final name: the transfer is done. */
  saved(_now: number): void {
    if (this.#state !== 'verifying') {
      throw new InvalidStateError(`saved() was called in state ${this.#state}`);
    }
    this.#state = 'done';
    this.#outbox.push({ type: 'done', transfer: this.transfer });
    this.#events.push({ type: 'transfer-completed' });
  }

  /** The adapter could not save the file (disk full, permissions): the transfer fails. */
  saveFailed(message: string, _now: number): void {
    if (this.#state === 'done' || this.#state === 'failed') return;
    this.#fail('save-failed', message);
  }

  /**
   * File data of this transfer could not be taken: it failed its end-to-end authentication
   * (`tampered`, protocol section 9.9), or came sealed without a key (`protocol-error`). The
   * transfer fails with `code`; the sender is told. Does nothing once the transfer has ended.
   */
  refuseData(code: 'tampered' | 'protocol-error', message: string, _now: number): void {
    if (this.#state === 'done' || this.#state === 'failed') return;
    this.#fail(code, message);
  }

  /** Stops the transfer; the sender is told. Does nothing once the transfer has ended. */
  cancel(_now: number, message = 'the receiver cancelled the transfer'): void {
    if (this.#state === 'done' || this.#state === 'failed') return;
    this.#fail('cancelled', message);
  }

  /** Takes a message from the sender. */
  receive(message: TransferMessage, now: number): void {
    if (message.transfer !== this.transfer) {
      throw new InvalidArgumentError('receive() got a message of another transfer');
    }
    switch (this.#state) {
      case 'failed':
        if (message.type !== 'cancel') this.#finalAgain = true;
        return;
      case 'done':
        if (message.type !== 'cancel') this.#finalAgain = true;
        return;
      default:
        break;
    }
    switch (message.type) {
      case 'offer':
        // Offered again: a lost answer (lossy link) or a sender resuming after a dropped
        // connection. Once accepted, the answer is where this side stands.
        if (this.#state === 'receiving' || this.#state === 'verifying') this.#sendAccept();
        return;
      case 'data':
        this.#data(message.offset, message.bytes, now);
        return;
      case 'cancel':
        this.#finish(message.code, message.message, true);
        return;
      case 'accept':
      case 'ack':
      case 'reject':
      case 'done':
        this.#fail('protocol-error', `the sender sent a "${message.type}" message`);
        return;
    }
  }

  /** The next message to send to the sender, or `undefined`. */
  pollMessage(_now: number): TransferMessage | undefined {
    const queued = this.#outbox.shift();
    if (queued !== undefined) return queued;
    if (this.#finalAgain) {
      this.#finalAgain = false;
      if (this.#state === 'done') return { type: 'done', transfer: this.transfer };
      return {
        type: 'cancel',
        transfer: this.transfer,
        code: this.#failure?.code ?? 'cancelled',
        message: this.#failure?.message ?? 'the transfer was cancelled',
      };
    }
    if (this.#ackDue && (this.#state === 'receiving' || this.#state === 'verifying')) {
      this.#ackDue = false;
      return this.#ack();
    }
    return undefined;
  }

  /** The next deadline, or `undefined`. */
  pollTimeout(): number | undefined {
    switch (this.#state) {
      case 'offered':
        return this.#offerDeadline;
      case 'receiving':
        return this.#lastProgress + this.#stallTimeout;
      default:
        return undefined;
    }
  }

  /** Acts on every deadline that has passed. */
  handleTimeout(now: number): void {
    if (this.#state === 'offered' && now >= this.#offerDeadline) {
      this.#outbox.push({
        type: 'reject',
        transfer: this.transfer,
        code: 'offer-timeout',
        message: 'the offer was not answered in time',
      });
      this.#finish('offer-timeout', 'the offer was not answered in time', false);
    } else if (this.#state === 'receiving' && now >= this.#lastProgress + this.#stallTimeout) {
      this.#fail('stalled', `nothing moved for ${Math.round(this.#stallTimeout / 1000)} s`);
    }
  }

  // -------------------------------------------------------------------------------------------

  #sendAccept(): void {
    this.#granted = this.#written + this.#window;
    this.#outbox.push({
      type: 'accept',
      transfer: this.transfer,
      offset: this.#received,
      window: this.#granted - this.#received,
      attempt: this.#restarts,
    });
  }

  #ack(): TransferMessage {
    this.#granted = Math.max(this.#granted, this.#written + this.#window);
    const ranges: [number, number][] = [];
    if (this.#early.size > 0) {
      for (const offset of [...this.#early.keys()].sort((a, b) => a - b)) {
        const end = offset + this.#early.get(offset)!.length;
        const last = ranges.at(-1);
        if (last !== undefined && offset <= last[1]) last[1] = Math.max(last[1], end);
        else if (ranges.length < MAX_ACK_RANGES) ranges.push([offset, end]);
      }
    }
    return {
      type: 'ack',
      transfer: this.transfer,
      offset: this.#received,
      window: Math.max(0, this.#granted - this.#received),
      ranges,
    };
  }

  #data(offset: number, bytes: Uint8Array, now: number): void {
    if (this.#state !== 'receiving') {
      // Before accepting, nothing may come; while verifying, only late copies.
      if (this.#state === 'offered') this.#fail('protocol-error', 'data came before acceptance');
      return;
    }
    const end = offset + bytes.length;
    if (!Number.isSafeInteger(offset) || offset < 0 || end > this.offer.size) {
      this.#fail('protocol-error', `data at offset ${offset} runs past the file's end`);
      return;
    }
    // Lossy links: every datagram is answered, so the sender learns of gaps and losses soon.
    if (!this.#reliable) this.#ackDue = true;
    // Beyond the credit granted (a late copy from before a restart, or a sender that does not
    // respect credit): dropped; the server enforces credit on its side.
    if (end > this.#granted || end <= this.#received) return;
    if (offset > this.#received) {
      // A gap below: keep it until the gap fills (lossy links); a reliable link has no gaps but
      // after a restart, where old bytes may still arrive, so they are dropped.
      if (!this.#reliable && !this.#early.has(offset)) this.#early.set(offset, bytes);
      return;
    }
    this.#deliver(bytes.subarray(this.#received - offset), now);
    // What came early may follow on now.
    for (let next = this.#early.get(this.#received); ; next = this.#early.get(this.#received)) {
      if (next === undefined) {
        // An early chunk that overlaps the new end (chunks of other sizes after a resumption).
        const overlapping = [...this.#early.entries()].find(
          ([start, chunk]) => start < this.#received && start + chunk.length > this.#received,
        );
        if (overlapping === undefined) break;
        this.#early.delete(overlapping[0]);
        this.#deliver(overlapping[1].subarray(this.#received - overlapping[0]), now);
        continue;
      }
      this.#early.delete(this.#received);
      this.#deliver(next, now);
    }
    for (const start of [...this.#early.keys()]) {
      if (start + this.#early.get(start)!.length <= this.#received) this.#early.delete(start);
    }
  }

  #deliver(bytes: Uint8Array, now: number): void {
    if (bytes.length === 0) return;
    this.#hash.update(bytes);
    this.#events.push({ type: 'data-received', offset: this.#received, bytes });
    this.#received += bytes.length;
    this.#lastProgress = now;
  }

  #verify(): void {
    const digest = this.#hash.digest();
    if (constantTimeEqual(digest, this.offer.sha256)) {
      this.#state = 'verifying';
      this.#events.push({ type: 'transfer-verified', sha256: toHex(digest) });
      return;
    }
    if (this.#restarts > 0) {
      this.#fail(
        'hash-mismatch',
        'the file received twice does not match the SHA-256 its sender announced',
      );
      return;
    }
    this.#restarts++;
    this.#hash = new Sha256Digest();
    this.#received = 0;
    this.#written = 0;
    this.#early.clear();
    this.#events.push({ type: 'transfer-restarted', reason: 'hash-mismatch' });
    this.#sendAccept();
  }

  #fail(code: string, message: string): void {
    this.#outbox.clear();
    this.#outbox.push({ type: 'cancel', transfer: this.transfer, code, message });
    this.#finish(code, message, false);
  }

  #finish(code: string, message: string, remote: boolean): void {
    this.#state = 'failed';
    this.#failure = { code, message };
    this.#early.clear();
    this.#ackDue = false;
    this.#events.push({ type: 'transfer-failed', code, message, remote });
  }
}
