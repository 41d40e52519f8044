import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedSessionMessageError } from '../errors/session-errors.js';
import { encodeTransferData } from '../session/transfer-data.js';
import { type PeerControlMessage, decodePeerMessage, encodePeerMessage } from './peer-messages.js';

function control(value: unknown): Uint8Array {
  const body = encode(value);
  const bytes = new Uint8Array(body.length + 1);
  bytes.set(body, 1);
  return bytes;
}

const KEY = 'ab'.repeat(32);
const EPOCH = '01'.repeat(16);

describe('peer messages', () => {
  it('round-trips every control message', () => {
    const messages: PeerControlMessage[] = [
      { type: 'hello', nick: 'ann', epoch: EPOCH, port: 7001, rooms: ['lobby', 'games'] },
      { type: 'hello', nick: 'ann', epoch: EPOCH, rooms: ['lobby'] },
      { type: 'peers', peers: [{ key: KEY, nick: 'bob', host: '192.168.1.5', port: 7001 }] },
      { type: 'say', n: 1, ts: 1_700_000_000_000, room: 'lobby', text: 'hi' },
      { type: 'private', n: 2, ts: 1, text: 'psst' },
      { type: 'ack', n: 2 },
      { type: 'nick', nick: 'anna' },
      { type: 'join', room: 'games' },
      { type: 'leave', room: 'games' },
      { type: 'listening', port: 7002 },
      { type: 'ping', n: 1 },
      { type: 'pong', n: 1 },
      { type: 'bye', reason: 'leaving' },
      { type: 'bye', reason: 'hang-up' },
      { type: 'bye', reason: 'duplicate' },
      {
        type: 'transfer-offer',
        transfer: '0f'.repeat(16),
        name: 'a.txt',
        size: 5,
        sha256: '00'.repeat(32),
        md5: '11'.repeat(16),
      },
      { type: 'transfer-accept', transfer: '0f'.repeat(16), offset: 0, window: 10, attempt: 0 },
      { type: 'transfer-done', transfer: '0f'.repeat(16) },
    ];
    for (const message of messages) {
      expect(decodePeerMessage(encodePeerMessage(message))).toEqual(message);
    }
    const data = {
      type: 'data',
      transfer: '0f'.repeat(16),
      offset: 7,
      bytes: new Uint8Array([1, 2]),
    } as const;
    expect(decodePeerMessage(encodeTransferData(data))).toEqual(data);
  });

  it('refuses what breaks the schema, with MalformedSessionMessageError', () => {
    const bad: [unknown, RegExp][] = [
      [{ type: 'hello', nick: 'ann', rooms: [] }, /lacks the field "epoch"/],
      [{ type: 'hello', nick: 'ann', epoch: 'xy', rooms: [] }, /hexadecimal/],
      [{ type: 'ack', n: 1, extra: true }, /unknown field "extra"/],
      [{ type: 'ack', n: -1 }, /unsigned integer/],
      [{ type: 'bye', reason: 'bored' }, /one of leaving, hang-up, duplicate/],
      [{ type: 'peers', peers: [{ key: KEY, nick: 'b', host: 'h' }] }, /lacks the field "port"/],
      [{ type: 'listening' }, /lacks the field "port"/],
      [{ type: 'welcome' }, /unknown type "welcome"/],
      [[1, 2], /not a map/],
    ];
    for (const [value, message] of bad) {
      expect(() => decodePeerMessage(control(value))).toThrow(message);
      expect(() => decodePeerMessage(control(value))).toThrow(MalformedSessionMessageError);
    }
    expect(() => decodePeerMessage(new Uint8Array([0x01, 0]))).toThrow(/unknown kind 1/);
    expect(() => decodePeerMessage(new Uint8Array(0))).toThrow(/empty/);
  });

  it('never throws anything but MalformedSessionMessageError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodePeerMessage(bytes);
        } catch (error) {
          expect(MalformedSessionMessageError.isInstance(error)).toBe(true);
        }
      }),
    );
  });
});
