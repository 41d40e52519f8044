/**
 * The server's part in file transfers: it relays offers, answers and data between two users
 * without keeping any file, and enforces the receiver's credit so that a sender cannot fill the
 * server's memory (docs/protocol.md, section 9).
 *
 * @module
 */

import {
  SEALED_TRANSFER_DATA_KIND,
  TRANSFER_DATA_HEADER_LENGTH,
  decodeTransferData,
  readSealedTransferData,
} from './transfer-data.js';
import type {
  ServerMessage,
  TransferControlMessage,
  TransferOfferRequest,
} from './session-messages.js';
import { MAX_TRANSFER_NAME_BYTES } from '../transfer/transfer-messages.js';

/** Default transfers one user may have going at once, each way: 16 sending, 16 receiving. */
export const DEFAULT_MAX_TRANSFERS_PER_USER = 16;

/** What the relay needs of the server: sending to one party. */
export interface RelayHost<Party> {
  send(party: Party, message: ServerMessage): void;
  sendBytes(party: Party, bytes: Uint8Array): void;
}

/** Why an offer was refused; the server turns it into a `nack`. */
export interface RelayRefusal {
  readonly code: 'transfer-exists' | 'too-many-transfers' | 'receiver-busy' | 'file-name-invalid';
  readonly message: string;
}

interface Relay<Party> {
  readonly id: string;
  readonly sender: Party;
  readonly receiver: Party;
  /** The receiver answered with `transfer-accept`: data may flow. */
  accepted: boolean;
  /** The sender may send data up to this offset (the receiver's credit, clamped). */
  limit: number;
  /** The receiver's accept said `sealed`: data sealed end to end may flow (protocol 9.9). */
  sealed: boolean;
}

interface Ends<Party> {
  readonly sending: Set<Relay<Party>>;
  readonly receiving: Set<Relay<Party>>;
}

const encoder = new TextEncoder();

/**
 * The transfers a server relays, by id. Each links a sender and a receiver (connected users);
 * when either leaves, the other hears `transfer-interrupted` and the relay is forgotten: the
 * sender offers the transfer again, under the same id, once both are back.
 */
export class TransferRelay<Party> {
  readonly #host: RelayHost<Party>;
  readonly #maxPerUser: number;
  readonly #dataBudget: number;
  readonly #relays = new Map<string, Relay<Party>>();
  readonly #ends = new Map<Party, Ends<Party>>();

  /**
   * @param dataBudget bytes of file data the relay lets wait for one receiver, across its
   * transfers: each accepted transfer's window is cut to its share.
   */
  constructor(host: RelayHost<Party>, maxPerUser: number, dataBudget: number) {
    this.#host = host;
    this.#maxPerUser = maxPerUser;
    this.#dataBudget = dataBudget;
  }

  /** Transfers being relayed. */
  get size(): number {
    return this.#relays.size;
  }

