/**
 * Datagram frames: one frame per datagram (UDP), for transports that keep message boundaries.
 *
 * A datagram frame is a 4-byte header and a body that runs to the end of the datagram: two magic
 * bytes `4C 43` ("LC"), the protocol's major version, and a frame type (1 to 255; 0 is never
 * valid). There is no length field, the datagram's own length is the frame's. There is no preamble
 * in datagram mode, so every datagram carries the magic and major version: a stray or foreign
 * datagram is recognised and dropped on its own. Frame types and bodies are defined by the
 * datagram transport (docs/protocol.md).
 *
 * Datagram decoding keeps no state: a bad datagram is refused alone, and the next one is judged
 * afresh.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors/lanchat-error.js';
import {
  IncomingDatagramTooLargeError,
  MalformedDatagramError,
  NotLanchatError,
  OutgoingDatagramTooLargeError,
  UnsupportedVersionError,
} from '../errors/frame-errors.js';
import { DATAGRAM_LENGTH_CEILING, DEFAULT_MAX_DATAGRAM_LENGTH, checkLimit } from './limits.js';
import { PROTOCOL_VERSION, guessStranger } from './preamble.js';

/** Bytes in a datagram frame header: magic (2), major version (1), frame type (1). */
export const DATAGRAM_HEADER_LENGTH = 4;

/** The two magic bytes that open every lanchat datagram: ASCII "LC". */
export const DATAGRAM_MAGIC: Uint8Array = Uint8Array.of(0x4c, 0x43);

/** Options of the datagram frame functions. */
export interface DatagramFrameOptions {
  /**
   * Largest datagram, header included, in bytes. Default {@link DEFAULT_MAX_DATAGRAM_LENGTH}
   * (1200); from 4 to 65507.
   */
  readonly maxDatagramLength?: number;
  /** The major protocol version spoken here, default that of {@link PROTOCOL_VERSION}. */
  readonly majorVersion?: number;
}

/** A decoded datagram frame. */
export interface DatagramFrame {
  /** The frame type, 1 to 255. */
  readonly type: number;
  /** The body: a view of the datagram after the header, possibly empty. */
  readonly body: Uint8Array;
}

function maxDatagramLengthOf(options: DatagramFrameOptions | undefined): number {
  return checkLimit(
    'maxDatagramLength',
    options?.maxDatagramLength,
    DEFAULT_MAX_DATAGRAM_LENGTH,
    DATAGRAM_HEADER_LENGTH,
    DATAGRAM_LENGTH_CEILING,
  );
}

function majorVersionOf(options: DatagramFrameOptions | undefined): number {
  return checkLimit('majorVersion', options?.majorVersion, PROTOCOL_VERSION.major, 0, 255);
}

/**
 * Encodes a datagram frame into a new buffer.
 *
 * @throws {@link OutgoingDatagramTooLargeError} if header and body exceed `maxDatagramLength`;
 * nothing is encoded.
 * @throws {@link InvalidArgumentError} if `type` is not an integer from 1 to 255, or an option is
 * out of range.
 */
export function encodeDatagramFrame(
  frame: DatagramFrame,
  options?: DatagramFrameOptions,
): Uint8Array {
  const maxDatagramLength = maxDatagramLengthOf(options);
  const majorVersion = majorVersionOf(options);
  if (!Number.isInteger(frame.type) || frame.type < 1 || frame.type > 255) {
    throw new InvalidArgumentError(
      `a datagram frame type is an integer from 1 to 255, got ${frame.type}`,
    );
  }
  const length = DATAGRAM_HEADER_LENGTH + frame.body.length;
  if (length > maxDatagramLength) {
    throw new OutgoingDatagramTooLargeError(length, maxDatagramLength);
  }
  const datagram = new Uint8Array(length);
  datagram.set(DATAGRAM_MAGIC, 0);
  datagram[2] = majorVersion;
  datagram[3] = frame.type;
  datagram.set(frame.body, DATAGRAM_HEADER_LENGTH);
  return datagram;
}

/**
 * Decodes one datagram. The body is a view of `datagram`, not a copy.
 *
 * Every error refuses this datagram only: drop it, count it, carry on.
 *
 * @throws {@link IncomingDatagramTooLargeError} if it is over `maxDatagramLength`.
 * @throws {@link NotLanchatError} if it does not start with lanchat's datagram magic.
 * @throws {@link UnsupportedVersionError} if its major version is not ours.
 * @throws {@link MalformedDatagramError} if it is shorter than a header or of type 0.
 * @throws {@link InvalidArgumentError} if an option is out of range.
 */
export function decodeDatagramFrame(
  datagram: Uint8Array,
  options?: DatagramFrameOptions,
): DatagramFrame {
  const maxDatagramLength = maxDatagramLengthOf(options);
  const majorVersion = majorVersionOf(options);
  if (datagram.length > maxDatagramLength) {
    throw new IncomingDatagramTooLargeError(datagram.length, maxDatagramLength);
  }
  const magicSeen = Math.min(datagram.length, DATAGRAM_MAGIC.length);
  for (let index = 0; index < magicSeen; index++) {
    if (datagram[index] !== DATAGRAM_MAGIC[index]) {
      const start = datagram.subarray(0, 17);
      throw new NotLanchatError(start, guessStranger(start), 'the datagram sender');
    }
  }
  if (datagram.length < DATAGRAM_HEADER_LENGTH) {
    throw new MalformedDatagramError(
      'too-short',
      `received a datagram of ${datagram.length} bytes, shorter than the ` +
        `${DATAGRAM_HEADER_LENGTH}-byte lanchat datagram header`,
    );
  }
  const remoteMajor = datagram[2]!;
  if (remoteMajor !== majorVersion) {
    throw new UnsupportedVersionError(
      { major: majorVersion, minor: 0 },
      { major: remoteMajor, minor: 0 },
    );
  }
  const type = datagram[3]!;
  if (type === 0) {
    throw new MalformedDatagramError('unknown-type', 'received a datagram of frame type 0');
  }
  return { type, body: datagram.subarray(DATAGRAM_HEADER_LENGTH) };
}
