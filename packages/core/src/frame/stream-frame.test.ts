import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbitraryCuts, byteByByte, concat, cutAt, sameFrames } from '../../test/chunking.js';
import {
  IncomingFrameTooLargeError,
  OutgoingFrameTooLargeError,
  TruncatedFrameError,
} from '../errors/frame-errors.js';
import {
  InvalidArgumentError,
  InvalidStateError,
  RemoteProtocolError,
} from '../errors/lanchat-error.js';
import { DEFAULT_MAX_STREAM_FRAME_LENGTH, STREAM_FRAME_HEADER_LENGTH } from './limits.js';
import {
  StreamFrameDecoder,
  encodeStreamFrame,
  encodeStreamFrameHeader,
  encodeStreamFrames,
} from './stream-frame.js';

const text = new TextEncoder();

/** Feeds every chunk and drains the decoder after each one, returning all frames (copied). */
function decodeAll(decoder: StreamFrameDecoder, chunks: readonly Uint8Array[]): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (const chunk of chunks) {
    decoder.receive(chunk);
    for (let frame = decoder.nextFrame(); frame !== undefined; frame = decoder.nextFrame()) {
      frames.push(frame.slice());
    }
  }
  return frames;
}

/** A header announcing `length`, big-endian. */
function header(length: number): Uint8Array {
  return Uint8Array.of(length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
}

/**
 * The obvious decoder over a whole stream, as the oracle: frames in order until a header
 * announces more than `max`, and how many bytes are left unconsumed at the end.
 */
function referenceDecode(stream: Uint8Array, max: number) {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const frames: Uint8Array[] = [];
  let offset = 0;
  while (stream.length - offset >= 4) {
    const length = view.getUint32(offset);
    if (length > max) return { frames, tooLarge: length, leftover: stream.length - offset };
    if (stream.length - offset - 4 < length) break;
    frames.push(stream.slice(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return { frames, tooLarge: undefined, leftover: stream.length - offset };
}

describe('stream frame encoding', () => {
  it('writes a 4-byte big-endian length before the payload', () => {
    expect(encodeStreamFrame(text.encode('hi'))).toEqual(Uint8Array.of(0, 0, 0, 2, 0x68, 0x69));
    expect(encodeStreamFrame(new Uint8Array(0))).toEqual(Uint8Array.of(0, 0, 0, 0));
    expect(encodeStreamFrameHeader(0x0102_0304, { maxFrameLength: 0xffff_ffff })).toEqual(
      Uint8Array.of(1, 2, 3, 4),
    );
  });

  it('coalesces several frames into one buffer', () => {
    const wire = encodeStreamFrames([text.encode('a'), new Uint8Array(0), text.encode('bc')]);
    expect(wire).toEqual(Uint8Array.of(0, 0, 0, 1, 0x61, 0, 0, 0, 0, 0, 0, 0, 2, 0x62, 0x63));
  });

  it('refuses to encode a payload over the limit, and encodes nothing', () => {
    const big = new Uint8Array(DEFAULT_MAX_STREAM_FRAME_LENGTH + 1);
    expect(() => encodeStreamFrame(big)).toThrow(OutgoingFrameTooLargeError);
    expect(() => encodeStreamFrames([new Uint8Array(1), big])).toThrow(OutgoingFrameTooLargeError);
    expect(() => encodeStreamFrameHeader(11, { maxFrameLength: 10 })).toThrow(
      OutgoingFrameTooLargeError,
    );
    expect(encodeStreamFrame(new Uint8Array(DEFAULT_MAX_STREAM_FRAME_LENGTH)).length).toBe(
      DEFAULT_MAX_STREAM_FRAME_LENGTH + STREAM_FRAME_HEADER_LENGTH,
    );
    try {
      encodeStreamFrame(new Uint8Array(11), { maxFrameLength: 10 });
      expect.unreachable();
    } catch (error) {
      expect(OutgoingFrameTooLargeError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ length: 11, maxLength: 10 });
    }
  });

  it('checks a header length', () => {
    for (const bad of [-1, 0.5, Number.NaN]) {
      expect(() => encodeStreamFrameHeader(bad)).toThrow(InvalidArgumentError);
    }
  });

  it('checks maxFrameLength', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 32, Infinity]) {
      expect(() => new StreamFrameDecoder({ maxFrameLength: bad })).toThrow(InvalidArgumentError);
      expect(() => encodeStreamFrame(new Uint8Array(0), { maxFrameLength: bad })).toThrow(
        InvalidArgumentError,
      );
    }
    expect(new StreamFrameDecoder({ maxFrameLength: 0 }).maxFrameLength).toBe(0);
    expect(new StreamFrameDecoder().maxFrameLength).toBe(65_535);
  });
});

