/**
 * Every file transfer of one chat client, sans-I/O: it makes the senders and receivers, routes
 * the session's transfer messages to them, shares the connection fairly between them behind the
 * chat, and carries them over dropped connections.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { checkLimit } from '../frame/limits.js';
import type { ClientEvent } from '../session/chat-client.js';
import { nameKey } from '../session/names.js';
import { FifoQueue } from '../util/fifo-queue.js';
import { FileReceiver, type FileReceiverState } from './file-receiver.js';
import { FileSender, type FileSenderState } from './file-sender.js';
import {
  type TransferMessage,
  type TransferOffer,
  TRANSFER_ID_LENGTH,
  toHex,
  transferIdFromBytes,
} from './transfer-messages.js';

/** Default most transfers a client keeps at once (going, waiting for an answer, or just ended). */
export const DEFAULT_MAX_CLIENT_TRANSFERS = 64;

/** Default time an ended transfer is kept to answer late messages: 60 s. */
export const DEFAULT_TRANSFER_LINGER = 60_000;

/** Options of a {@link TransferSet}. */
export interface TransferSetOptions {
  /** Random bytes for transfer ids (the crypto provider's `randomBytes`). */
  readonly randomBytes: (length: number) => Uint8Array;
  /** Receive window of incoming transfers (see `FileReceiverOptions`). */
  readonly window?: number;
  /** Bytes of file per data message (see `FileSenderOptions`). */
  readonly chunkSize?: number;
  /** Bytes of file per data message sealed end to end (see `FileSenderOptions`). */
  readonly sealedChunkSize?: number;
  /** Time an offer waits for an answer, both ways. */
  readonly offerTimeout?: number;
  /** Time without progress before a transfer fails. */
  readonly stallTimeout?: number;
  /** Most transfers kept at once. Default {@link DEFAULT_MAX_CLIENT_TRANSFERS}. */
  readonly maxTransfers?: number;
  /** Time an ended transfer is kept. Default {@link DEFAULT_TRANSFER_LINGER}. */
  readonly linger?: number;
}

/** Which way a transfer goes, seen from this client. */
export type TransferDirection = 'outgoing' | 'incoming';

/** What a transfer is, for a list such as `/transfers`. */
export interface TransferSummary {
  readonly transfer: string;
  readonly direction: TransferDirection;
  /** The other user's nickname. */
  readonly peer: string;
  /** The name the sender gave (unsafe as a path: see `safeFileName`). */
  readonly name: string;
  readonly size: number;
  /** Bytes acknowledged (outgoing) or written (incoming). */
  readonly bytes: number;
  readonly state: FileSenderState | FileReceiverState;
}

/** Fields every event of a {@link TransferSet} has: which transfer, which way, with whom. */
export interface TransferTag {
  readonly transfer: string;
  readonly direction: TransferDirection;
  readonly peer: string;
}

/** Events of a {@link TransferSet}: the machines' events, tagged with their transfer. */
export type TransferSetEvent =
  | (TransferTag & {
      readonly type: 'transfer-offered';
      readonly name: string;
      readonly size: number;
      readonly sha256: string;
      readonly md5: string;
    })
  | (TransferTag & { readonly type: 'transfer-accepted'; readonly offset: number })
  | (TransferTag & {
      readonly type: 'read-requested';
      readonly offset: number;
      readonly length: number;
    })
  | (TransferTag & {
      readonly type: 'data-received';
      readonly offset: number;
      readonly bytes: Uint8Array;
    })
  | (TransferTag & {
      readonly type: 'transfer-progress';
      readonly bytes: number;
      readonly size: number;
    })
  | (TransferTag & { readonly type: 'transfer-verified'; readonly sha256: string })
  | (TransferTag & { readonly type: 'transfer-restarted'; readonly reason: 'hash-mismatch' })
  | (TransferTag & { readonly type: 'transfer-interrupted' })
  | (TransferTag & { readonly type: 'transfer-completed' })
  | (TransferTag & {
      readonly type: 'transfer-failed';
      readonly code: string;
      readonly message: string;
      readonly remote: boolean;
    });

