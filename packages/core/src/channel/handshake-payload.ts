/**
 * The payload lanchat puts in a side's first handshake message: its protocol version and its
 * capabilities (docs/protocol.md, "Handshake payload").
 *
 * @module
 */

import { MalformedHandshakeError } from '../errors/noise-errors.js';
import { InvalidArgumentError } from '../errors/lanchat-error.js';
import type { ProtocolVersion } from '../errors/frame-errors.js';

/** What a side announces about itself in the handshake. */
export interface HandshakeAnnouncement {
  readonly version: ProtocolVersion;
  /** Names of optional features, e.g. `"file-transfer"`. */
  readonly capabilities: readonly string[];
}

/** At most this many capabilities in a handshake. */
export const MAX_CAPABILITIES = 32;

const CAPABILITY_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** Checks capability names: 1 to 32 characters of a-z, 0-9 and '-', at most 32 of them, no repeats. */
export function checkCapabilities(capabilities: readonly string[]): readonly string[] {
  if (capabilities.length > MAX_CAPABILITIES) {
    throw new InvalidArgumentError(
      `at most ${MAX_CAPABILITIES} capabilities, got ${capabilities.length}`,
    );
  }
  for (const name of capabilities) {
    if (!CAPABILITY_NAME.test(name)) {
      throw new InvalidArgumentError(
        `a capability name is 1 to 32 of a-z, 0-9 and "-", got ${JSON.stringify(name)}`,
      );
    }
  }
  if (new Set(capabilities).size !== capabilities.length) {
    throw new InvalidArgumentError('capability names must not repeat');
  }
  return Object.freeze([...capabilities]);
}

/** Encodes: major, minor, count, then each name as a length byte and ASCII. */
export function encodeHandshakeAnnouncement(announcement: HandshakeAnnouncement): Uint8Array {
  const names = checkCapabilities(announcement.capabilities);
  const length = 3 + names.reduce((total, name) => total + 1 + name.length, 0);
  const output = new Uint8Array(length);
  output[0] = announcement.version.major;
  output[1] = announcement.version.minor;
  output[2] = names.length;
  let offset = 3;
  for (const name of names) {
    output[offset++] = name.length;
    for (let index = 0; index < name.length; index++) output[offset++] = name.charCodeAt(index);
  }
  return output;
}

/**
 * Decodes a peer's announcement.
 *
 * @throws {@link MalformedHandshakeError} (reason `bad-payload`) if it is not well formed.
 */
export function decodeHandshakeAnnouncement(payload: Uint8Array): HandshakeAnnouncement {
  const bad = (why: string) =>
    new MalformedHandshakeError('bad-payload', `the peer's handshake payload is malformed: ${why}`);
  if (payload.length < 3) throw bad('shorter than 3 bytes');
  const count = payload[2]!;
  if (count > MAX_CAPABILITIES) throw bad(`${count} capabilities, over ${MAX_CAPABILITIES}`);
  const capabilities: string[] = [];
  let offset = 3;
  for (let index = 0; index < count; index++) {
    const length = payload[offset++];
    if (length === undefined || offset + length > payload.length)
      throw bad('a capability runs past the end');
    let name = '';
    for (const byte of payload.subarray(offset, offset + length)) name += String.fromCharCode(byte);
    offset += length;
    if (!CAPABILITY_NAME.test(name)) throw bad(`invalid capability name ${JSON.stringify(name)}`);
    capabilities.push(name);
  }
  if (offset !== payload.length) throw bad('bytes after the last capability');
  if (new Set(capabilities).size !== capabilities.length) throw bad('a capability repeats');
  return Object.freeze({
    version: Object.freeze({ major: payload[0]!, minor: payload[1]! }),
    capabilities: Object.freeze(capabilities),
  });
}
