/**
 * File data in the chat session (docs/protocol.md, section 9): kind 0x02, the transfer id (16
 * bytes), the offset (8 bytes, big-endian, below 2^53), then the file's bytes as they are. The
 * server relays such a message to the receiver unchanged, without decoding the bytes.
 *
 * Or sealed end to end (section 9.9): kind 0x05, the same fields and a counter, then the chunk
 * sealed under the transfer's key, which the server relays as a clear tail.
 *
 * @module
 */

import { AEAD_TAG_LENGTH, type Aead } from '../crypto/crypto-provider.js';
import { TamperedError } from '../errors/integrity-errors.js';
import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { MalformedSessionMessageError } from '../errors/session-errors.js';
import {
  TRANSFER_ID_LENGTH,
  type TransferData,
  fromHex,
  isTransferId,
  toHex,
} from '../transfer/transfer-messages.js';
import { bytesToOverwrite } from '../util/bytes.js';
import { readUint53, writeUint53 } from '../util/uint53.js';

/** First byte of a session message that carries file data. */
export const TRANSFER_DATA_KIND = 0x02;

/** Bytes of a file-data message before the file's bytes: kind, transfer id, offset. */
export const TRANSFER_DATA_HEADER_LENGTH = 1 + TRANSFER_ID_LENGTH + 8;

/**
 * A new buffer of `length` bytes that begins with the header both kinds of file data share: the
 * kind, the transfer id, the offset. The rest is left for the caller to write.
 *
 * @throws `InvalidArgumentError` for a malformed transfer id or an offset out of range.
 */
function dataHeader(kind: number, transfer: string, offset: number, length: number): Uint8Array {
  if (!isTransferId(transfer)) {
    throw new InvalidArgumentError('a transfer id is 32 lowercase hexadecimal digits');
  }
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new InvalidArgumentError('a file offset is an unsigned integer below 2^53');
  }
  const output = bytesToOverwrite(length);
  output[0] = kind;
  output.set(fromHex(transfer), 1);
  writeUint53(output, 1 + TRANSFER_ID_LENGTH, offset);
  return output;
}

/**
 * Encodes file data (one copy of the bytes, behind the header).
 *
 * @throws `InvalidArgumentError` for a malformed transfer id or an offset out of range.
 */
export function encodeTransferData(message: TransferData): Uint8Array {
  const { transfer, offset, bytes } = message;
  const output = dataHeader(
    TRANSFER_DATA_KIND,
    transfer,
    offset,
    TRANSFER_DATA_HEADER_LENGTH + bytes.length,
  );
  output.set(bytes, TRANSFER_DATA_HEADER_LENGTH);
  return output;
}

/**
 * Decodes file data. The bytes are a view of `message`, not a copy.
 *
 * @throws {@link MalformedSessionMessageError} for a message shorter than its header or an offset
 * of 2^53 or more.
 */
export function decodeTransferData(message: Uint8Array): TransferData {
  if (message.length < TRANSFER_DATA_HEADER_LENGTH) {
    throw new MalformedSessionMessageError(
      `file data of ${message.length} bytes is shorter than its ${TRANSFER_DATA_HEADER_LENGTH}-byte header`,
    );
  }
  const at = 1 + TRANSFER_ID_LENGTH;
  const offset = readUint53(message, at);
  if (offset === undefined) {
    throw new MalformedSessionMessageError('file data has an offset of 2^53 or more');
  }
  return {
    type: 'data',
    transfer: toHex(message.subarray(1, at)),
    offset,
    bytes: message.subarray(TRANSFER_DATA_HEADER_LENGTH),
  };
}

/**
 * First byte of a session message that carries file data sealed end to end (docs/protocol.md,
 * section 9.9): the sender seals each chunk under the transfer's own key, and the server relays it
 * as a clear tail, without opening and sealing it again.
 */
export const SEALED_TRANSFER_DATA_KIND = 0x05;

/**
 * Bytes of a sealed file-data message before the sealed chunk: kind, transfer id, offset and the
 * sender's message counter (8 bytes, big-endian, below 2^53), which is the chunk's nonce.
 */
export const SEALED_TRANSFER_DATA_HEADER_LENGTH = TRANSFER_DATA_HEADER_LENGTH + 8;