describe('StreamFrameDecoder', () => {
  const payloads = [
    text.encode('hello'),
    new Uint8Array(0),
    text.encode('world!'),
    new Uint8Array(300).fill(7),
  ];
  const wire = encodeStreamFrames(payloads);

  it('decodes frames fed whole', () => {
    expect(decodeAll(new StreamFrameDecoder(), [wire])).toEqual(payloads);
  });

  it('decodes frames fed one byte at a time', () => {
    const decoder = new StreamFrameDecoder();
    expect(decodeAll(decoder, byteByByte(wire))).toEqual(payloads);
    decoder.finish();
    expect(decoder.state).toBe('finished');
  });

  it('accepts empty chunks anywhere', () => {
    const [first, second] = [wire.subarray(0, 7), wire.subarray(7)];
    const empty = new Uint8Array(0);
    expect(
      decodeAll(new StreamFrameDecoder(), [empty, first, empty, empty, second, empty]),
    ).toEqual(payloads);
  });

  it('returns frames inside one chunk as views, without copying', () => {
    const decoder = new StreamFrameDecoder();
    decoder.receive(wire);
    const frame = decoder.nextFrame();
    expect(frame?.buffer).toBe(wire.buffer);
    expect(frame?.byteOffset).toBe(wire.byteOffset + 4);
  });

  it('assembles a frame that spans chunks into its own buffer of exactly its length', () => {
    const decoder = new StreamFrameDecoder();
    const one = encodeStreamFrame(new Uint8Array(100).fill(9));
    decoder.receive(one.subarray(0, 50));
    expect(decoder.nextFrame()).toBeUndefined();
    expect(decoder.bufferedBytes).toBe(104);
    decoder.receive(one.subarray(50));
    const frame = decoder.nextFrame();
    expect(frame?.buffer).not.toBe(one.buffer);
    expect(frame?.buffer.byteLength).toBe(100);
    expect(frame).toEqual(new Uint8Array(100).fill(9));
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('rejects an oversize length from the header alone, before buffering anything', () => {
    const decoder = new StreamFrameDecoder({ maxFrameLength: 100 });
    decoder.receive(header(101)); // no payload byte has been sent
    expect(() => decoder.nextFrame()).toThrow(IncomingFrameTooLargeError);
    expect(decoder.state).toBe('failed');
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('lets allowNextFrame set the limit of the next frame only, higher or lower, whatever the split', () => {
    for (const size of [1, 2, 3, 5, 1_000]) {
      const decoder = new StreamFrameDecoder({ maxFrameLength: 100 });
      const stream = encodeStreamFrames([new Uint8Array(300), new Uint8Array(10)], {
        maxFrameLength: 300,
      });
      decoder.allowNextFrame(300);
      const frames: number[] = [];
      for (let at = 0; at < stream.length; at += size) {
        decoder.receive(stream.subarray(at, at + size));
        for (let frame = decoder.nextFrame(); frame !== undefined; frame = decoder.nextFrame()) {
          frames.push(frame.length);
        }
      }
      expect(frames).toEqual([300, 10]);
    }
    const decoder = new StreamFrameDecoder({ maxFrameLength: 100 });
    decoder.allowNextFrame(300);
    decoder.receive(
      concat([encodeStreamFrame(new Uint8Array(300), { maxFrameLength: 300 }), header(101)]),
    );
    expect(decoder.nextFrame()).toHaveLength(300);
    // Back to maxFrameLength, and the error names the limit that applied.
    expect(() => decoder.nextFrame()).toThrow(/100/);
    const lower = new StreamFrameDecoder({ maxFrameLength: 100 });
    lower.allowNextFrame(3);
    lower.receive(header(4));
    expect(() => lower.nextFrame()).toThrow(IncomingFrameTooLargeError);
    expect(() => {
      lower.allowNextFrame(-1);
    }).toThrow(InvalidArgumentError);
  });

  it('assembles the next frame in the buffer allowNextFrame gave, when it spans chunks', () => {
    const payload = Uint8Array.from({ length: 300 }, (_, index) => index & 0xff);
    const stream = encodeStreamFrame(payload, { maxFrameLength: 300 });
    // Spanning two chunks: assembled in `into`, which is what comes out.
    const spanning = new StreamFrameDecoder({ maxFrameLength: 100 });
    const into = new Uint8Array(300);
    spanning.allowNextFrame(300, into);
    spanning.receive(stream.subarray(0, 150));
    expect(spanning.nextFrame()).toBeUndefined();
    spanning.receive(stream.subarray(150));
    const frame = spanning.nextFrame();
    expect(frame).toBe(into);
    expect(into).toEqual(payload);
    // Inside one chunk: a view of the chunk, `into` untouched.
    const whole = new StreamFrameDecoder({ maxFrameLength: 100 });
    const unused = new Uint8Array(300);
    whole.allowNextFrame(300, unused);
    whole.receive(stream);
    const view = whole.nextFrame()!;
    expect(view.buffer).toBe(stream.buffer);
    expect(unused.every((byte) => byte === 0)).toBe(true);
    // A shorter frame than announced gets a buffer of its own; the frame after, too.
    const shorter = new StreamFrameDecoder({ maxFrameLength: 100 });
    const big = new Uint8Array(300);
    shorter.allowNextFrame(300, big);
    const two = encodeStreamFrames([new Uint8Array(200).fill(7), new Uint8Array(50).fill(9)], {
      maxFrameLength: 300,
    });
    const frames: Uint8Array[] = [];
    for (let at = 0; at < two.length; at += 60) {
      shorter.receive(two.subarray(at, at + 60));
      for (let next = shorter.nextFrame(); next !== undefined; next = shorter.nextFrame()) {
        frames.push(next);
      }
    }
    expect(frames.map((each) => each.length)).toEqual([200, 50]);
    expect(frames.some((each) => each.buffer === big.buffer)).toBe(false);
    expect(() => {
      shorter.allowNextFrame(10, new Uint8Array(9));
    }).toThrow(InvalidArgumentError);
  });

  it('rejects a 4 GiB announcement at once with the default limit', () => {
    const decoder = new StreamFrameDecoder();
    for (const byte of header(0xffff_ffff).subarray(0, 3)) {
      decoder.receive(Uint8Array.of(byte));
      expect(decoder.nextFrame()).toBeUndefined();
      expect(decoder.bufferedBytes).toBeLessThanOrEqual(3);
    }
    decoder.receive(Uint8Array.of(0xff));
    let caught: unknown;
    try {
      decoder.nextFrame();
    } catch (error) {
      caught = error;
    }
    expect(IncomingFrameTooLargeError.isInstance(caught)).toBe(true);
    expect(caught).toMatchObject({ length: 0xffff_ffff, maxLength: 65_535 });
    expect((caught as Error).message).toMatch(/4294967295 bytes, over the limit of 65535/);
  });

  it('stays failed after a fatal error: every call throws the same error', () => {
    const decoder = new StreamFrameDecoder({ maxFrameLength: 4 });
    decoder.receive(concat([encodeStreamFrame(text.encode('ok')), header(5)]));
    expect(decoder.nextFrame()).toEqual(text.encode('ok'));
    let first: unknown;
    try {
      decoder.nextFrame();
    } catch (error) {
      first = error;
    }
    expect(first).toBeInstanceOf(IncomingFrameTooLargeError);
    expect(() => decoder.nextFrame()).toThrow(first);
    expect(() => decoder.receive(encodeStreamFrame(text.encode('ok')))).toThrow(first);
    expect(() => decoder.finish()).toThrow(first);
    expect(decoder.state).toBe('failed');
  });

  it('reports a stream cut inside a payload or a header', () => {
    const inPayload = new StreamFrameDecoder();
    decodeAll(inPayload, [wire.subarray(0, 7)]);
    expect(() => inPayload.finish()).toThrow(TruncatedFrameError);
    expect(inPayload.state).toBe('failed');

    const inHeader = new StreamFrameDecoder();
    decodeAll(inHeader, [wire.subarray(0, 2)]);
    try {
      inHeader.finish();
      expect.unreachable();
    } catch (error) {
      expect(TruncatedFrameError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ receivedBytes: 2, expectedBytes: 4 });
    }
  });

  it('refuses a new chunk while frames of the previous one wait, and stays usable', () => {
    const decoder = new StreamFrameDecoder();
    decoder.receive(wire);
    expect(decoder.nextFrame()).toEqual(payloads[0]);
    expect(() => decoder.receive(wire)).toThrow(InvalidStateError);
    expect(() => decoder.finish()).toThrow(InvalidStateError);
    expect(decoder.state).toBe('open');
    const rest = [];
    for (let frame = decoder.nextFrame(); frame !== undefined; frame = decoder.nextFrame()) {
      rest.push(frame);
    }
    expect(rest).toEqual(payloads.slice(1));
    decoder.finish();
  });

  it('refuses input after finish()', () => {
    const decoder = new StreamFrameDecoder();
    decoder.finish();
    decoder.finish(); // idempotent
    expect(() => decoder.receive(wire)).toThrow(InvalidStateError);
    expect(decoder.nextFrame()).toBeUndefined();
  });

  it('accepts frames of exactly maxFrameLength, including a zero limit', () => {
    const exact = new StreamFrameDecoder({ maxFrameLength: 3 });
    expect(
      decodeAll(exact, [encodeStreamFrame(text.encode('abc'), { maxFrameLength: 3 })]),
    ).toEqual([text.encode('abc')]);
    const zero = new StreamFrameDecoder({ maxFrameLength: 0 });
    expect(decodeAll(zero, [header(0), header(0)])).toEqual([new Uint8Array(0), new Uint8Array(0)]);
  });
});

describe('StreamFrameDecoder properties', () => {
  const arbitraryPayload = fc.oneof(
    { weight: 8, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 200, maxLength: 3000 }) },
  );

  it('decode(encode(frames)) equals the frames under any chunking', () => {
    fc.assert(
      fc.property(fc.array(arbitraryPayload, { maxLength: 20 }), arbitraryCuts, (frames, cuts) => {
        const wire = encodeStreamFrames(frames);
        const decoder = new StreamFrameDecoder();
        expect(sameFrames(decodeAll(decoder, cutAt(wire, cuts)), frames)).toBe(true);
        decoder.finish();
      }),
    );
  });

  it('any bytes under any chunking give the reference frames or a RemoteProtocolError, within the memory bound', () => {
    // Small limits make oversize headers frequent; mixing in valid frames makes frames frequent.
    const arbitraryStream = fc
      .array(
        fc.oneof(
          fc.uint8Array({ maxLength: 24 }),
          fc
            .uint8Array({ maxLength: 40 })
            .map((payload) => encodeStreamFrame(payload, { maxFrameLength: 40 })),
          fc.nat(80).map(header),
        ),
        { maxLength: 10 },
      )
      .map(concat);

    fc.assert(
      fc.property(fc.nat(64), arbitraryStream, arbitraryCuts, (maxFrameLength, stream, cuts) => {
        const expected = referenceDecode(stream, maxFrameLength);
        const decoder = new StreamFrameDecoder({ maxFrameLength });
        const frames: Uint8Array[] = [];
        let failure: unknown;
        try {
          for (const chunk of cutAt(stream, cuts)) {
            decoder.receive(chunk);
            for (
              let frame = decoder.nextFrame();
              frame !== undefined;
              frame = decoder.nextFrame()
            ) {
              frames.push(frame.slice());
              expect(decoder.bufferedBytes).toBeLessThanOrEqual(maxFrameLength + 4);
            }
            expect(decoder.bufferedBytes).toBeLessThanOrEqual(maxFrameLength + 4);
          }
          decoder.finish();
        } catch (error) {
          failure = error;
        }
        expect(sameFrames(frames, expected.frames)).toBe(true);
        if (expected.tooLarge !== undefined) {
          expect(IncomingFrameTooLargeError.isInstance(failure)).toBe(true);
          expect(failure).toMatchObject({ length: expected.tooLarge, maxLength: maxFrameLength });
        } else if (expected.leftover > 0) {
          expect(TruncatedFrameError.isInstance(failure)).toBe(true);
        } else {
          expect(failure).toBeUndefined();
        }
        if (failure !== undefined) {
          expect(RemoteProtocolError.isInstance(failure)).toBe(true);
          expect(decoder.state).toBe('failed');
          expect(decoder.bufferedBytes).toBe(0);
          expect(() => decoder.nextFrame()).toThrow(failure);
          expect(() => decoder.receive(new Uint8Array(1))).toThrow(failure);
          expect(() => decoder.finish()).toThrow(failure);
        }
      }),
    );
  });

  it('any oversize length is rejected on its last header byte, whatever the split, with nothing allocated', () => {
    fc.assert(
      fc.property(
        fc.nat(1 << 20),
        fc.nat(0xffff_ffff),
        fc.array(fc.nat(4), { maxLength: 4 }),
        (maxFrameLength, excess, cuts) => {
          const length = Math.min(0xffff_ffff, maxFrameLength + 1 + excess);
          const decoder = new StreamFrameDecoder({ maxFrameLength });
          let fed = 0;
          for (const chunk of cutAt(header(length), cuts)) {
            if (fed === 4) break;
            decoder.receive(chunk);
            fed += chunk.length;
            if (fed < 4) {
              expect(decoder.nextFrame()).toBeUndefined();
            } else {
              expect(() => decoder.nextFrame()).toThrow(IncomingFrameTooLargeError);
            }
          }
          expect(decoder.state).toBe('failed');
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
    );
  });
});
