import fc from 'fast-check';
import { caught } from '../../test/caught.js';
import { describe, expect, it } from 'vitest';
import {
  IncomingDatagramTooLargeError,
  MalformedDatagramError,
  NotLanchatError,
  OutgoingDatagramTooLargeError,
  UnsupportedVersionError,
} from '../errors/frame-errors.js';
import { InvalidArgumentError, RemoteProtocolError } from '../errors/lanchat-error.js';
import {
  DATAGRAM_HEADER_LENGTH,
  decodeDatagramFrame,
  encodeDatagramFrame,
} from './datagram-frame.js';
import { DEFAULT_MAX_DATAGRAM_LENGTH } from './limits.js';

const refusal = (
  datagram: Uint8Array,
  options?: Parameters<typeof decodeDatagramFrame>[1],
): unknown => caught(() => decodeDatagramFrame(datagram, options));

describe('datagram frames', () => {
  it('are "LC", the major version, the type, then the body', () => {
    const datagram = encodeDatagramFrame({ type: 4, body: Uint8Array.of(9, 8, 7) });
    expect(datagram).toEqual(Uint8Array.of(0x4c, 0x43, 1, 4, 9, 8, 7));
    const frame = decodeDatagramFrame(datagram);
    expect(frame.type).toBe(4);
    expect(frame.body).toEqual(Uint8Array.of(9, 8, 7));
    expect(frame.body.buffer).toBe(datagram.buffer);
  });

  it('allow an empty body and a body up to the limit', () => {
    expect(
      decodeDatagramFrame(encodeDatagramFrame({ type: 1, body: new Uint8Array(0) })).body.length,
    ).toBe(0);
    const largest = new Uint8Array(DEFAULT_MAX_DATAGRAM_LENGTH - DATAGRAM_HEADER_LENGTH);
    expect(encodeDatagramFrame({ type: 1, body: largest }).length).toBe(
      DEFAULT_MAX_DATAGRAM_LENGTH,
    );
  });

  it('refuse to encode over the limit or with a bad type', () => {
    const tooBig = new Uint8Array(DEFAULT_MAX_DATAGRAM_LENGTH - DATAGRAM_HEADER_LENGTH + 1);
    expect(() => encodeDatagramFrame({ type: 1, body: tooBig })).toThrow(
      OutgoingDatagramTooLargeError,
    );
    expect(() => encodeDatagramFrame({ type: 0, body: tooBig })).toThrow(InvalidArgumentError);
    expect(() => encodeDatagramFrame({ type: 256, body: new Uint8Array(0) })).toThrow(
      InvalidArgumentError,
    );
    expect(() =>
      encodeDatagramFrame({ type: 1, body: new Uint8Array(0) }, { maxDatagramLength: 3 }),
    ).toThrow(InvalidArgumentError);
  });

  it('refuse a datagram over the limit before looking inside', () => {
    const datagram = encodeDatagramFrame(
      { type: 1, body: new Uint8Array(100) },
      { maxDatagramLength: 2000 },
    );
    const error = refusal(datagram, { maxDatagramLength: 50 });
    expect(IncomingDatagramTooLargeError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ length: 104, maxLength: 50 });
  });

  it('refuse a stranger, another major version, a short datagram and type 0, each alone', () => {
    expect(NotLanchatError.isInstance(refusal(new TextEncoder().encode('GET / HTTP/1.1')))).toBe(
      true,
    );
    expect(NotLanchatError.isInstance(refusal(Uint8Array.of(0x4c)))).toBe(false);
    expect(refusal(Uint8Array.of(0x4c, 0x43, 1))).toMatchObject({ reason: 'too-short' });
    expect(MalformedDatagramError.isInstance(refusal(new Uint8Array(0)))).toBe(true);
    expect(refusal(Uint8Array.of(0x4c, 0x43, 1, 0, 5))).toMatchObject({ reason: 'unknown-type' });
    const otherVersion = refusal(Uint8Array.of(0x4c, 0x43, 2, 1));
    expect(UnsupportedVersionError.isInstance(otherVersion)).toBe(true);
    // Each refusal stands alone: the next good datagram decodes.
    expect(
      decodeDatagramFrame(encodeDatagramFrame({ type: 7, body: new Uint8Array(1) })).type,
    ).toBe(7);
  });
});

describe('datagram frame properties', () => {
  it('decode(encode(frame)) equals the frame for any type, body and limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 255 }),
        fc.integer({ min: DATAGRAM_HEADER_LENGTH, max: 2000 }),
        fc.uint8Array({ maxLength: 2000 }),
        (type, maxDatagramLength, body) => {
          const fits = body.subarray(0, maxDatagramLength - DATAGRAM_HEADER_LENGTH);
          const frame = decodeDatagramFrame(
            encodeDatagramFrame({ type, body: fits }, { maxDatagramLength }),
            {
              maxDatagramLength,
            },
          );
          expect(frame.type).toBe(type);
          expect(Buffer.compare(frame.body, fits)).toBe(0);
        },
      ),
    );
  });

  it('any bytes decode or give a RemoteProtocolError, never anything else', () => {
    const arbitraryDatagram = fc.oneof(
      fc.uint8Array({ maxLength: 1300 }),
      fc
        .tuple(fc.nat(255), fc.nat(255), fc.uint8Array({ maxLength: 40 }))
        .map(([version, type, body]) => Uint8Array.of(0x4c, 0x43, version, type, ...body)),
    );
    fc.assert(
      fc.property(arbitraryDatagram, (datagram) => {
        try {
          const frame = decodeDatagramFrame(datagram);
          expect(frame.type).toBeGreaterThan(0);
          expect(frame.body.length).toBe(datagram.length - DATAGRAM_HEADER_LENGTH);
        } catch (error) {
          expect(RemoteProtocolError.isInstance(error)).toBe(true);
        }
      }),
    );
  });
});
