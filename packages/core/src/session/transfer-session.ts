/**
 * Transfer messages as the chat session carries them: `transfer-*` control messages (MessagePack
 * maps), beside the binary file data of `transfer-data.ts`.
 *
 * @module
 */

import {
  type TransferAccept,
  type TransferAck,
  type TransferCancel,
  type TransferDone,
  type TransferOffer,
  type TransferReject,
  fromHex,
  toHex,
} from '../transfer/transfer-messages.js';
import type { TransferControlMessage } from './session-messages.js';

/** A transfer's answers and endings, the messages that travel as `transfer-*` maps. */
export type TransferControl =
  TransferAccept | TransferReject | TransferAck | TransferDone | TransferCancel;

/** A machine's message as a session message. SACK ranges travel as flat start/end pairs. */
export function toSessionTransfer(message: TransferControl): TransferControlMessage {
  switch (message.type) {
    case 'accept':
      return { ...message, type: 'transfer-accept' };
    case 'reject':
      return { ...message, type: 'transfer-reject' };
    case 'ack': {
      const { ranges, ...rest } = message;
      return ranges.length === 0
        ? { ...rest, type: 'transfer-ack' }
        : { ...rest, type: 'transfer-ack', ranges: ranges.flat() };
    }
    case 'done':
      return { ...message, type: 'transfer-done' };
    case 'cancel':
      return { ...message, type: 'transfer-cancel' };
  }
}

/** A session message back as a machine's message. */
export function fromSessionTransfer(message: TransferControlMessage): TransferControl {
  switch (message.type) {
    case 'transfer-accept':
      return { ...message, type: 'accept' };
    case 'transfer-reject':
      return { ...message, type: 'reject' };
    case 'transfer-ack': {
      const flat = message.ranges ?? [];
      const ranges: [number, number][] = [];
      for (let index = 0; index + 1 < flat.length; index += 2) {
        ranges.push([flat[index]!, flat[index + 1]!]);
      }
      return {
        type: 'ack',
        transfer: message.transfer,
        offset: message.offset,
        window: message.window,
        ranges,
      };
    }
    case 'transfer-done':
      return { ...message, type: 'done' };
    case 'transfer-cancel':
      return { ...message, type: 'cancel' };
  }
}

/** The fields of an offer as control messages carry them: digests in hexadecimal. */
export interface OfferFields {
  readonly transfer: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly md5: string;
}

/** An offer's fields for a `transfer-offer` control message. */
export function toOfferFields(offer: TransferOffer): OfferFields {
  return {
    transfer: offer.transfer,
    name: offer.name,
    size: offer.size,
    sha256: toHex(offer.sha256),
    md5: toHex(offer.md5),
  };
}

/** The offer a `transfer-offer` control message describes. */
export function fromOfferFields(fields: OfferFields): TransferOffer {
  return {
    type: 'offer',
    transfer: fields.transfer,
    name: fields.name,
    size: fields.size,
    sha256: fromHex(fields.sha256),
    md5: fromHex(fields.md5),
  };
}
