import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { MalformedSessionMessageError } from '../errors/session-errors.js';
import {
  ROOM_MESSAGE_HEADER_LENGTH,
  ROOM_MESSAGE_KIND,
  type RoomMessage,
  decodeClientMessage,
  decodeServerMessage,
  encodeSessionMessage,
} from './session-messages.js';

function hex(text: string): Uint8Array {
  return Uint8Array.from(text.split(/\s+/).filter(Boolean), (byte) => Number.parseInt(byte, 16));
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A compact room message with the given strings, as raw bytes (no checks of our own encoder). */
function roomMessageBytes(room: Uint8Array, from: Uint8Array, text: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(
    ROOM_MESSAGE_HEADER_LENGTH + room.length + from.length + text.length,
  );
  bytes[0] = ROOM_MESSAGE_KIND;
  bytes[8] = 1;
  bytes[16] = 2;
  bytes[17] = room.length;
  bytes[18] = from.length;
  bytes.set(room, ROOM_MESSAGE_HEADER_LENGTH);
  bytes.set(from, ROOM_MESSAGE_HEADER_LENGTH + room.length);
  bytes.set(text, ROOM_MESSAGE_HEADER_LENGTH + room.length + from.length);
  return bytes;
}

const example: RoomMessage = {
  type: 'message',
  id: 1,
  ts: 1_767_225_600_000,
  room: 'lobby',
  from: 'alice',
  text: 'hi',
};

// Message 7 of the example in docs/protocol.md, section 8.12.
const exampleBytes = hex(`
  01
  00 00 00 00 00 00 00 01
  00 00 01 9b 76 da a8 00
  05 05
  6c 6f 62 62 79
  61 6c 69 63 65
  68 69
`);

describe('the compact room message', () => {
  it('encodes the example of the protocol document byte for byte, and decodes it back', () => {
    expect(encodeSessionMessage(example)).toEqual(exampleBytes);
    expect(decodeServerMessage(exampleBytes)).toEqual(example);
  });

  it('round-trips any strings, ASCII or not, and the largest id and time', () => {
    const name = fc
      .string({ unit: 'binary', maxLength: 63 })
      .filter((value) => utf8(value).length <= 255);
    fc.assert(
      fc.property(
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        name,
        name,
        fc.string({ unit: 'binary', maxLength: 300 }),
        (id, ts, room, from, text) => {
          const message: RoomMessage = { type: 'message', id, ts, room, from, text };
          expect(decodeServerMessage(encodeSessionMessage(message))).toEqual(message);
        },
      ),
    );
    const largest = { ...example, id: Number.MAX_SAFE_INTEGER, ts: Number.MAX_SAFE_INTEGER };
    expect(decodeServerMessage(encodeSessionMessage(largest))).toEqual(largest);
  });

  it('keeps a leading byte order mark as part of the text', () => {
    const message = { ...example, room: '\uFEFFroom', text: '\uFEFF' };
    expect(decodeServerMessage(encodeSessionMessage(message))).toEqual(message);
  });

  it('refuses a number of 2^53 or more, a short message, names past the end and bad UTF-8', () => {
    const tooLarge = exampleBytes.slice();
    tooLarge[2] = 0x20; // id = 2^53 + 1
    expect(() => decodeServerMessage(tooLarge)).toThrow(/id of 2\^53 or more/);
    const tooLate = exampleBytes.slice();
    tooLate[9] = 0x80;
    expect(() => decodeServerMessage(tooLate)).toThrow(/ts of 2\^53 or more/);

    expect(() => decodeServerMessage(exampleBytes.subarray(0, 18))).toThrow(
      /shorter than its header/,
    );
    const longNames = exampleBytes.slice();
    longNames[18] = 200;
    expect(() => decodeServerMessage(longNames)).toThrow(/shorter than its names/);

    const invalid = [
      roomMessageBytes(utf8('lobby'), utf8('ann'), hex('ff')),
      roomMessageBytes(hex('c3'), utf8('ann'), utf8('hi')),
      roomMessageBytes(utf8('lobby'), utf8('ann'), hex('ed a0 80')), // an encoded surrogate
    ];
    for (const bytes of invalid) {
      expect(() => decodeServerMessage(bytes)).toThrow(/not valid UTF-8/);
      expect(() => decodeServerMessage(bytes)).toThrow(MalformedSessionMessageError);
    }
  });

  it('refuses a character cut in two between the room and the sender, though the whole is valid', () => {
    const e = utf8('é'); // c3 a9
    const bytes = roomMessageBytes(e.subarray(0, 1), e.subarray(1), utf8('hi'));
    expect(() => decodeServerMessage(bytes)).toThrow(/room that is not valid UTF-8/);
  });

  it('is refused from a client, and its names must fit in 255 bytes', () => {
    expect(() => decodeClientMessage(exampleBytes)).toThrow(/unknown kind 1/);
    expect(() => encodeSessionMessage({ ...example, room: 'é'.repeat(128) })).toThrow(
      InvalidArgumentError,
    );
    expect(() => encodeSessionMessage({ ...example, id: -1 })).toThrow(/unsigned integer/);
    expect(() => encodeSessionMessage({ ...example, ts: 2 ** 53 })).toThrow(/unsigned integer/);
  });
});
