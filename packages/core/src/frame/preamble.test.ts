import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { caught } from '../../test/caught.js';
import { arbitraryCuts, byteByByte, concat, cutAt } from '../../test/chunking.js';
import { NotLanchatError, UnsupportedVersionError } from '../errors/frame-errors.js';
import {
  InvalidArgumentError,
  InvalidStateError,
  RemoteProtocolError,
} from '../errors/lanchat-error.js';
import {
  PREAMBLE_LENGTH,
  PREAMBLE_MAGIC,
  PROTOCOL_VERSION,
  PreambleDecoder,
  type PreambleAccepted,
  encodePreamble,
} from './preamble.js';

const text = new TextEncoder();

/** Feeds chunks until the preamble is accepted; returns it and the chunks not yet fed. */
const refusal = (bytes: Uint8Array): unknown => caught(() => new PreambleDecoder().receive(bytes));

function feed(decoder: PreambleDecoder, chunks: readonly Uint8Array[]) {
  for (const [index, chunk] of chunks.entries()) {
    const accepted = decoder.receive(chunk);
    if (accepted !== undefined) return { accepted, later: chunks.slice(index + 1) };
  }
  return { accepted: undefined, later: [] };
}

describe('preamble', () => {
  it('is the magic 0x89 "LANCHAT" then major and minor version', () => {
    expect(encodePreamble()).toEqual(
      Uint8Array.of(0x89, 0x4c, 0x41, 0x4e, 0x43, 0x48, 0x41, 0x54, 1, 0),
    );
    expect(encodePreamble({ major: 3, minor: 7 }).subarray(8)).toEqual(Uint8Array.of(3, 7));
    expect(PREAMBLE_LENGTH).toBe(10);
    expect(() => encodePreamble({ major: 256, minor: 0 })).toThrow(InvalidArgumentError);
    expect(() => new PreambleDecoder({ major: 1, minor: -1 })).toThrow(InvalidArgumentError);
  });

  it('accepts a peer of the same version, fed whole, with the rest of the chunk', () => {
    const stream = concat([encodePreamble(), text.encode('frames')]);
    const accepted = new PreambleDecoder().receive(stream);
    expect(accepted?.remoteVersion).toEqual(PROTOCOL_VERSION);
    expect(accepted?.rest).toEqual(text.encode('frames'));
    expect(accepted?.rest.buffer).toBe(stream.buffer);
  });

  it('accepts a peer fed one byte at a time', () => {
    const decoder = new PreambleDecoder();
    const { accepted, later } = feed(
      decoder,
      byteByByte(concat([encodePreamble(), text.encode('xy')])),
    );
    expect(accepted?.rest.length).toBe(0);
    expect(concat(later)).toEqual(text.encode('xy'));
  });

  it('accepts another minor version and reports it', () => {
    const accepted = new PreambleDecoder({ major: 1, minor: 0 }).receive(
      encodePreamble({ major: 1, minor: 9 }),
    );
    expect(accepted?.remoteVersion).toEqual({ major: 1, minor: 9 });
  });

  it('refuses another major version, naming both', () => {
    const error = refusal(encodePreamble({ major: 2, minor: 1 }));
    expect(UnsupportedVersionError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      localVersion: { major: 1, minor: 0 },
      remoteVersion: { major: 2, minor: 1 },
    });
    expect((error as Error).message).toMatch(/2\.1.*1\.0.*update this side/);
    expect(
      UnsupportedVersionError.isInstance(refusal(encodePreamble({ major: 0, minor: 0 }))),
    ).toBe(true);
  });

  it.each([
    [
      'an HTTP request',
      'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
      'http',
      /HTTP request \(received "GET \/ HTTP\/1\.1\\r\\n"\.\.\.\)/,
    ],
    ['an HTTP response', 'HTTP/1.1 400 Bad Request\r\n', 'http', /HTTP request/],
    ['SSH', 'SSH-2.0-OpenSSH_9.2\r\n', 'ssh', /speaks SSH/],
    [
      'a person typing into nc',
      'hello?\n',
      'unknown',
      /not lanchat magic bytes \(received "hello\?\\n"\)/,
    ],
  ])('refuses %s at once with a clear message', (_what, input, looksLike, message) => {
    const error = refusal(text.encode(input));
    expect(NotLanchatError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ looksLike });
    expect((error as Error).message).toMatch(message);
  });

  it('refuses a TLS handshake and shows its bytes in hex', () => {
    const error = refusal(Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00, 0x01));
    expect(error).toMatchObject({ looksLike: 'tls' });
    expect((error as Error).message).toMatch(/TLS handshake \(received hex 16 03 01 02 00 01\)/);
  });

  it('refuses at the first wrong byte, without waiting for ten bytes', () => {
    const decoder = new PreambleDecoder();
    expect(decoder.receive(PREAMBLE_MAGIC.subarray(0, 5))).toBeUndefined();
    let caught: unknown;
    try {
      decoder.receive(Uint8Array.of(0x00));
    } catch (error) {
      caught = error;
    }
    expect(NotLanchatError.isInstance(caught)).toBe(true);
    // The message shows what arrived across both chunks.
    expect((caught as NotLanchatError).received).toEqual(
      Uint8Array.of(0x89, 0x4c, 0x41, 0x4e, 0x43, 0x00),
    );
    expect(() => decoder.receive(encodePreamble())).toThrow(caught);
  });

  it('is used once: a second receive after acceptance is a usage error', () => {
    const decoder = new PreambleDecoder();
    decoder.receive(encodePreamble());
    expect(() => decoder.receive(new Uint8Array(1))).toThrow(InvalidStateError);
  });
});

describe('preamble properties', () => {
  it('under any chunking, the preamble is accepted and every later byte is handed back in order', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), arbitraryCuts, (tail, cuts) => {
        const { accepted, later } = feed(
          new PreambleDecoder(),
          cutAt(concat([encodePreamble(), tail]), cuts),
        );
        expect(accepted).toBeDefined();
        expect(concat([(accepted as PreambleAccepted).rest, ...later])).toEqual(tail);
      }),
    );
  });

  it('any bytes give acceptance, a wait for more, or a RemoteProtocolError: never anything else', () => {
    const arbitraryInput = fc.oneof(
      fc.uint8Array({ maxLength: 24 }),
      // Near misses: a correct prefix, then anything.
      fc
        .tuple(fc.nat(PREAMBLE_LENGTH), fc.uint8Array({ maxLength: 12 }))
        .map(([keep, after]) => concat([encodePreamble().subarray(0, keep), after])),
    );
    fc.assert(
      fc.property(arbitraryInput, arbitraryCuts, (input, cuts) => {
        const decoder = new PreambleDecoder();
        try {
          const { accepted } = feed(decoder, cutAt(input, cuts));
          // Waiting or accepted: every byte seen so far agreed with the magic.
          expect(input.subarray(0, 8)).toEqual(
            PREAMBLE_MAGIC.subarray(0, Math.min(8, input.length)),
          );
          if (accepted === undefined) {
            expect(input.length).toBeLessThan(PREAMBLE_LENGTH);
          } else {
            expect(input[8]).toBe(PROTOCOL_VERSION.major);
          }
        } catch (error) {
          expect(RemoteProtocolError.isInstance(error)).toBe(true);
          const magicMatches = PREAMBLE_MAGIC.every(
            (byte, index) => index >= input.length || input[index] === byte,
          );
          expect(NotLanchatError.isInstance(error)).toBe(!magicMatches);
        }
      }),
    );
  });
});