  /** Relays an offer from `sender` to `receiver`, or says why not. */
  offer(
    sender: Party,
    senderNick: string,
    receiver: Party,
    request: TransferOfferRequest,
  ): RelayRefusal | undefined {
    const nameBytes = encoder.encode(request.name).length;
    if (nameBytes === 0 || nameBytes > MAX_TRANSFER_NAME_BYTES) {
      return {
        code: 'file-name-invalid',
        message: `a file name takes 1 to ${MAX_TRANSFER_NAME_BYTES} bytes of UTF-8`,
      };
    }
    let relay = this.#relays.get(request.transfer);
    if (relay !== undefined && (relay.sender !== sender || relay.receiver !== receiver)) {
      return { code: 'transfer-exists', message: 'another transfer has that id' };
    }
    if (relay === undefined) {
      if (this.#endsOf(sender).sending.size >= this.#maxPerUser) {
        return {
          code: 'too-many-transfers',
          message: `you are sending ${this.#maxPerUser} files already`,
        };
      }
      if (this.#endsOf(receiver).receiving.size >= this.#maxPerUser) {
        return {
          code: 'receiver-busy',
          message: `the receiver is taking ${this.#maxPerUser} files already`,
        };
      }
      relay = {
        id: request.transfer,
        sender,
        receiver,
        accepted: false,
        limit: 0,
        sealed: false,
      };
      this.#relays.set(relay.id, relay);
      this.#endsOf(sender).sending.add(relay);
      this.#endsOf(receiver).receiving.add(relay);
    } else {
      // Offered again (the receiver came back, or the sender resumed): answers start over.
      relay.accepted = false;
      relay.limit = 0;
      relay.sealed = false;
    }
    this.#host.send(receiver, {
      type: 'transfer-offer',
      from: senderNick,
      transfer: request.transfer,
      name: request.name,
      size: request.size,
      sha256: request.sha256,
      md5: request.md5,
      ...(request.key === undefined ? {} : { key: request.key }),
    });
    return undefined;
  }

  /** Relays an answer or a cancel from `from`. */
  control(from: Party, message: TransferControlMessage): void {
    const relay = this.#relays.get(message.transfer);
    if (relay === undefined || (relay.sender !== from && relay.receiver !== from)) {
      // Gone already: the other side left (both heard `transfer-interrupted`) or it ended. An
      // answer may still be on its way from before; it has nowhere to go.
      return;
    }
    const fromReceiver = relay.receiver === from;
    switch (message.type) {
      case 'transfer-accept':
      case 'transfer-ack': {
        if (!fromReceiver) break;
        if (message.type === 'transfer-accept') {
          relay.accepted = true;
          relay.sealed = message.sealed === true;
        }
        const share = this.#share(relay.receiver);
        const limit = message.offset + Math.min(message.window, share);
        relay.limit = message.type === 'transfer-accept' ? limit : Math.max(relay.limit, limit);
        this.#host.send(relay.sender, { ...message, window: relay.limit - message.offset });
        return;
      }
      case 'transfer-reject':
      case 'transfer-done':
        if (!fromReceiver) break;
        this.#forget(relay);
        this.#host.send(relay.sender, message);
        return;
      case 'transfer-cancel':
        this.#forget(relay);
        this.#host.send(fromReceiver ? relay.sender : relay.receiver, message);
        return;
    }
    this.#breach(relay, `the sender sent "${message.type}", which only a receiver sends`);
  }

  /**
   * Relays file data from `from`, unchanged: a session message of kind 0x02, or of kind 0x05
   * (sealed end to end), whose chunk it does not open.
   *
   * @throws `MalformedSessionMessageError` for a message too short for its header.
   */
  data(from: Party, payload: Uint8Array): void {
    let transfer: string;
    let end: number;
    const sealed = payload[0] === SEALED_TRANSFER_DATA_KIND;
    if (sealed) {
      const sealed = readSealedTransferData(payload);
      transfer = sealed.transfer;
      end = sealed.offset + sealed.fileBytes;
    } else {
      const data = decodeTransferData(payload);
      transfer = data.transfer;
      end = data.offset + (payload.length - TRANSFER_DATA_HEADER_LENGTH);
    }
    const relay = this.#relays.get(transfer);
    if (relay === undefined || relay.sender !== from) {
      this.#cancelTo(from, transfer, 'unknown-transfer', 'the server has no such transfer');
      return;
    }
    if (!relay.accepted || end > relay.limit) {
      this.#breach(relay, "the sender sent data beyond the receiver's credit");
      return;
    }
    if (sealed && !relay.sealed) {
      // The receiver could not open it: it did not take the data sealed.
      this.#breach(relay, 'the sender sent sealed data to a receiver that did not take it sealed');
      return;
    }
    this.#host.sendBytes(relay.receiver, payload);
  }

  /** `party` left the server: its transfers are interrupted for the other side. */
  partyGone(party: Party): void {
    const ends = this.#ends.get(party);
    if (ends === undefined) return;
    for (const relay of [...ends.sending, ...ends.receiving]) {
      this.#forget(relay);
      const other = relay.sender === party ? relay.receiver : relay.sender;
      this.#host.send(other, { type: 'transfer-interrupted', transfer: relay.id });
    }
    this.#ends.delete(party);
  }

  /** Forgets every transfer, telling no one (the server is shutting down). */
  clear(): void {
    this.#relays.clear();
    this.#ends.clear();
  }

  #endsOf(party: Party): Ends<Party> {
    let ends = this.#ends.get(party);
    if (ends === undefined) {
      ends = { sending: new Set(), receiving: new Set() };
      this.#ends.set(party, ends);
    }
    return ends;
  }

  /** A receiver's share of the data budget: split among its accepted transfers. */
  #share(receiver: Party): number {
    let accepted = 0;
    for (const relay of this.#endsOf(receiver).receiving) if (relay.accepted) accepted++;
    return Math.floor(this.#dataBudget / Math.max(1, accepted));
  }

  #forget(relay: Relay<Party>): void {
    this.#relays.delete(relay.id);
    this.#ends.get(relay.sender)?.sending.delete(relay);
    this.#ends.get(relay.receiver)?.receiving.delete(relay);
  }

  /** A party broke the transfer protocol: both sides are told, and the relay ends. */
  #breach(relay: Relay<Party>, message: string): void {
    this.#forget(relay);
    this.#cancelTo(relay.sender, relay.id, 'protocol-error', message);
    this.#cancelTo(relay.receiver, relay.id, 'protocol-error', message);
  }

  #cancelTo(party: Party, transfer: string, code: string, message: string): void {
    this.#host.send(party, { type: 'transfer-cancel', transfer, code, message });
  }
}
