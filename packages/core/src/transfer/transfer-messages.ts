/**
 * The messages two file-transfer machines exchange (docs/protocol.md, section 9), as plain
 * objects. They do not say who sends them to whom: the chat session carries them between two
 * users through the server and adds the addresses; a test can carry them over any link.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors/lanchat-error.js';

/** Bytes in a transfer id: 128 random bits, so that ids chosen by different senders never meet. */
export const TRANSFER_ID_LENGTH = 16;

/**
 * Default bytes of file data per `data` message: 64,000, so that a data message and its headers
 * fit in one transport message of the stream channel (65,516 bytes of record) and cost one seal.
 */
export const DEFAULT_TRANSFER_CHUNK_SIZE = 64_000;

/** Largest chunk a machine accepts as an option: one stream record's worth. */
export const MAX_TRANSFER_CHUNK_SIZE = 65_000;

/**
 * Default bytes of file per data message when the receiver takes the data sealed end to end
 * (protocol section 9.9): 256 KiB. Such a chunk travels as a clear tail, not inside a Noise
 * message, so nothing holds it to 64,000 bytes; four times fewer messages cost four times fewer
 * cipher setups, events and writes per file (`pnpm bench transfer`).
 */
export const DEFAULT_SEALED_TRANSFER_CHUNK_SIZE = 256 * 1024;

/**
 * Largest sealed chunk a machine accepts as an option: 512 KiB, half the channel's default
 * message limit (1 MiB), so that a data message always fits it.
 */
export const MAX_SEALED_TRANSFER_CHUNK_SIZE = 512 * 1024;

/**
 * Default receive window: bytes the sender may have sent beyond what the receiver has written,
 * 4 MiB. It bounds what a transfer holds in flight anywhere: in the receiver, in the server's
 * queue for the receiver, on the wire. A transfer through the server waits for a round trip of
 * three processes per window, so the window sets the speed until the processes are busy
 * (`pnpm bench transfer`, loopback: 2 MiB moved 112 MB/s, 4 MiB 127 MB/s, with the chat round
 * trip's p99 at 23 and 28 ms); it is a few seconds of busy Wi-Fi.
 */
export const DEFAULT_TRANSFER_WINDOW = 4 * 1024 * 1024;

/** Largest file a transfer can describe: 2^53 - 1 bytes (offsets are exact in a double). */
export const MAX_TRANSFER_SIZE = Number.MAX_SAFE_INTEGER;

/** Longest file name an offer may carry, in bytes of UTF-8 (the common file-system limit). */
export const MAX_TRANSFER_NAME_BYTES = 255;

/** Most SACK ranges one acknowledgement carries. */
export const MAX_ACK_RANGES = 32;

/** The sender describes a file and asks the receiver to take it. */
export interface TransferOffer {
  readonly type: 'offer';
  /** 32 lowercase hexadecimal digits: {@link TRANSFER_ID_LENGTH} bytes. */
  readonly transfer: string;
  /** The file's name as the sender has it; the receiver makes it safe before using it. */
  readonly name: string;
  /** Bytes in the file. */
  readonly size: number;
  /** SHA-256 of the whole file, 32 bytes: what decides that the transfer succeeded. */
  readonly sha256: Uint8Array;
  /** MD5 of the whole file, 16 bytes: shown to people who compare with `md5sum`. */
  readonly md5: Uint8Array;
}

/**
 * The receiver takes the file: the sender starts (or resumes) at `offset`, the bytes the
 * receiver already holds, and may send up to `offset + window`. `attempt` counts the receiver's
 * passes over the file: 0, then 1 if the first pass did not match the SHA-256 and the receiver
 * starts over from offset 0. (An accept of an older attempt is a late copy, not a restart.)
 */
export interface TransferAccept {
  readonly type: 'accept';
  readonly transfer: string;
  readonly offset: number;
  readonly window: number;
  readonly attempt: number;
  /**
   * The receiver takes the file data sealed end to end (protocol section 9.9; the chat session
   * sets it). The sender then sends chunks of its `sealedChunkSize`.
   */
  readonly sealed?: boolean;
}

/** The receiver refuses the file, with a stable code (docs/errors.md) and a message for people. */
export interface TransferReject {
  readonly type: 'reject';
  readonly transfer: string;
  readonly code: string;
  readonly message: string;
}

/** File bytes from `offset`. With no bytes it is a probe: the receiver answers with an `ack`. */
export interface TransferData {
  readonly type: 'data';
  readonly transfer: string;
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/**
 * The receiver has every byte before `offset`, and the sender may send up to `offset + window`.
 * `ranges`: blocks received beyond `offset` (lossy links only), each `[start, end)`, in order.
 */
export interface TransferAck {
  readonly type: 'ack';
  readonly transfer: string;
  readonly offset: number;
  readonly window: number;
  readonly ranges: readonly (readonly [start: number, end: number])[];
}

/** The receiver checked the SHA-256 and saved the file: the transfer succeeded. */
export interface TransferDone {
  readonly type: 'done';
  readonly transfer: string;
}

/** Either side stops the transfer, with a stable code and a message for people. */
export interface TransferCancel {
  readonly type: 'cancel';
  readonly transfer: string;
  readonly code: string;
  readonly message: string;
}

/** Every message of the file-transfer protocol. */
export type TransferMessage =
  | TransferOffer
  | TransferAccept
  | TransferReject
  | TransferData
  | TransferAck
  | TransferDone
  | TransferCancel;

const TRANSFER_ID = /^[0-9a-f]{32}$/;

/** Whether `value` is a transfer id: 32 lowercase hexadecimal digits. */
export function isTransferId(value: string): boolean {
  return TRANSFER_ID.test(value);
}

/**
 * Makes a transfer id from {@link TRANSFER_ID_LENGTH} random bytes (from the crypto provider's
 * `randomBytes`: the core has no randomness of its own).
 *
 * @throws `InvalidArgumentError` for another number of bytes.
 */
export function transferIdFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== TRANSFER_ID_LENGTH) {
    throw new InvalidArgumentError(`a transfer id takes ${TRANSFER_ID_LENGTH} bytes`);
  }
  return toHex(bytes);
}

/**
 * Lowercase hexadecimal back to bytes.
 *
 * @throws `InvalidArgumentError` for anything but an even number of lowercase hex digits.
 */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) {
    throw new InvalidArgumentError('expected lowercase hexadecimal digits, two per byte');
  }
  const bytes = new Uint8Array(hex.length / 2);
  for (let index = 0; index < bytes.length; index++) {
    bytes[index] = Number.parseInt(hex.slice(index * 2, index * 2 + 2), 16);
  }
  return bytes;
}

/** Bytes as lowercase hexadecimal, the way `sha256sum` and `md5sum` print digests. */
export function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