/** Bytes of a transfer key: a 256-bit AES-GCM key, fresh for every offer. */
export const TRANSFER_KEY_LENGTH = 32;

/** The AEAD that seals file data end to end: AES-256-GCM, as Noise's `AESGCM` cipher. */
export const TRANSFER_CIPHER = 'AESGCM';

/** A sealed file-data message as the server relays it: its header, and the sealed chunk. */
export interface SealedTransferData {
  /** The header: authenticated as the chunk's associated data, sealed by each hop's channel. */
  readonly head: Uint8Array;
  /** The chunk sealed under the transfer key, its 16-byte tag at the end. */
  readonly tail: Uint8Array;
  readonly transfer: string;
  readonly offset: number;
  readonly counter: number;
  /** Bytes of file the chunk holds. */
  readonly fileBytes: number;
}

function sealedNonce(counter: number): Uint8Array {
  const nonce = new Uint8Array(12);
  writeUint53(nonce, 4, counter);
  return nonce;
}

/**
 * Seals file data under a transfer key: the header, then the chunk encrypted and authenticated
 * with the header as associated data and `counter` as the nonce. A sender never uses a counter
 * twice under one key.
 *
 * @throws `InvalidArgumentError` for a malformed transfer id, or an offset or counter out of
 * range.
 */
export function sealTransferData(
  message: TransferData,
  aead: Aead,
  counter: number,
): { readonly head: Uint8Array; readonly tail: Uint8Array } {
  const { transfer, offset, bytes } = message;
  if (!Number.isSafeInteger(counter) || counter < 0) {
    throw new InvalidArgumentError('a message counter is an unsigned integer below 2^53');
  }
  const head = dataHeader(
    SEALED_TRANSFER_DATA_KIND,
    transfer,
    offset,
    SEALED_TRANSFER_DATA_HEADER_LENGTH,
  );
  writeUint53(head, TRANSFER_DATA_HEADER_LENGTH, counter);
  return { head, tail: aead.seal(sealedNonce(counter), head, bytes) };
}

/**
 * Reads the header of a sealed file-data message, without opening the chunk (the server's view).
 * `head` and `tail` are views of `message`.
 *
 * @throws {@link MalformedSessionMessageError} for a message shorter than its header and a tag, or
 * an offset or counter of 2^53 or more.
 */
export function readSealedTransferData(message: Uint8Array): SealedTransferData {
  const minimum = SEALED_TRANSFER_DATA_HEADER_LENGTH + AEAD_TAG_LENGTH;
  if (message.length < minimum) {
    throw new MalformedSessionMessageError(
      `sealed file data of ${message.length} bytes is shorter than its header and tag (${minimum})`,
    );
  }
  const offset = readUint53(message, 1 + TRANSFER_ID_LENGTH);
  const counter = readUint53(message, TRANSFER_DATA_HEADER_LENGTH);
  if (offset === undefined || counter === undefined) {
    throw new MalformedSessionMessageError(
      'sealed file data has an offset or a counter of 2^53 or more',
    );
  }
  return {
    head: message.subarray(0, SEALED_TRANSFER_DATA_HEADER_LENGTH),
    tail: message.subarray(SEALED_TRANSFER_DATA_HEADER_LENGTH),
    transfer: toHex(message.subarray(1, 1 + TRANSFER_ID_LENGTH)),
    offset,
    counter,
    fileBytes: message.length - minimum,
  };
}

/**
 * Opens sealed file data with its transfer's key. The bytes are a new buffer.
 *
 * @throws {@link MalformedSessionMessageError} as {@link readSealedTransferData}.
 * @throws `TamperedError` when the chunk fails authentication: changed on the way, or sealed
 * under another key.
 */
export function openTransferData(sealed: SealedTransferData, aead: Aead): TransferData {
  const bytes = aead.open(sealedNonce(sealed.counter), sealed.head, sealed.tail);
  if (bytes === undefined) {
    throw new TamperedError(`file data of transfer ${sealed.transfer} at offset ${sealed.offset}`);
  }
  return { type: 'data', transfer: sealed.transfer, offset: sealed.offset, bytes };
}
