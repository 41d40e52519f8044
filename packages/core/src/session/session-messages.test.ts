import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { MalformedSessionMessageError } from '../errors/session-errors.js';
import {
  COMPACT_SAY_HEADER_LENGTH,
  COMPACT_SAY_KIND,
  MAX_ROOM_BATCH_COUNT,
  ROOM_BATCH_ENTRY_LENGTH,
  ROOM_BATCH_HEADER_LENGTH,
  ROOM_BATCH_KIND,
  ROOM_MESSAGE_HEADER_LENGTH,
  ROOM_MESSAGE_KIND,
  type RoomMessage,
  decodeClientMessage,
  decodeServerMessage,
  decodeServerMessages,
  encodeCompactSay,
  encodeRoomBatch,
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

// The room batch of docs/protocol.md, section 8.2.
const batchExample: RoomMessage[] = [
  { type: 'message', id: 7, ts: 1_767_225_600_000, room: 'lobby', from: 'alice', text: 'hi' },
  { type: 'message', id: 8, ts: 1_767_225_600_250, room: 'lobby', from: 'alice', text: 'ok' },
];
const batchExampleBytes = hex(`
  03
  00 02
  05 05
  6c 6f 62 62 79
  61 6c 69 63 65
  00 00 00 00 00 00 00 07  00 00 01 9b 76 da a8 00  00 00 00 02
  00 00 00 00 00 00 00 08  00 00 01 9b 76 da a8 fa  00 00 00 02
  68 69
  6f 6b
`);

function batchOf(messages: readonly RoomMessage[]): Uint8Array {
  const first = messages[0]!;
  return encodeRoomBatch(
    first.room,
    first.from,
    messages.map(({ id, ts, text }) => ({ id, ts, text })),
  );
}

/** A room batch of `texts` (raw bytes each), ids 1, 2, ... and ts 0, as raw bytes. */
function batchBytes(texts: readonly Uint8Array[]): Uint8Array {
  const entries = ROOM_BATCH_HEADER_LENGTH + 2 + texts.length * ROOM_BATCH_ENTRY_LENGTH;
  const total = texts.reduce((sum, text) => sum + text.length, entries);
  const bytes = new Uint8Array(total);
  bytes.set([ROOM_BATCH_KIND, texts.length >>> 8, texts.length & 0xff, 1, 1, 0x72, 0x61]);
  let at = entries;
  texts.forEach((text, index) => {
    const entry = ROOM_BATCH_HEADER_LENGTH + 2 + index * ROOM_BATCH_ENTRY_LENGTH;
    bytes[entry + 7] = index + 1;
    new DataView(bytes.buffer).setUint32(entry + 16, text.length);
    bytes.set(text, at);
    at += text.length;
  });
  return bytes;
}

describe('the room batch', () => {
  it('encodes the example of the protocol document byte for byte, and decodes it back', () => {
    expect(batchOf(batchExample)).toEqual(batchExampleBytes);
    expect(decodeServerMessages(batchExampleBytes)).toEqual(batchExample);
  });

  it('round-trips any messages, ASCII or not, in order', () => {
    const name = fc
      .string({ unit: 'binary', maxLength: 63 })
      .filter((value) => utf8(value).length <= 255);
    const text = fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
    );
    const uint = fc.nat({ max: Number.MAX_SAFE_INTEGER });
    fc.assert(
      fc.property(
        name,
        name,
        fc.array(fc.record({ id: uint, ts: uint, text }), { minLength: 1, maxLength: 20 }),
        (room, from, entries) => {
          const messages = entries.map((entry): RoomMessage => ({
            type: 'message',
            room,
            from,
            ...entry,
          }));
          expect(decodeServerMessages(encodeRoomBatch(room, from, entries))).toEqual(messages);
        },
      ),
    );
  });

  it('holds up to 65,535 messages, and no fewer than one', () => {
    const entries = Array.from({ length: MAX_ROOM_BATCH_COUNT }, (_, id) => ({
      id,
      ts: 1,
      text: '',
    }));
    expect(decodeServerMessages(encodeRoomBatch('r', 'a', entries))).toHaveLength(
      MAX_ROOM_BATCH_COUNT,
    );
    expect(() => encodeRoomBatch('r', 'a', [...entries, { id: 1, ts: 1, text: '' }])).toThrow(
      InvalidArgumentError,
    );
    expect(() => encodeRoomBatch('r', 'a', [])).toThrow(/1 to 65535 messages, not 0/);
    const none = batchBytes([]);
    expect(() => decodeServerMessages(none)).toThrow(/room batch of no message/);
  });

  it('refuses bad ids, names or texts from the encoder', () => {
    expect(() => encodeRoomBatch('é'.repeat(128), 'a', [{ id: 1, ts: 1, text: '' }])).toThrow(
      /at most 255 bytes/,
    );
    expect(() => encodeRoomBatch('r', 'a', [{ id: -1, ts: 1, text: '' }])).toThrow(
      /unsigned integer/,
    );
    expect(() => encodeRoomBatch('r', 'a', [{ id: 1, ts: 2 ** 53, text: '' }])).toThrow(
      /unsigned integer/,
    );
  });

  it('refuses a short batch, entries past the end, texts that do not fill it, big numbers', () => {
    const decode = (bytes: Uint8Array) => () => decodeServerMessages(bytes);
    expect(decode(batchExampleBytes.subarray(0, 4))).toThrow(/shorter than its header/);
    expect(decode(batchExampleBytes.subarray(0, 40))).toThrow(/shorter than its names and entries/);
    expect(decode(batchExampleBytes.subarray(0, batchExampleBytes.length - 1))).toThrow(
      /do not add up/,
    );
    expect(decode(Uint8Array.of(...batchExampleBytes, 0x21))).toThrow(/do not add up/);
    const tooLarge = batchExampleBytes.slice();
    tooLarge[16] = 0x20; // the first id = 2^53 + 7
    expect(decode(tooLarge)).toThrow(/room batch has a id of 2\^53 or more/);
    const tooLong = batchExampleBytes.slice();
    tooLong[32] = 0x04; // the first text: 2^18 + 2 bytes
    expect(decode(tooLong)).toThrow(/text of more than 196608 bytes/);
    const manyUnits = batchBytes([utf8('a'.repeat(65_537))]);
    expect(decode(manyUnits)).toThrow(/more than 65536 characters/);
    for (const bad of [tooLarge, tooLong, manyUnits]) {
      expect(decode(bad)).toThrow(MalformedSessionMessageError);
    }
  });

  it('refuses bad UTF-8, and a character cut in two between texts, though the whole is valid', () => {
    expect(() => decodeServerMessages(batchBytes([utf8('hi'), hex('ff')]))).toThrow(
      /room batch has a text that is not valid UTF-8/,
    );
    const e = utf8('é');
    const cut = batchBytes([utf8('a'), e.subarray(0, 1), e.subarray(1)]);
    expect(() => decodeServerMessages(cut)).toThrow(/text that is not valid UTF-8/);
    const fine = batchBytes([utf8('a'), e, utf8('€')]);
    expect((decodeServerMessages(fine) as RoomMessage[]).map((message) => message.text)).toEqual([
      'a',
      'é',
      '€',
    ]);
  });

  it('is read by decodeServerMessages only, and refused from a client', () => {
    expect(() => decodeServerMessage(batchExampleBytes)).toThrow(/decodeServerMessages/);
    expect(() => decodeServerMessage(batchExampleBytes)).toThrow(MalformedSessionMessageError);
    expect(decodeServerMessages(exampleBytes)).toEqual([example]);
    expect(() => decodeClientMessage(batchExampleBytes)).toThrow(/unknown kind 3/);
  });
});

