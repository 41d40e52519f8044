/**
 * Errors of the framing codec: stream frames, datagram frames and the connection preamble.
 *
 * @module
 */

import { LocalProtocolError, RemoteProtocolError } from './lanchat-error.js';

/**
 * A stream frame header announced a length above the decoder's `maxFrameLength`.
 *
 * Raised from the 4-byte header alone, before any of the frame is buffered. The decoder is failed
 * for good; close the connection.
 */
export class IncomingFrameTooLargeError extends RemoteProtocolError {
  static override readonly errorName: string = 'IncomingFrameTooLargeError';
  /** The length the peer announced, in bytes. */
  readonly length: number;
  /** The largest length the decoder accepts, in bytes. */
  readonly maxLength: number;

  constructor(length: number, maxLength: number) {
    super(
      `the peer announced a frame of ${length} bytes, over the limit of ${maxLength} bytes; ` +
        'the connection cannot continue',
    );
    this.length = length;
    this.maxLength = maxLength;
  }
}

/**
 * This side tried to encode a stream frame longer than its `maxFrameLength`. Nothing was encoded;
 * split the payload or raise the limit on both sides.
 */
export class OutgoingFrameTooLargeError extends LocalProtocolError {
  static override readonly errorName: string = 'OutgoingFrameTooLargeError';
  /** The payload length that was refused, in bytes. */
  readonly length: number;
  /** The largest payload length allowed, in bytes. */
  readonly maxLength: number;

  constructor(length: number, maxLength: number) {
    super(`cannot send a frame of ${length} bytes: the limit is ${maxLength} bytes`);
    this.length = length;
    this.maxLength = maxLength;
  }
}

/**
 * The stream ended in the middle of a frame (inside its header or its payload). The decoder is
 * failed for good.
 */
export class TruncatedFrameError extends RemoteProtocolError {
  static override readonly errorName: string = 'TruncatedFrameError';
  /** Bytes of the unfinished frame (header included) that had arrived. */
  readonly receivedBytes: number;
  /** Bytes the unfinished frame needed in all (header included), or 4 if its header was cut. */
  readonly expectedBytes: number;

  constructor(receivedBytes: number, expectedBytes: number) {
    super(
      `the stream ended in the middle of a frame: ${receivedBytes} of ${expectedBytes} bytes arrived`,
    );
    this.receivedBytes = receivedBytes;
    this.expectedBytes = expectedBytes;
  }
}

/**
 * A datagram was longer than the datagram decoder's `maxDatagramLength`. Only that datagram is
 * refused: datagram decoding keeps no state, so drop it, count it and carry on.
 */
export class IncomingDatagramTooLargeError extends RemoteProtocolError {
  static override readonly errorName: string = 'IncomingDatagramTooLargeError';
  /** The length of the refused datagram, in bytes. */
  readonly length: number;
  /** The largest datagram accepted, in bytes. */
  readonly maxLength: number;

  constructor(length: number, maxLength: number) {
    super(`received a datagram of ${length} bytes, over the limit of ${maxLength} bytes`);
    this.length = length;
    this.maxLength = maxLength;
  }
}

/**
 * This side tried to encode a datagram longer than its `maxDatagramLength`. Nothing was encoded.
 */
export class OutgoingDatagramTooLargeError extends LocalProtocolError {
  static override readonly errorName: string = 'OutgoingDatagramTooLargeError';
  /** The datagram length that was refused (header included), in bytes. */
  readonly length: number;
  /** The largest datagram allowed (header included), in bytes. */
  readonly maxLength: number;

  constructor(length: number, maxLength: number) {
    super(`cannot send a datagram of ${length} bytes: the limit is ${maxLength} bytes`);
    this.length = length;
    this.maxLength = maxLength;
  }
}

/** Why a datagram was found malformed. */
export type MalformedDatagramReason = 'too-short' | 'unknown-type';

