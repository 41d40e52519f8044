import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { caught } from '../../test/caught.js';
import { byteByByte, sameFrames } from '../../test/chunking.js';
import { decodeDatagramFrame, encodeDatagramFrame } from './datagram-frame.js';
import { PreambleDecoder, encodePreamble } from './preamble.js';
import { StreamFrameDecoder, encodeStreamFrames } from './stream-frame.js';

interface Vectors {
  preamble: {
    valid: { description: string; version: { major: number; minor: number }; hex: string }[];
    refused: { description: string; hex: string; error: string; looksLike?: string }[];
  };
  streamFrames: {
    valid: { description: string; maxFrameLength: number; payloads: string[]; hex: string }[];
    refused: {
      description: string;
      maxFrameLength: number;
      hex: string;
      framesBefore: string[];
      error: string;
    }[];
  };
  datagramFrames: {
    valid: { description: string; type: number; body: string; hex: string }[];
    refused: { description: string; hex: string; error: string; reason?: string }[];
  };
}

const vectors = JSON.parse(
  readFileSync(new URL('../../test/vectors/framing.json', import.meta.url), 'utf8'),
) as Vectors;
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));

/** Decodes a whole stream, fed as one chunk or byte by byte; returns the frames and the error. */
function decodeStream(wire: Uint8Array, maxFrameLength: number, oneByteAtATime: boolean) {
  const decoder = new StreamFrameDecoder({ maxFrameLength });
  const frames: Uint8Array[] = [];
  const error = caught(() => {
    for (const chunk of oneByteAtATime ? byteByByte(wire) : [wire]) {
      decoder.receive(chunk);
      for (let frame = decoder.nextFrame(); frame !== undefined; frame = decoder.nextFrame()) {
        frames.push(frame.slice());
      }
    }
    decoder.finish();
  });
  return { frames, error };
}

describe('framing test vectors (test/vectors/framing.json)', () => {
  it.each(vectors.preamble.valid)('preamble: $description', ({ version, hex }) => {
    expect(Buffer.from(encodePreamble(version)).toString('hex')).toBe(hex);
    expect(new PreambleDecoder().receive(bytes(hex))?.remoteVersion).toEqual(version);
  });

  it.each(vectors.preamble.refused)(
    'preamble refused: $description',
    ({ hex, error, looksLike }) => {
      const refused = caught(() => new PreambleDecoder().receive(bytes(hex)));
      expect(refused).toMatchObject({ name: error });
      if (looksLike !== undefined) expect(refused).toMatchObject({ looksLike });
    },
  );

  it.each(vectors.streamFrames.valid)(
    'stream frames: $description',
    ({ maxFrameLength, payloads, hex }) => {
      const expected = payloads.map(bytes);
      expect(Buffer.from(encodeStreamFrames(expected, { maxFrameLength })).toString('hex')).toBe(
        hex,
      );
      for (const oneByteAtATime of [false, true]) {
        const { frames, error } = decodeStream(bytes(hex), maxFrameLength, oneByteAtATime);
        expect(error).toBeUndefined();
        expect(sameFrames(frames, expected)).toBe(true);
      }
    },
  );

  it.each(vectors.streamFrames.refused)(
    'stream frames refused: $description',
    ({ maxFrameLength, hex, framesBefore, error }) => {
      for (const oneByteAtATime of [false, true]) {
        const result = decodeStream(bytes(hex), maxFrameLength, oneByteAtATime);
        expect(result.error).toMatchObject({ name: error });
        expect(sameFrames(result.frames, framesBefore.map(bytes))).toBe(true);
      }
    },
  );

  it.each(vectors.datagramFrames.valid)('datagram: $description', ({ type, body, hex }) => {
    expect(Buffer.from(encodeDatagramFrame({ type, body: bytes(body) })).toString('hex')).toBe(hex);
    const frame = decodeDatagramFrame(bytes(hex));
    expect(frame.type).toBe(type);
    expect(Buffer.from(frame.body).toString('hex')).toBe(body);
  });

  it.each(vectors.datagramFrames.refused)(
    'datagram refused: $description',
    ({ hex, error, reason }) => {
      const refused = caught(() => decodeDatagramFrame(bytes(hex)));
      expect(refused).toMatchObject({ name: error });
      if (reason !== undefined) expect(refused).toMatchObject({ reason });
    },
  );
});
