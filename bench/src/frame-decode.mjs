// @ts-check
/**
 * Frame-decode benchmark: decode throughput of lanchat's StreamFrameDecoder against
 * it-length-prefixed and against a minimal hand-written 4-byte-length decoder (the limit), on the
 * same byte stream cut into the same chunks, in one run.
 *
 * @module
 */

import { StreamFrameDecoder } from '@lanchat/core';
import { decode as lengthPrefixedDecode } from 'it-length-prefixed';
import {
  collectGarbage,
  formatRate,
  formatTable,
  median,
  mulberry32,
  printToStdout,
  roundSignificant,
  roundTo,
  timeOnce,
} from './lib.mjs';

/** @typedef {import('uint8arraylist').Uint8ArrayList} Uint8ArrayList */
/** @typedef {import('it-length-prefixed').DecoderOptions} LengthPrefixedOptions */
/** @typedef {import('it-length-prefixed').LengthDecoderFunction} LengthDecoderFunction */

/**
 * What a decoder saw: enough to prove it decoded the stream right, and to keep the JIT from
 * optimising the frame loop away.
 *
 * @typedef {{ frames: number, bytes: number, checksum: number }} Tally
 */

/**
 * @typedef {object} Decoder
 * @property {string} key name in the JSON result
 * @property {string} label name in the human-readable table
 * @property {(chunks: readonly Uint8Array[]) => Tally | Promise<Tally>} decode
 */

/**
 * @typedef {object} CaseSpec
 * @property {'a' | 'b'} name
 * @property {number} frameCount
 * @property {number} frameBytes
 * @property {{ vsItLengthPrefixed?: number, vsLimit?: number }} targets lanchat's minimum speed
 *   as a multiple of the named decoder's
 */

/** @typedef {{ chunks: Uint8Array[], streamBytes: number, expected: Tally }} Input */

const SEED = 0x2f6a91c3;
const ROUNDS = 5;
const HEADER_BYTES = 4;
const MAX_CHUNK_BYTES = 65_536;
// Case (b) carries 65536-byte payloads, one more than lanchat's default limit. it-length-prefixed
// gets the same cap so that it checks no less than ours; the minimal limit checks none.
const MAX_FRAME_BYTES = 65_536;
// A prime period, so that the first and last byte of consecutive frames differ and a decoder that
// slips by a byte, or returns the wrong frame, fails the checksum.
const PATTERN_PERIOD = 251;

/** @type {readonly CaseSpec[]} */
const CASES = [
  {
    name: 'a',
    frameCount: 1_000_000,
    frameBytes: 64,
    targets: { vsItLengthPrefixed: 5, vsLimit: 0.8 },
  },
  { name: 'b', frameCount: 20_000, frameBytes: 65_536, targets: { vsLimit: 0.8 } },
];

/**
 * @param {Uint8Array} frame
 * @returns {number}
 */
function firstPlusLast(frame) {
  const length = frame.length;
  if (length === 0) return 0;
  const first = /** @type {number} */ (frame[0]);
  const last = /** @type {number} */ (frame[length - 1]);
  return first + last;
}

/**
 * @param {Uint8Array} bytes
 * @param {number} offset
 * @returns {number}
 */
function readUint32BE(bytes, offset) {
  const b0 = /** @type {number} */ (bytes[offset]);
  const b1 = /** @type {number} */ (bytes[offset + 1]);
  const b2 = /** @type {number} */ (bytes[offset + 2]);
  const b3 = /** @type {number} */ (bytes[offset + 3]);
  return ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
}

/**
 * Builds the whole stream once, as one buffer, and cuts it into chunks that are views of it: no
 * decoder pays for input allocation, and all decoders read the very same bytes.
 *
 * @param {CaseSpec} spec
 * @returns {Input}
 */
