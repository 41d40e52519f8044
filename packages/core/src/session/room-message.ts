/**
 * The compact forms of the chat's busiest messages (docs/protocol.md, section 8.2): the room
 * message (kind 0x01: `id` and `ts` as 64-bit big-endian integers, the byte lengths of `room` and
 * `from`, then the three strings in UTF-8), the room batch (kind 0x03) and the `say` (kind 0x04).
 * The package exports the constants and the encoders; the session modules decode.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { MalformedSessionMessageError } from '../errors/session-errors.js';
import { readUint53, writeUint53 } from '../util/uint53.js';
import type { RoomMessage, SayRequest } from './session-messages.js';

/**
 * First byte of a room message in its compact form, the only form a server sends a
 * {@link RoomMessage} in (docs/protocol.md, section 8.2): fixed-size numbers and the three strings
 * back to back, so that a client reads the busiest message of the protocol without a MessagePack
 * decoder.
 */
export const ROOM_MESSAGE_KIND = 0x01;

/**
 * Bytes of a compact room message before its strings: the kind byte, `id` and `ts` (8 bytes each,
 * big-endian, below 2^53), the byte lengths of `room` and `from` (1 byte each).
 */
export const ROOM_MESSAGE_HEADER_LENGTH = 19;

/** Longest string field, in UTF-16 code units, before the session's own rules apply. */
export const MAX_STRING_FIELD = 65_536;

function fail(message: string): never {
  throw new MalformedSessionMessageError(message);
}

const utf8Encoder = new TextEncoder();
// Fatal: a string that is not UTF-8 is refused, not patched with U+FFFD. ignoreBOM: a leading
// U+FEFF is part of the text, not a marker to drop.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function checkUint53(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(
      `a room message's ${name} must be an unsigned integer below 2^53`,
    );
  }
}

function readField(bytes: Uint8Array, offset: number, name: string, what = 'room message'): number {
  const value = readUint53(bytes, offset);
  if (value === undefined) fail(`the server's ${what} has a ${name} of 2^53 or more`);
  return value;
}

export function encodeRoomMessage(message: RoomMessage): Uint8Array {
  const room = utf8Encoder.encode(message.room);
  const from = utf8Encoder.encode(message.from);
  if (room.length > 255 || from.length > 255) {
    throw new InvalidArgumentError(
      "a room message's room and from must each take at most 255 bytes of UTF-8",
    );
  }
  // The text's UTF-8 takes at most 3 bytes per UTF-16 code unit.
  const capacity = ROOM_MESSAGE_HEADER_LENGTH + room.length + from.length + message.text.length * 3;
  const output = new Uint8Array(capacity);
  output[0] = ROOM_MESSAGE_KIND;
  checkUint53(message.id, 'id');
  checkUint53(message.ts, 'ts');
  writeUint53(output, 1, message.id);
  writeUint53(output, 9, message.ts);
  output[17] = room.length;
  output[18] = from.length;
  output.set(room, ROOM_MESSAGE_HEADER_LENGTH);
  output.set(from, ROOM_MESSAGE_HEADER_LENGTH + room.length);
  const textStart = ROOM_MESSAGE_HEADER_LENGTH + room.length + from.length;
  const { written } = utf8Encoder.encodeInto(message.text, output.subarray(textStart));
  return output.subarray(0, textStart + written);
}

function decodeUtf8(bytes: Uint8Array, name: string, what = 'room message'): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch (error) {
    throw new MalformedSessionMessageError(
      `the server's ${what} has a ${name} that is not valid UTF-8`,
      { cause: error },
    );
  }
}

/**
 * Decodes a room message in its compact form into an object whose `type` is `type`: the client
 * builds its event in one step.
 *
 * @throws {@link MalformedSessionMessageError} when the bytes are not a valid room message.
 */
