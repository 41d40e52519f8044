/**
 * The connection preamble: the first bytes each side of a lanchat stream sends.
 *
 * Ten bytes: the magic `89 4C 41 4E 43 48 41 54` (0x89 then "LANCHAT") and the protocol version,
 * major then minor, one byte each. The first byte has its high bit set so that no text protocol
 * (HTTP, SMTP, a person typing into `nc`) and no TLS or SSH client can start the same way; a
 * stranger is recognised at its first byte.
 *
 * @module
 */

import { InvalidArgumentError, InvalidStateError } from '../errors/lanchat-error.js';
import {
  NotLanchatError,
  type ProtocolVersion,
  type StrangerGuess,
  UnsupportedVersionError,
} from '../errors/frame-errors.js';

/** The eight magic bytes that open every lanchat stream: 0x89 then ASCII "LANCHAT". */
export const PREAMBLE_MAGIC: Uint8Array = Uint8Array.of(
  0x89,
  0x4c,
  0x41,
  0x4e,
  0x43,
  0x48,
  0x41,
  0x54,
);

/** Bytes in a preamble: the magic and two version bytes. */
export const PREAMBLE_LENGTH = 10;

/**
 * The protocol version this release speaks. Peers of the same major version can talk; the minor
 * version names additions a peer may or may not support, settled by capabilities in the handshake.
 */
export const PROTOCOL_VERSION: ProtocolVersion = Object.freeze({ major: 1, minor: 0 });

function checkVersion(version: ProtocolVersion): void {
  for (const part of [version.major, version.minor]) {
    if (!Number.isInteger(part) || part < 0 || part > 255) {
      throw new InvalidArgumentError(
        `a protocol version is two integers from 0 to 255, got ${version.major}.${version.minor}`,
      );
    }
  }
}

/**
 * Encodes the preamble announcing `version` (default {@link PROTOCOL_VERSION}).
 *
 * @throws {@link InvalidArgumentError} if a version part is not an integer from 0 to 255.
 */
export function encodePreamble(version: ProtocolVersion = PROTOCOL_VERSION): Uint8Array {
  checkVersion(version);
  const preamble = new Uint8Array(PREAMBLE_LENGTH);
  preamble.set(PREAMBLE_MAGIC, 0);
  preamble[8] = version.major;
  preamble[9] = version.minor;
  return preamble;
}

/** The outcome of a complete, accepted preamble. */
export interface PreambleAccepted {
  /** The version the peer announced; its major version equals ours. */
  readonly remoteVersion: ProtocolVersion;
  /**
   * The bytes of the chunk that came after the preamble (a view, possibly empty): the start of the
   * frame stream, to hand to the frame decoder.
   */
  readonly rest: Uint8Array;
}

const HTTP_METHODS = [
  'GET ',
  'HEAD',
  'POST',
  'PUT ',
  'DELE',
  'OPTI',
  'PATC',
  'CONN',
  'TRAC',
  'PRI ',
];

/** Guesses what a stranger speaks from its first bytes, to make the error message helpful. */
export function guessStranger(bytes: Uint8Array): StrangerGuess {
  if (bytes.length >= 2 && bytes[0] === 0x16 && bytes[1] === 0x03) return 'tls';
  let start = '';
  for (const byte of bytes.subarray(0, 4)) start += String.fromCharCode(byte);
  if (start === 'SSH-') return 'ssh';
  if (HTTP_METHODS.includes(start) || start === 'HTTP') return 'http';
  return 'unknown';
}

/**
 * Reads the peer's preamble from the first chunks of a stream, incrementally.
 *
 * Call {@link PreambleDecoder.receive} with each chunk until it returns the accepted preamble.
 * A stranger is refused at the first byte that differs from the magic, without waiting for ten
 * bytes (a client that sends one line and waits for an answer gets its error at once).
 */
export class PreambleDecoder {
  /** The version this side speaks. */
  readonly localVersion: ProtocolVersion;
  readonly #received = new Uint8Array(PREAMBLE_LENGTH);
  #filled = 0;
  #accepted = false;
  #error: Error | undefined = undefined;

  /**
   * @param localVersion the version spoken here, default {@link PROTOCOL_VERSION}.
   * @throws {@link InvalidArgumentError} if a version part is not an integer from 0 to 255.
   */
  constructor(localVersion: ProtocolVersion = PROTOCOL_VERSION) {
    checkVersion(localVersion);
    this.localVersion = localVersion;
  }

  /**
   * Feeds the next chunk. Returns `undefined` while the preamble is incomplete, then the accepted
   * preamble with the rest of the chunk.
   *
   * @throws {@link NotLanchatError} at the first byte that is not lanchat's magic.
   * @throws {@link UnsupportedVersionError} if the peer's major version differs from ours.
   * @throws {@link InvalidStateError} if called again after the preamble was accepted.
   * After either protocol error the decoder is failed and throws it again on every call.
   */
  receive(chunk: Uint8Array): PreambleAccepted | undefined {
    if (this.#error !== undefined) throw this.#error;
    if (this.#accepted) {
      throw new InvalidStateError('the preamble was already accepted; feed the frame decoder now');
    }
    let offset = 0;
    while (this.#filled < PREAMBLE_LENGTH && offset < chunk.length) {
      const byte = chunk[offset]!;
      if (this.#filled < PREAMBLE_MAGIC.length && byte !== PREAMBLE_MAGIC[this.#filled]) {
        // Show what arrived so far, this chunk included, to say what the stranger looks like
        // (one byte more than the error shows, so that it can tell there was more).
        const seen = new Uint8Array(Math.min(17, this.#filled + chunk.length - offset));
        seen.set(this.#received.subarray(0, Math.min(this.#filled, seen.length)), 0);
        if (this.#filled < seen.length) {
          seen.set(chunk.subarray(offset, offset + seen.length - this.#filled), this.#filled);
        }
        this.#error = new NotLanchatError(seen, guessStranger(seen));
        throw this.#error;
      }
      this.#received[this.#filled++] = byte;
      offset++;
    }
    if (this.#filled < PREAMBLE_LENGTH) return undefined;
    const remoteVersion: ProtocolVersion = Object.freeze({
      major: this.#received[8]!,
      minor: this.#received[9]!,
    });
    if (remoteVersion.major !== this.localVersion.major) {
      this.#error = new UnsupportedVersionError(this.localVersion, remoteVersion);
      throw this.#error;
    }
    this.#accepted = true;
    return { remoteVersion, rest: chunk.subarray(offset) };
  }
}