function buildInput(spec) {
  const { frameCount, frameBytes } = spec;
  const pattern = new Uint8Array(PATTERN_PERIOD + frameBytes);
  for (let k = 0; k < pattern.length; k++) pattern[k] = (k * 167 + 13) & 0xff;

  const streamBytes = frameCount * (HEADER_BYTES + frameBytes);
  const stream = new Uint8Array(streamBytes);
  let checksum = 0;
  let offset = 0;
  for (let i = 0; i < frameCount; i++) {
    const start = i % PATTERN_PERIOD;
    const payload = pattern.subarray(start, start + frameBytes);
    // Written here rather than with @lanchat/core's encoder so that a bug shared by its encoder and
    // decoder cannot cancel out.
    stream[offset] = frameBytes >>> 24;
    stream[offset + 1] = (frameBytes >>> 16) & 0xff;
    stream[offset + 2] = (frameBytes >>> 8) & 0xff;
    stream[offset + 3] = frameBytes & 0xff;
    stream.set(payload, offset + HEADER_BYTES);
    checksum += firstPlusLast(payload);
    offset += HEADER_BYTES + frameBytes;
  }

  const nextRandom = mulberry32(SEED);
  /** @type {Uint8Array[]} */
  const chunks = [];
  for (let at = 0; at < streamBytes;) {
    // The top 16 bits of the draw are uniform in 0..65535.
    const size = 1 + (nextRandom() >>> 16);
    chunks.push(stream.subarray(at, Math.min(at + size, streamBytes)));
    at += size;
  }
  return {
    chunks,
    streamBytes,
    expected: { frames: frameCount, bytes: frameCount * frameBytes, checksum },
  };
}

/**
 * Ours, used the way its documentation shows: receive a chunk, drain it, repeat.
 *
 * @param {readonly Uint8Array[]} chunks
 * @returns {Tally}
 */
function decodeWithLanchat(chunks) {
  const decoder = new StreamFrameDecoder({ maxFrameLength: MAX_FRAME_BYTES });
  let frames = 0;
  let bytes = 0;
  let checksum = 0;
  for (const chunk of chunks) {
    decoder.receive(chunk);
    for (let frame = decoder.nextFrame(); frame !== undefined; frame = decoder.nextFrame()) {
      frames++;
      bytes += frame.length;
      checksum += firstPlusLast(frame);
    }
  }
  decoder.finish();
  return { frames, bytes, checksum };
}

/**
 * The limit: what anyone would write in a few minutes, with no length cap, no error states and no
 * API around it. It re-copies the unfinished tail together with each new chunk, which is cheap for
 * small frames but copies large frames more than once.
 *
 * @param {readonly Uint8Array[]} chunks
 * @returns {Tally}
 */
function decodeWithLimit(chunks) {
  let frames = 0;
  let bytes = 0;
  let checksum = 0;
  /** @type {Uint8Array} */
  let leftover = new Uint8Array(0);
  for (const chunk of chunks) {
    let buffer = chunk;
    if (leftover.length > 0) {
      buffer = new Uint8Array(leftover.length + chunk.length);
      buffer.set(leftover, 0);
      buffer.set(chunk, leftover.length);
    }
    let offset = 0;
    while (buffer.length - offset >= HEADER_BYTES) {
      const end = offset + HEADER_BYTES + readUint32BE(buffer, offset);
      if (end > buffer.length) break;
      const frame = buffer.subarray(offset + HEADER_BYTES, end);
      frames++;
      bytes += frame.length;
      checksum += firstPlusLast(frame);
      offset = end;
    }
    leftover = buffer.subarray(offset);
  }
  if (leftover.length > 0) throw new Error('limit decoder: the stream ended inside a frame');
  return { frames, bytes, checksum };
}

/**
 * it-length-prefixed reads varint lengths by default; this makes it read our 4-byte big-endian
 * header instead, so that it decodes the identical stream. It takes a RangeError to mean "not
 * enough bytes yet" and waits for the next chunk.
 *
 * @type {LengthDecoderFunction}
 */
const readLengthForLengthPrefixed = Object.assign(
  /** @param {Uint8ArrayList} list */
  (list) => {
    if (list.byteLength < HEADER_BYTES) throw new RangeError('length header incomplete');
    // Four get() calls measured faster here than list.getUint32(), which allocates a view and a
    // DataView per call: the peer gets the quicker of its own two accessors.
    return ((list.get(0) << 24) | (list.get(1) << 16) | (list.get(2) << 8) | list.get(3)) >>> 0;
  },
  { bytes: HEADER_BYTES },
);

/** @type {LengthPrefixedOptions} */
const LENGTH_PREFIXED_OPTIONS = {
  lengthDecoder: readLengthForLengthPrefixed,
  maxDataLength: MAX_FRAME_BYTES,
};