/** What to send: an offer goes to a nickname, anything else follows its transfer. */
export type TransferOutput =
  | { readonly to: string; readonly message: TransferOffer }
  | { readonly to?: undefined; readonly message: Exclude<TransferMessage, TransferOffer> };

interface Entry {
  readonly direction: TransferDirection;
  peer: string;
  readonly machine: FileSender | FileReceiver;
  /** When an ended transfer is forgotten. */
  endedAt?: number;
  /** An outgoing transfer whose peer is away: resumed when the peer is back. */
  waitingForPeer: boolean;
}

/**
 * The file transfers of one client. Give it the chat session's events
 * ({@link TransferSet.handleEvent}), send what {@link TransferSet.poll} gives through the session
 * (`offerFile` for offers, `sendTransfer` for the rest, data only while the session's
 * `transferCapacity` allows), do the file reading and writing its events ask for, and keep a
 * timer for {@link TransferSet.pollTimeout}. Transfers outlive a dropped connection: call
 * {@link TransferSet.linkDown} when it drops and {@link TransferSet.linkUp} once logged in again.
 */
export class TransferSet {
  readonly #options: TransferSetOptions;
  readonly #maxTransfers: number;
  readonly #linger: number;
  readonly #entries = new Map<string, Entry>();
  readonly #events = new FifoQueue<TransferSetEvent>();
  /** Outgoing transfers in turn order for data, so that each gets its share. */
  #turn = 0;