/**
 * A datagram was not a well-formed lanchat datagram frame: shorter than its header, or of frame
 * type 0. Only that datagram is refused: drop it, count it and carry on. (A datagram whose magic
 * bytes are wrong raises {@link NotLanchatError}; one of another major version raises
 * {@link UnsupportedVersionError}.)
 */
export class MalformedDatagramError extends RemoteProtocolError {
  static override readonly errorName: string = 'MalformedDatagramError';
  /** What was wrong with it. */
  readonly reason: MalformedDatagramReason;

  constructor(reason: MalformedDatagramReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** What the bytes of a stranger look like, as far as lanchat can tell. */
export type StrangerGuess = 'http' | 'tls' | 'ssh' | 'unknown';

/**
 * The peer is not speaking lanchat: the first bytes it sent are not lanchat's magic bytes. The
 * message says what it looks like instead (an HTTP request, a TLS handshake, SSH) and shows the
 * first 16 bytes that arrived.
 *
 * From a `PreambleDecoder`: the decoder is failed for good; close the connection. From
 * `decodeDatagramFrame`: only that datagram is refused; drop it and carry on.
 */
export class NotLanchatError extends RemoteProtocolError {
  static override readonly errorName: string = 'NotLanchatError';
  /** The first bytes received (at most 16), for diagnostics. The message shows them too. */
  readonly received: Uint8Array;
  /** What the bytes look like. */
  readonly looksLike: StrangerGuess;

  constructor(received: Uint8Array, looksLike: StrangerGuess, context = 'the peer') {
    const what =
      looksLike === 'http'
        ? 'it sent an HTTP request'
        : looksLike === 'tls'
          ? 'it started a TLS handshake'
          : looksLike === 'ssh'
            ? 'it speaks SSH'
            : 'its first bytes are not lanchat magic bytes';
    super(`${context} is not speaking lanchat: ${what} (received ${describeBytes(received)})`);
    this.received = received.slice(0, 16);
    this.looksLike = looksLike;
  }
}

/** A protocol version, major and minor. */
export interface ProtocolVersion {
  readonly major: number;
  readonly minor: number;
}

/**
 * The peer speaks a version of the lanchat protocol this side cannot talk to (another major
 * version). The decoder is failed for good; close the connection.
 */
export class UnsupportedVersionError extends RemoteProtocolError {
  static override readonly errorName: string = 'UnsupportedVersionError';
  /** The version this side speaks. */
  readonly localVersion: ProtocolVersion;
  /** The version the peer announced. */
  readonly remoteVersion: ProtocolVersion;

  constructor(localVersion: ProtocolVersion, remoteVersion: ProtocolVersion) {
    super(
      `the peer speaks lanchat protocol ${remoteVersion.major}.${remoteVersion.minor}, ` +
        `which is incompatible with ${localVersion.major}.${localVersion.minor} spoken here; ` +
        (remoteVersion.major > localVersion.major
          ? 'update this side'
          : 'the peer needs an update'),
    );
    this.localVersion = localVersion;
    this.remoteVersion = remoteVersion;
  }
}

/**
 * Renders bytes for an error message: as quoted text when they are printable ASCII (with \r, \n
 * and \t escaped), otherwise as hex. Never more than 16 bytes.
 */
function describeBytes(bytes: Uint8Array): string {
  const shown = bytes.subarray(0, 16);
  const more = bytes.length > shown.length ? '...' : '';
  let printable = shown.length > 0;
  for (const byte of shown) {
    if ((byte < 0x20 || byte > 0x7e) && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) {
      printable = false;
      break;
    }
  }
  if (printable) {
    let text = '';
    for (const byte of shown) {
      text +=
        byte === 0x0a
          ? '\\n'
          : byte === 0x0d
            ? '\\r'
            : byte === 0x09
              ? '\\t'
              : String.fromCharCode(byte);
    }
    return `"${text}"${more}`;
  }
  let hex = '';
  for (const byte of shown) hex += byte.toString(16).padStart(2, '0') + ' ';
  return `hex ${hex.trimEnd()}${more}`;
}