/**
 * Its frames are Uint8ArrayLists, possibly spanning chunks; reading two bytes through its own
 * accessor is the cheapest way to look at them and needs no copy.
 *
 * @param {Uint8ArrayList} frame
 * @returns {number}
 */
function firstPlusLastOfList(frame) {
  const length = frame.byteLength;
  return length === 0 ? 0 : frame.get(0) + frame.get(length - 1);
}

/**
 * @param {readonly Uint8Array[]} chunks
 * @returns {AsyncGenerator<Uint8Array, void, undefined>}
 */
async function* asAsyncSource(chunks) {
  for (const chunk of chunks) yield chunk;
}

/**
 * it-length-prefixed as it is normally used: an async iterable of chunks in, an async iterable of
 * frames out.
 *
 * @param {readonly Uint8Array[]} chunks
 * @returns {Promise<Tally>}
 */
async function decodeWithLengthPrefixed(chunks) {
  let frames = 0;
  let bytes = 0;
  let checksum = 0;
  for await (const frame of lengthPrefixedDecode(asAsyncSource(chunks), LENGTH_PREFIXED_OPTIONS)) {
    frames++;
    bytes += frame.byteLength;
    checksum += firstPlusLastOfList(frame);
  }
  return { frames, bytes, checksum };
}

/**
 * it-length-prefixed given a plain array, which makes it return a sync generator: its parsing
 * cost without the promise per frame. Shown for transparency; no target is set against it.
 *
 * @param {readonly Uint8Array[]} chunks
 * @returns {Tally}
 */
function decodeWithLengthPrefixedSync(chunks) {
  let frames = 0;
  let bytes = 0;
  let checksum = 0;
  for (const frame of lengthPrefixedDecode(chunks, LENGTH_PREFIXED_OPTIONS)) {
    frames++;
    bytes += frame.byteLength;
    checksum += firstPlusLastOfList(frame);
  }
  return { frames, bytes, checksum };
}

/** @type {readonly Decoder[]} */
const DECODERS = [
  { key: 'lanchat', label: 'lanchat StreamFrameDecoder', decode: decodeWithLanchat },
  { key: 'limit', label: 'limit (hand-written)', decode: decodeWithLimit },
  {
    key: 'itLengthPrefixed',
    label: 'it-length-prefixed (async)',
    decode: decodeWithLengthPrefixed,
  },
  {
    key: 'itLengthPrefixedSync',
    label: 'it-length-prefixed (sync, extra)',
    decode: decodeWithLengthPrefixedSync,
  },
];

/**
 * @param {Decoder} decoder
 * @param {CaseSpec} spec
 * @param {Tally} actual
 * @param {Tally} expected
 */
function verify(decoder, spec, actual, expected) {
  if (
    actual.frames !== expected.frames ||
    actual.bytes !== expected.bytes ||
    actual.checksum !== expected.checksum
  ) {
    throw new Error(
      `${decoder.label} decoded case (${spec.name}) WRONGLY: got ${JSON.stringify(actual)}, ` +
        `expected ${JSON.stringify(expected)}`,
    );
  }
}

/**
 * @param {CaseSpec} spec
 * @param {(line: string) => void} print
 */
