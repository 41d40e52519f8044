/**
 * File data in the chat session (docs/protocol.md, section 9): kind 0x02, the transfer id (16
 * bytes), the offset (8 bytes, big-endian, below 2^53), then the file's bytes as they are. The
 * server relays such a message to the receiver unchanged, without decoding the bytes.
 *
 * @module
 */

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
 * Encodes file data (one copy of the bytes, behind the header).
 *
 * @throws `InvalidArgumentError` for a malformed transfer id or an offset out of range.
 */
export function encodeTransferData(message: TransferData): Uint8Array {
  const { transfer, offset, bytes } = message;
  if (!isTransferId(transfer)) {
    throw new InvalidArgumentError('a transfer id is 32 lowercase hexadecimal digits');
  }
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new InvalidArgumentError('a file offset is an unsigned integer below 2^53');
  }
  const output = bytesToOverwrite(TRANSFER_DATA_HEADER_LENGTH + bytes.length);
  output[0] = TRANSFER_DATA_KIND;
  output.set(fromHex(transfer), 1);
  writeUint53(output, 1 + TRANSFER_ID_LENGTH, offset);
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