export function decodeRoomMessage<Type extends string>(
  bytes: Uint8Array,
  type: Type,
): Omit<RoomMessage, 'type'> & { readonly type: Type } {
  if (bytes.length < ROOM_MESSAGE_HEADER_LENGTH) {
    fail(`the server sent a room message of ${bytes.length} bytes, shorter than its header`);
  }
  const id = readField(bytes, 1, 'id');
  const ts = readField(bytes, 9, 'ts');
  const roomEnd = ROOM_MESSAGE_HEADER_LENGTH + bytes[17]!;
  const fromEnd = roomEnd + bytes[18]!;
  if (fromEnd > bytes.length) fail("the server's room message is shorter than its names");
  if (bytes.length - fromEnd > MAX_STRING_FIELD * 3) {
    fail(`the server's room message has a text of more than ${MAX_STRING_FIELD * 3} bytes`);
  }
  // One decoder call for the three strings: when the result has one character per byte, all of
  // them are ASCII and the strings are cut from it; otherwise each is decoded on its own (which
  // also catches a character split across two of them).
  const strings = bytes.subarray(ROOM_MESSAGE_HEADER_LENGTH);
  const all = decodeUtf8(strings, 'room, from or text');
  let room: string;
  let from: string;
  let text: string;
  if (all.length === strings.length) {
    room = all.slice(0, roomEnd - ROOM_MESSAGE_HEADER_LENGTH);
    from = all.slice(roomEnd - ROOM_MESSAGE_HEADER_LENGTH, fromEnd - ROOM_MESSAGE_HEADER_LENGTH);
    text = all.slice(fromEnd - ROOM_MESSAGE_HEADER_LENGTH);
  } else {
    room = decodeUtf8(bytes.subarray(ROOM_MESSAGE_HEADER_LENGTH, roomEnd), 'room');
    from = decodeUtf8(bytes.subarray(roomEnd, fromEnd), 'from');
    text = decodeUtf8(bytes.subarray(fromEnd), 'text');
  }
  if (text.length > MAX_STRING_FIELD) {
    fail(`the server's room message has a text of more than ${MAX_STRING_FIELD} characters`);
  }
  return { type, id, ts, room, from, text };
}

/**
 * First byte of a room batch (docs/protocol.md, section 8.2): several messages of one room from
 * one sender, in the order sent, as one session message. The server sends batches only to a
 * client that announced the capability `room-batch`.
 */
export const ROOM_BATCH_KIND = 0x03;

/**
 * Bytes of a room batch before its names: the kind byte, the message count (2 bytes, big-endian,
 * at least 1), the byte lengths of `room` and `from` (1 byte each).
 */
export const ROOM_BATCH_HEADER_LENGTH = 5;

/**
 * Bytes of each message's entry in a room batch, after the names: `id` and `ts` (8 bytes each,
 * big-endian, below 2^53) and the byte length of its text (4 bytes, big-endian).
 */
export const ROOM_BATCH_ENTRY_LENGTH = 20;

const BATCH = 'room batch';

/** Most messages in one room batch (its count is 2 bytes). */
export const MAX_ROOM_BATCH_COUNT = 65_535;

/** One message of a room batch: what differs from one message of the batch to the next. */
export interface RoomBatchEntry {
  readonly id: number;
  readonly ts: number;
  readonly text: string;
}

/**
 * Encodes the messages `entries` of `room` from `from` as one room batch.
 *
 * @throws `InvalidArgumentError` for no entry or more than {@link MAX_ROOM_BATCH_COUNT}, an `id`
 * or `ts` that is not an unsigned integer below 2^53, or a `room` or `from` of more than 255 bytes
 * of UTF-8.
 */