async function runCase(spec, print) {
  const input = buildInput(spec);
  const { chunks, expected } = input;
  print(
    `case (${spec.name}): ${spec.frameCount.toLocaleString('en-US')} frames of ` +
      `${spec.frameBytes.toLocaleString('en-US')} B, ${(input.streamBytes / 1e6).toFixed(1)} MB ` +
      `stream in ${chunks.length.toLocaleString('en-US')} chunks of 1..${MAX_CHUNK_BYTES} B`,
  );

  // One unmeasured pass each, so that every decoder is compiled and optimised for this input shape
  // before its clock starts; it is checked like any other.
  for (const decoder of DECODERS) {
    const { result } = await timeOnce(() => decoder.decode(chunks));
    verify(decoder, spec, result, expected);
  }

  // Interleaved rounds: a slow moment of the machine hits every decoder alike instead of one.
  /** @type {Map<string, number[]>} */
  const milliseconds = new Map(DECODERS.map((decoder) => [decoder.key, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const decoder of DECODERS) {
      const timed = await timeOnce(() => decoder.decode(chunks));
      verify(decoder, spec, timed.result, expected);
      milliseconds.get(decoder.key)?.push(timed.milliseconds);
    }
  }

  /** @type {Map<string, number>} */
  const medianSeconds = new Map();
  for (const decoder of DECODERS) {
    medianSeconds.set(decoder.key, median(milliseconds.get(decoder.key) ?? []) / 1000);
  }
  /** @param {string} key */
  const secondsOf = (key) => medianSeconds.get(key) ?? NaN;
  // Every decoder decodes the same frames, so a ratio of rates is the inverse ratio of times.
  /** @param {string} key */
  const lanchatVs = (key) => secondsOf(key) / secondsOf('lanchat');

  /** @type {Record<string, { framesPerSecond: number, megabytesPerSecond: number, medianMilliseconds: number, roundMilliseconds: number[] }>} */
  const decoders = {};
  const rows = [['decoder', 'frames/s', 'MB/s', 'median ms', 'lanchat / this']];
  for (const decoder of DECODERS) {
    const seconds = secondsOf(decoder.key);
    const framesPerSecond = spec.frameCount / seconds;
    const megabytesPerSecond = expected.bytes / 1e6 / seconds;
    decoders[decoder.key] = {
      framesPerSecond: roundSignificant(framesPerSecond, 3),
      megabytesPerSecond: roundSignificant(megabytesPerSecond, 3),
      medianMilliseconds: roundTo(seconds * 1000, 1),
      roundMilliseconds: (milliseconds.get(decoder.key) ?? []).map((ms) => roundTo(ms, 1)),
    };
    rows.push([
      decoder.label,
      formatRate(framesPerSecond),
      megabytesPerSecond.toFixed(1),
      (seconds * 1000).toFixed(1),
      `${lanchatVs(decoder.key).toFixed(2)}x`,
    ]);
  }
  const ratios = {
    lanchatVsItLengthPrefixed: roundTo(lanchatVs('itLengthPrefixed'), 2),
    lanchatVsLimit: roundTo(lanchatVs('limit'), 2),
    lanchatVsItLengthPrefixedSync: roundTo(lanchatVs('itLengthPrefixedSync'), 2),
  };
  for (const line of formatTable(rows)) print(`  ${line}`);

  /** @type {Record<string, { target: number, actual: number, met: boolean }>} */
  const targets = {};
  /** @type {[keyof CaseSpec['targets'], string, string][]} */
  const targetNames = [
    ['vsItLengthPrefixed', 'itLengthPrefixed', 'it-length-prefixed (async)'],
    ['vsLimit', 'limit', 'the hand-written limit'],
  ];
  for (const [name, key, label] of targetNames) {
    const target = spec.targets[name];
    if (target === undefined) continue;
    const actual = lanchatVs(key);
    const met = actual >= target;
    targets[name] = { target, actual: roundTo(actual, 2), met };
    print(
      `  target: lanchat >= ${target}x ${label}: ${actual.toFixed(2)}x, ` +
        (met ? 'met' : 'NOT MET'),
    );
  }

  return {
    frames: spec.frameCount,
    frameBytes: spec.frameBytes,
    streamBytes: input.streamBytes,
    chunks: chunks.length,
    decoders,
    ratios,
    targets,
  };
}

/**
 * Runs both cases, prints the human-readable report line by line, and returns the result for the
 * final JSON line.
 *
 * @param {(line: string) => void} [print]
 */
export async function runFrameDecode(print = printToStdout) {
  print(
    `frame-decode: seed ${SEED}, ${ROUNDS} measured rounds per decoder after 1 warm-up, ` +
      `interleaved, median reported; MB = 1e6 payload bytes`,
  );
  print(
    'note: it-length-prefixed yields Uint8ArrayList views that may span chunks and are never ' +
      'copied; lanchat and the limit yield contiguous Uint8Arrays, copying frames that span chunks',
  );
  /** @type {Record<string, Awaited<ReturnType<typeof runCase>>>} */
  const cases = {};
  for (const spec of CASES) {
    // The previous case's stream (up to 1.3 GB) must be gone before the next one is built.
    collectGarbage();
    cases[spec.name] = await runCase(spec, print);
  }
  return {
    benchmark: 'frame-decode',
    seed: SEED,
    rounds: ROUNDS,
    warmupRounds: 1,
    maxChunkBytes: MAX_CHUNK_BYTES,
    cases,
  };
}