// The compact say of docs/protocol.md, section 8.2.
const sayExample = {
  type: 'say' as const,
  id: 3,
  ts: 1_767_225_600_000,
  room: 'lobby',
  text: 'hi',
};
const sayExampleBytes = hex(`
  04
  00 00 00 00 00 00 00 03
  00 00 01 9b 76 da a8 00
  05
  6c 6f 62 62 79
  68 69
`);

/** A compact say with the given room and text, as raw bytes. */
function sayBytes(room: Uint8Array, text: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(COMPACT_SAY_HEADER_LENGTH + room.length + text.length);
  bytes[0] = COMPACT_SAY_KIND;
  bytes[8] = 1;
  bytes[16] = 2;
  bytes[17] = room.length;
  bytes.set(room, COMPACT_SAY_HEADER_LENGTH);
  bytes.set(text, COMPACT_SAY_HEADER_LENGTH + room.length);
  return bytes;
}

describe('the compact say', () => {
  it('encodes the example of the protocol document byte for byte, and decodes it back', () => {
    expect(encodeCompactSay(sayExample)).toEqual(sayExampleBytes);
    expect(decodeClientMessage(sayExampleBytes)).toEqual(sayExample);
  });

  it('decodes to what the MessagePack form of the same say decodes to, for any say', () => {
    const name = fc
      .string({ unit: 'binary', maxLength: 63 })
      .filter((value) => utf8(value).length <= 255);
    const uint = fc.nat({ max: Number.MAX_SAFE_INTEGER });
    fc.assert(
      fc.property(
        uint,
        uint,
        name,
        fc.oneof(
          fc.string({ unit: 'binary-ascii', maxLength: 300 }),
          fc.string({ unit: 'binary', maxLength: 300 }),
        ),
        (id, ts, room, text) => {
          const say = { type: 'say' as const, id, ts, room, text };
          const compact = decodeClientMessage(encodeCompactSay(say));
          expect(compact).toEqual(say);
          expect(compact).toEqual(decodeClientMessage(encodeSessionMessage(say)));
        },
      ),
    );
  });

  it('refuses a short say, a room past the end, big numbers, bad UTF-8 and long texts', () => {
    const decode = (bytes: Uint8Array) => () => decodeClientMessage(bytes);
    expect(decode(sayExampleBytes.subarray(0, 17))).toThrow(/shorter than its header/);
    const longRoom = sayExampleBytes.slice();
    longRoom[17] = 200;
    expect(decode(longRoom)).toThrow(/shorter than its room/);
    const bigId = sayExampleBytes.slice();
    bigId[2] = 0x20;
    expect(decode(bigId)).toThrow(/an id of 2\^53 or more/);
    const lateTs = sayExampleBytes.slice();
    lateTs[9] = 0x80;
    expect(decode(lateTs)).toThrow(/a ts of 2\^53 or more/);
    expect(decode(sayBytes(utf8('lobby'), hex('ff')))).toThrow(/text that is not valid UTF-8/);
    expect(decode(sayBytes(hex('c3'), utf8('hi')))).toThrow(/room that is not valid UTF-8/);
    const e = utf8('é');
    expect(decode(sayBytes(e.subarray(0, 1), e.subarray(1)))).toThrow(/not valid UTF-8/);
    expect(decode(sayBytes(utf8('r'), utf8('a'.repeat(65_537))))).toThrow(
      /more than 65536 characters/,
    );
    expect(decode(sayBytes(utf8('r'), new Uint8Array(196_609).fill(0x61)))).toThrow(
      /more than 196608 bytes/,
    );
    for (const bad of [longRoom, bigId, sayBytes(utf8('lobby'), hex('ff'))]) {
      expect(decode(bad)).toThrow(MalformedSessionMessageError);
    }
  });

  it('is refused from a server, and checks what it encodes', () => {
    expect(() => decodeServerMessage(sayExampleBytes)).toThrow(/unknown kind 4/);
    expect(() => encodeCompactSay({ ...sayExample, room: 'é'.repeat(128) })).toThrow(
      InvalidArgumentError,
    );
    expect(() => encodeCompactSay({ ...sayExample, id: -1 })).toThrow(/unsigned integer/);
    expect(() => encodeCompactSay({ ...sayExample, ts: 2 ** 53 })).toThrow(/unsigned integer/);
  });
});