  /** @throws `InvalidArgumentError` for a limit out of range. */
  constructor(options: TransferSetOptions) {
    this.#options = options;
    this.#maxTransfers = checkLimit(
      'maxTransfers',
      options.maxTransfers,
      DEFAULT_MAX_CLIENT_TRANSFERS,
      1,
      100_000,
    );
    this.#linger = checkLimit('linger', options.linger, DEFAULT_TRANSFER_LINGER, 0, 2 ** 31);
  }

  /** The next event, or `undefined`. */
  nextEvent(): TransferSetEvent | undefined {
    return this.#events.shift();
  }

  /** Every transfer kept, oldest first. */
  list(): TransferSummary[] {
    return [...this.#entries].map(([transfer, entry]) => {
      const machine = entry.machine;
      return {
        transfer,
        direction: entry.direction,
        peer: entry.peer,
        name: machine.offer.name,
        size: machine.offer.size,
        bytes: machine instanceof FileSender ? machine.acknowledged : machine.writtenBytes,
        state: machine.state,
      };
    });
  }

  /**
   * The offer of a transfer, as its sender made it.
   *
   * @throws `InvalidArgumentError` for an unknown transfer.
   */
  offerOf(transfer: string): TransferOffer {
    return this.#entry(transfer).machine.offer;
  }

  /**
   * Offers a file to the user `to`. Hash the file first (SHA-256 and MD5): the offer carries
   * both.
   *
   * @returns the transfer's id.
   * @throws `InvalidArgumentError` when {@link TransferSetOptions.maxTransfers} are kept already,
   * or for a bad size or digest.
   */
  offer(
    to: string,
    file: {
      readonly name: string;
      readonly size: number;
      readonly sha256: Uint8Array;
      readonly md5: Uint8Array;
    },
    now: number,
  ): string {
    this.#makeRoom();
    const transfer = transferIdFromBytes(this.#options.randomBytes(TRANSFER_ID_LENGTH));
    const sender = new FileSender({
      transfer,
      ...file,
      now,
      ...this.#machineOptions(),
      ...(this.#options.chunkSize === undefined ? {} : { chunkSize: this.#options.chunkSize }),
      ...(this.#options.sealedChunkSize === undefined
        ? {}
        : { sealedChunkSize: this.#options.sealedChunkSize }),
    });
    this.#entries.set(transfer, {
      direction: 'outgoing',
      peer: to,
      machine: sender,
      waitingForPeer: false,
    });
    this.#pump(transfer, now);
    return transfer;
  }

  /**
   * Takes an offered file. For a resumed download, {@link restore} the bytes already on disk
   * first.
   *
   * @throws `InvalidArgumentError` for an unknown or outgoing transfer; `InvalidStateError`
   * unless the offer is waiting.
   */
  accept(transfer: string, now: number): void {
    this.#receiver(transfer).accept(now);
    this.#pump(transfer, now);
  }

  /** Feeds bytes a partial file on disk already holds; see `FileReceiver.restore`. */
  restore(transfer: string, bytes: Uint8Array): void {
    this.#receiver(transfer).restore(bytes);
  }

  /** Refuses an offered file. */
  reject(transfer: string, now: number, code?: string, message?: string): void {
    this.#receiver(transfer).reject(now, code, message);
    this.#pump(transfer, now);
  }

  /** Stops a transfer either way; the other side is told. */
  cancel(transfer: string, now: number, message?: string): void {
    const machine = this.#entry(transfer).machine;
    machine.cancel(now, message);
    this.#pump(transfer, now);
  }

  /** Hands over file bytes a `read-requested` event asked for. */
  supply(transfer: string, offset: number, bytes: Uint8Array, now: number): void {
    this.#sender(transfer).supply(offset, bytes, now);
    this.#pump(transfer, now);
  }

  /** The file could not be read: the transfer fails. */
  readFailed(transfer: string, message: string, now: number): void {
    this.#sender(transfer).readFailed(message, now);
    this.#pump(transfer, now);
  }

  /** Every byte before `offset` of an incoming file is written. */
  written(transfer: string, offset: number, now: number): void {
    this.#receiver(transfer).written(offset, now);
    this.#pump(transfer, now);
  }

  /** The verified file is saved under its final name. */
  saved(transfer: string, now: number): void {
    this.#receiver(transfer).saved(now);
    this.#pump(transfer, now);
  }

  /** The verified file could not be saved. */
  saveFailed(transfer: string, message: string, now: number): void {
    this.#receiver(transfer).saveFailed(message, now);
    this.#pump(transfer, now);
  }

  /**
   * Takes an event of the chat session. Transfer events are used up (returns true); user and
   * nickname notices are looked at (a peer back, a peer renamed) and left for the caller too.
   */
  handleEvent(event: ClientEvent, now: number): boolean {
    switch (event.type) {
      case 'transfer-offered':
        this.#offered(event.from, event.offer, now);
        return true;
      case 'transfer-message': {
        const entry = this.#entries.get(event.message.transfer);
        if (entry === undefined) return true;
        entry.machine.receive(event.message, now);
        this.#pump(event.message.transfer, now);
        return true;
      }
      case 'transfer-offer-failed': {
        const entry = this.#entries.get(event.transfer);
        if (entry?.machine instanceof FileSender) {
          if (event.code === 'no-such-user' && entry.machine.acknowledged > 0) {
            // A resumed transfer whose receiver is not back yet: wait for it.
            entry.machine.interrupt(now);
            entry.waitingForPeer = true;
          } else {
            entry.machine.receive(
              {
                type: 'reject',
                transfer: event.transfer,
                code: event.code,
                message: event.message,
              },
              now,
            );
          }
          this.#pump(event.transfer, now);
        }
        return true;
      }
      case 'transfer-data-refused': {
        const entry = this.#entries.get(event.transfer);
        if (entry?.machine instanceof FileReceiver) {
          entry.machine.refuseData(event.code, event.message, now);
          this.#pump(event.transfer, now);
        }
        return true;
      }
      case 'transfer-interrupted': {
        const entry = this.#entries.get(event.transfer);
        // A transfer that has ended is not interrupted: its link going down changes nothing.
        if (entry === undefined || entry.endedAt !== undefined) return true;
        if (entry.machine instanceof FileSender) {
          entry.machine.interrupt(now);
          entry.waitingForPeer = true;
        }
        this.#events.push({
          type: 'transfer-interrupted',
          transfer: event.transfer,
          direction: entry.direction,
          peer: entry.peer,
        });
        return true;
      }
      case 'user-connected':
        this.#peerBack(event.nick, now);
        return false;
      case 'nick-changed':
        for (const entry of this.#entries.values()) {
          if (nameKey(entry.peer) === nameKey(event.old)) entry.peer = event.nick;
        }
        return false;
      default:
        return false;
    }
  }

  /** The connection dropped: outgoing transfers wait, incoming ones wait for their senders. */
  linkDown(now: number): void {
    for (const [transfer, entry] of this.#entries) {
      if (entry.machine instanceof FileSender && !isEnded(entry.machine.state)) {
        entry.machine.interrupt(now);
        this.#events.push({
          type: 'transfer-interrupted',
          transfer,
          direction: entry.direction,
          peer: entry.peer,
        });
      }
    }
  }

  /** Logged in again after a dropped connection: outgoing transfers are offered again. */
  linkUp(now: number): void {
    for (const [transfer, entry] of this.#entries) {
      if (entry.machine instanceof FileSender && entry.machine.state === 'interrupted') {
        entry.waitingForPeer = false;
        entry.machine.resume(now);
        this.#pump(transfer, now);
      }
    }
  }

  /**
   * The next thing to send, or `undefined`. Answers and offers come first; file data only while
   * `capacity` (the session's `transferCapacity`) has room, one transfer after another.
   */
  poll(now: number, capacity: number): TransferOutput | undefined {
    const entries = [...this.#entries.values()];
    for (const entry of entries) {
      const control = this.#pollControl(entry, now);
      if (control !== undefined) return control;
    }
    if (capacity <= 0) return undefined;
    const senders = entries.filter((entry) => entry.machine instanceof FileSender);
    for (let tried = 0; tried < senders.length; tried++) {
      const entry = senders[(this.#turn + tried) % senders.length]!;
      const message = entry.machine.pollMessage(now);
      if (message !== undefined) {
        this.#turn = (this.#turn + tried + 1) % Math.max(1, senders.length);
        this.#pump(message.transfer, now);
        return this.#output(entry, message);
      }
    }
    return undefined;
  }

  /** The next deadline of any transfer, or `undefined`. */
  pollTimeout(): number | undefined {
    let earliest: number | undefined;
    for (const entry of this.#entries.values()) {
      const deadline =
        entry.endedAt === undefined ? entry.machine.pollTimeout() : entry.endedAt + this.#linger;
      if (deadline !== undefined && (earliest === undefined || deadline < earliest)) {
        earliest = deadline;
      }
    }
    return earliest;
  }

  /** Runs every transfer's timers, and forgets transfers ended long enough ago. */
  handleTimeout(now: number): void {
    for (const [transfer, entry] of [...this.#entries]) {
      if (entry.endedAt !== undefined) {
        if (now >= entry.endedAt + this.#linger) this.#entries.delete(transfer);
        continue;
      }
      entry.machine.handleTimeout(now);
      this.#pump(transfer, now);
    }
  }

  // -------------------------------------------------------------------------------------------

  #machineOptions(): { window?: number; offerTimeout?: number; stallTimeout?: number } {
    const { window, offerTimeout, stallTimeout } = this.#options;
    return {
      ...(window === undefined ? {} : { window }),
      ...(offerTimeout === undefined ? {} : { offerTimeout }),
      ...(stallTimeout === undefined ? {} : { stallTimeout }),
    };
  }

  #offered(from: string, offer: TransferOffer, now: number): void {
    const existing = this.#entries.get(offer.transfer);
    if (existing !== undefined) {
      if (existing.machine instanceof FileReceiver && nameKey(existing.peer) === nameKey(from)) {
        // The sender resumed: the receiver answers where it stands.
        existing.machine.receive(offer, now);
        this.#pump(offer.transfer, now);
      }
      return;
    }
    if (this.#entries.size >= this.#maxTransfers && !this.#forgetOneEnded()) {
      const receiver = new FileReceiver({ offer, now });
      receiver.reject(now, 'receiver-busy', 'the receiver has too many transfers');
      this.#entries.set(offer.transfer, this.#incoming(from, receiver));
      this.#pump(offer.transfer, now, true);
      return;
    }
    const receiver = new FileReceiver({ offer, now, ...this.#machineOptions() });
    this.#entries.set(offer.transfer, this.#incoming(from, receiver));
    this.#events.push({
      type: 'transfer-offered',
      transfer: offer.transfer,
      direction: 'incoming',
      peer: from,
      name: offer.name,
      size: offer.size,
      sha256: toHex(offer.sha256),
      md5: toHex(offer.md5),
    });
  }

  #incoming(peer: string, receiver: FileReceiver): Entry {
    return {
      direction: 'incoming',
      peer,
      machine: receiver,
      waitingForPeer: false,
    };
  }

  #peerBack(nick: string, now: number): void {
    for (const [transfer, entry] of this.#entries) {
      if (
        entry.waitingForPeer &&
        entry.machine instanceof FileSender &&
        nameKey(entry.peer) === nameKey(nick)
      ) {
        entry.waitingForPeer = false;
        entry.machine.resume(now);
        this.#pump(transfer, now);
      }
    }
  }

  /** Control messages of one transfer (everything but data). */
  #pollControl(entry: Entry, now: number): TransferOutput | undefined {
    const machine = entry.machine;
    if (machine instanceof FileReceiver) {
      const message = machine.pollMessage(now);
      if (message === undefined) return undefined;
      this.#pump(message.transfer, now);
      return this.#output(entry, message);
    }
    // A sender's control messages (offer, cancel) come before its data: peek by state.
    if (machine.state === 'sending' || machine.state === 'finishing') return undefined;
    const message = machine.pollMessage(now);
    if (message === undefined) return undefined;
    this.#pump(message.transfer, now);
    return this.#output(entry, message);
  }

  #output(entry: Entry, message: TransferMessage): TransferOutput {
    return message.type === 'offer' ? { to: entry.peer, message } : { message };
  }

  /** Moves a machine's events out, tagged; marks an ended transfer for forgetting. */
  #pump(transfer: string, now: number, quiet = false): void {
    const entry = this.#entries.get(transfer);
    if (entry === undefined) return;
    const tag = { transfer, direction: entry.direction, peer: entry.peer };
    for (
      let event = entry.machine.nextEvent();
      event !== undefined;
      event = entry.machine.nextEvent()
    ) {
      if (!quiet) this.#events.push({ ...tag, ...event });
    }
    if (entry.endedAt === undefined && isEnded(entry.machine.state)) entry.endedAt = now;
  }

  /** Keeps the number of transfers within bounds, dropping the oldest ended one if need be. */
  #makeRoom(): void {
    if (this.#entries.size < this.#maxTransfers) return;
    if (this.#forgetOneEnded()) return;
    throw new InvalidArgumentError(
      `${this.#maxTransfers} transfers are going or waiting already; cancel one first`,
    );
  }

  #forgetOneEnded(): boolean {
    for (const [transfer, entry] of this.#entries) {
      if (entry.endedAt !== undefined) {
        this.#entries.delete(transfer);
        return true;
      }
    }
    return false;
  }

  #entry(transfer: string): Entry {
    const entry = this.#entries.get(transfer);
    if (entry === undefined) throw new InvalidArgumentError(`no transfer ${transfer}`);
    return entry;
  }

  #sender(transfer: string): FileSender {
    const machine = this.#entry(transfer).machine;
    if (!(machine instanceof FileSender)) {
      throw new InvalidArgumentError(`transfer ${transfer} is incoming`);
    }
    return machine;
  }

  #receiver(transfer: string): FileReceiver {
    const machine = this.#entry(transfer).machine;
    if (!(machine instanceof FileReceiver)) {
      throw new InvalidArgumentError(`transfer ${transfer} is outgoing`);
    }
    return machine;
  }
}

function isEnded(state: FileSenderState | FileReceiverState): boolean {
  return state === 'done' || state === 'failed';
}