export function encodeRoomBatch(
  room: string,
  from: string,
  entries: readonly RoomBatchEntry[],
): Uint8Array {
  const count = entries.length;
  if (count === 0 || count > MAX_ROOM_BATCH_COUNT) {
    throw new InvalidArgumentError(
      `a room batch holds 1 to ${MAX_ROOM_BATCH_COUNT} messages, not ${count}`,
    );
  }
  const roomBytes = utf8Encoder.encode(room);
  const fromBytes = utf8Encoder.encode(from);
  if (roomBytes.length > 255 || fromBytes.length > 255) {
    throw new InvalidArgumentError(
      "a room batch's room and from must each take at most 255 bytes of UTF-8",
    );
  }
  const entriesStart = ROOM_BATCH_HEADER_LENGTH + roomBytes.length + fromBytes.length;
  let capacity = entriesStart + count * ROOM_BATCH_ENTRY_LENGTH;
  // A text's UTF-8 takes at most 3 bytes per UTF-16 code unit.
  for (const entry of entries) capacity += entry.text.length * 3;
  const output = new Uint8Array(capacity);
  output[0] = ROOM_BATCH_KIND;
  output[1] = count >>> 8;
  output[2] = count & 0xff;
  output[3] = roomBytes.length;
  output[4] = fromBytes.length;
  output.set(roomBytes, ROOM_BATCH_HEADER_LENGTH);
  output.set(fromBytes, ROOM_BATCH_HEADER_LENGTH + roomBytes.length);
  let entry = entriesStart;
  let textAt = entriesStart + count * ROOM_BATCH_ENTRY_LENGTH;
  for (const { id, ts, text } of entries) {
    checkUint53(id, 'id');
    checkUint53(ts, 'ts');
    writeUint53(output, entry, id);
    writeUint53(output, entry + 8, ts);
    const { written } = utf8Encoder.encodeInto(text, output.subarray(textAt));
    output[entry + 16] = written >>> 24;
    output[entry + 17] = (written >>> 16) & 0xff;
    output[entry + 18] = (written >>> 8) & 0xff;
    output[entry + 19] = written & 0xff;
    entry += ROOM_BATCH_ENTRY_LENGTH;
    textAt += written;
  }
  return output.subarray(0, textAt);
}

/**
 * Decodes a room batch into its messages, in order, each an object whose `type` is `type` (the
 * client builds its events in one step).
 *
 * @throws {@link MalformedSessionMessageError} when the bytes are not a valid room batch.
 */
export function decodeRoomBatch<Type extends string>(
  bytes: Uint8Array,
  type: Type,
): (Omit<RoomMessage, 'type'> & { readonly type: Type })[] {
  if (bytes.length < ROOM_BATCH_HEADER_LENGTH) {
    fail(`the server sent a room batch of ${bytes.length} bytes, shorter than its header`);
  }
  const count = (bytes[1]! << 8) | bytes[2]!;
  if (count === 0) fail('the server sent a room batch of no message');
  const roomEnd = ROOM_BATCH_HEADER_LENGTH + bytes[3]!;
  const fromEnd = roomEnd + bytes[4]!;
  const textsStart = fromEnd + count * ROOM_BATCH_ENTRY_LENGTH;
  if (textsStart > bytes.length) {
    fail("the server's room batch is shorter than its names and entries");
  }
  let textBytes = 0;
  for (let entry = fromEnd; entry < textsStart; entry += ROOM_BATCH_ENTRY_LENGTH) {
    const length =
      ((bytes[entry + 16]! << 24) |
        (bytes[entry + 17]! << 16) |
        (bytes[entry + 18]! << 8) |
        bytes[entry + 19]!) >>>
      0;
    if (length > MAX_STRING_FIELD * 3) {
      fail(`the server's room batch has a text of more than ${MAX_STRING_FIELD * 3} bytes`);
    }
    textBytes += length;
  }
  if (textsStart + textBytes !== bytes.length) {
    fail("the lengths of the texts in the server's room batch do not add up to its size");
  }
  const room = decodeUtf8(bytes.subarray(ROOM_BATCH_HEADER_LENGTH, roomEnd), 'room', BATCH);
  const from = decodeUtf8(bytes.subarray(roomEnd, fromEnd), 'from', BATCH);
  // One decoder call for every text: when the result has one character per byte, all of them are
  // ASCII and each text is cut from it; otherwise each is decoded on its own (which also catches
  // a character split across two of them).
  const texts = bytes.subarray(textsStart);
  const all = decodeUtf8(texts, 'text', BATCH);
  const ascii = all.length === texts.length;
  const messages: (Omit<RoomMessage, 'type'> & { readonly type: Type })[] = [];
  let at = 0;
  for (let entry = fromEnd; entry < textsStart; entry += ROOM_BATCH_ENTRY_LENGTH) {
    const id = readField(bytes, entry, 'id', BATCH);
    const ts = readField(bytes, entry + 8, 'ts', BATCH);
    const length =
      ((bytes[entry + 16]! << 24) |
        (bytes[entry + 17]! << 16) |
        (bytes[entry + 18]! << 8) |
        bytes[entry + 19]!) >>>
      0;
    const text = ascii
      ? all.slice(at, at + length)
      : decodeUtf8(texts.subarray(at, at + length), 'text', BATCH);
    if (text.length > MAX_STRING_FIELD) {
      fail(`the server's room batch has a text of more than ${MAX_STRING_FIELD} characters`);
    }
    messages.push({ type, id, ts, room, from, text });
    at += length;
  }
  return messages;
}

