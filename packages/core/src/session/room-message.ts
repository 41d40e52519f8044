/**
 * The compact form of a room message (docs/protocol.md, section 8.2): kind 0x01, `id` and `ts` as
 * 64-bit big-endian integers, the byte lengths of `room` and `from`, then the three strings in
 * UTF-8. Only the session modules use these functions; the package exports the constants.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { MalformedSessionMessageError } from '../errors/session-errors.js';
import { readUint53, writeUint53 } from '../util/uint53.js';
import type { RoomMessage } from './session-messages.js';

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

function readField(bytes: Uint8Array, offset: number, name: string): number {
  const value = readUint53(bytes, offset);
  if (value === undefined) fail(`the server's room message has a ${name} of 2^53 or more`);
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

function decodeUtf8(bytes: Uint8Array, name: string): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch (error) {
    throw new MalformedSessionMessageError(
      `the server's room message has a ${name} that is not valid UTF-8`,
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