/**
 * First byte of a `say` in its compact form (docs/protocol.md, section 8.2), client to server:
 * sent only to a server that announced the capability `compact-say`.
 */
export const COMPACT_SAY_KIND = 0x04;

/**
 * Bytes of a compact `say` before its strings: the kind byte, `id` and `ts` (8 bytes each,
 * big-endian, below 2^53) and the byte length of `room` (1 byte).
 */
export const COMPACT_SAY_HEADER_LENGTH = 18;

/**
 * Encodes a `say` in its compact form.
 *
 * @throws `InvalidArgumentError` for an `id` or `ts` that is not an unsigned integer below 2^53,
 * or a `room` of more than 255 bytes of UTF-8.
 */
export function encodeCompactSay(message: SayRequest): Uint8Array {
  const room = utf8Encoder.encode(message.room);
  if (room.length > 255) {
    throw new InvalidArgumentError("a compact say's room must take at most 255 bytes of UTF-8");
  }
  checkUint53(message.id, 'id');
  checkUint53(message.ts, 'ts');
  const textStart = COMPACT_SAY_HEADER_LENGTH + room.length;
  // The text's UTF-8 takes at most 3 bytes per UTF-16 code unit.
  const output = new Uint8Array(textStart + message.text.length * 3);
  output[0] = COMPACT_SAY_KIND;
  writeUint53(output, 1, message.id);
  writeUint53(output, 9, message.ts);
  output[17] = room.length;
  output.set(room, COMPACT_SAY_HEADER_LENGTH);
  const { written } = utf8Encoder.encodeInto(message.text, output.subarray(textStart));
  return output.subarray(0, textStart + written);
}

function decodeClientUtf8(bytes: Uint8Array, name: string): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch (error) {
    throw new MalformedSessionMessageError(
      `the client's compact say has a ${name} that is not valid UTF-8`,
      { cause: error },
    );
  }
}

/**
 * Decodes a compact `say` into the same message its MessagePack form gives.
 *
 * @throws {@link MalformedSessionMessageError} when the bytes are not a valid compact say.
 */
export function decodeCompactSay(bytes: Uint8Array): SayRequest {
  if (bytes.length < COMPACT_SAY_HEADER_LENGTH) {
    fail(`the client sent a compact say of ${bytes.length} bytes, shorter than its header`);
  }
  const id = readUint53(bytes, 1);
  const ts = readUint53(bytes, 9);
  if (id === undefined || ts === undefined) {
    fail(`the client's compact say has ${id === undefined ? 'an id' : 'a ts'} of 2^53 or more`);
  }
  const textStart = COMPACT_SAY_HEADER_LENGTH + bytes[17]!;
  if (textStart > bytes.length) fail("the client's compact say is shorter than its room");
  if (bytes.length - textStart > MAX_STRING_FIELD * 3) {
    fail(`the client's compact say has a text of more than ${MAX_STRING_FIELD * 3} bytes`);
  }
  const room = decodeClientUtf8(bytes.subarray(COMPACT_SAY_HEADER_LENGTH, textStart), 'room');
  const text = decodeClientUtf8(bytes.subarray(textStart), 'text');
  if (text.length > MAX_STRING_FIELD) {
    fail(`the client's compact say has a text of more than ${MAX_STRING_FIELD} characters`);
  }
  return { type: 'say', id, ts, room, text };
}
