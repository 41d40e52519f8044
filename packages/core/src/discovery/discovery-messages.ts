/**
 * LAN discovery messages (docs/protocol.md, section 10): a client's query and a server's
 * announcement, each one lanchat datagram frame (section 3) sent over UDP to the discovery port.
 *
 * An announcement is small and of fixed layout: flags, the query it answers (if any), the
 * server's instance id, its static public key, the ports of its transports and its name. A query
 * is padded to at least {@link MIN_QUERY_LENGTH} bytes, so that an answer sent to a forged source
 * address is never much larger than the query that caused it.
 *
 * @module
 */

import { X25519_KEY_LENGTH } from '../crypto/crypto-provider.js';
import { MalformedDiscoveryMessageError } from '../errors/discovery-errors.js';
import { InvalidArgumentError, LanchatError } from '../errors/lanchat-error.js';
import { decodeDatagramFrame, encodeDatagramFrame } from '../frame/datagram-frame.js';
import { copyBytes } from '../util/bytes.js';
import { fromHex, toHex } from '../transfer/transfer-messages.js';

/** Datagram frame type of a discovery query. */
export const DISCOVERY_QUERY_TYPE = 0x40;
/** Datagram frame type of a server announcement (a periodic beacon, or an answer to a query). */
export const DISCOVERY_ANNOUNCEMENT_TYPE = 0x41;

/** Default UDP port of discovery: 9998, beside the chat's 9999. */
export const DEFAULT_DISCOVERY_PORT = 9998;
/**
 * IPv4 multicast group of discovery: 239.255.76.67, in the organisation-local scope that stays on
 * the site (RFC 2365); 76 and 67 are "LC".
 */
export const DISCOVERY_MULTICAST_GROUP = '239.255.76.67';

/** Bytes of a query id, and of a server's instance id. */
export const DISCOVERY_ID_LENGTH = 8;
/** Shortest query datagram accepted, header and padding included: 64 bytes. */
export const MIN_QUERY_LENGTH = 64;
/** Longest server name in an announcement, in bytes of UTF-8. */
export const MAX_SERVER_NAME_BYTES = 64;
/** Longest announcement datagram this side sends: header, fixed fields and the longest name. */
export const MAX_ANNOUNCEMENT_LENGTH =
  4 + 1 + DISCOVERY_ID_LENGTH * 2 + X25519_KEY_LENGTH + 6 + 1 + MAX_SERVER_NAME_BYTES;
/**
 * Longest discovery datagram read: announcements of later revisions may carry more fields after
 * the name, which this one skips.
 */
export const MAX_DISCOVERY_DATAGRAM_LENGTH = 1200;

const ANSWER_FLAG = 0x01;
/** Flag bit 1: the announcer is a peer of a serverless mesh, its TCP port the peer port. */
const PEER_FLAG = 0x02;

/** Ports a server listens on, by transport; an absent transport is not offered. */
export interface ServerPorts {
  readonly tcp?: number;
  readonly udp?: number;
  readonly ws?: number;
}

/** A server's announcement. */
export interface ServerAnnouncement {
  /** The query this answers (hex), or `undefined` for a periodic beacon. */
  readonly query: string | undefined;
  /** Random per run of the server (hex): the same server heard on two networks is one. */
  readonly instance: string;
  /** The server's static public key (32 bytes): pin it, show its fingerprint. */
  readonly publicKey: Uint8Array;
  readonly ports: ServerPorts;
  /** The server's name, as its operator set it (1 to 64 bytes of UTF-8, no control characters). */
  readonly name: string;
  /**
   * True when the announcer is a peer of a serverless mesh (`lanchat peer`), not a server: its
   * TCP port accepts peers, its name is its nickname. Default false.
   */
  readonly peer?: boolean;
}

/** What a discovery datagram turned out to be. */
export type DiscoveryMessage =
  | { readonly type: 'query'; readonly query: string }
  | { readonly type: 'announcement'; readonly announcement: ServerAnnouncement };

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
// C0 and C1 controls, DEL, and the line and paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;

function idBytes(what: string, id: string): Uint8Array {
  if (id.length !== DISCOVERY_ID_LENGTH * 2 || !/^[0-9a-f]*$/.test(id)) {
    throw new InvalidArgumentError(`${what} is ${DISCOVERY_ID_LENGTH * 2} lowercase hex digits`);
  }
  return fromHex(id);
}

function checkPort(transport: string, port: number | undefined): number {
  if (port === undefined) return 0;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new InvalidArgumentError(`the ${transport} port must be an integer from 1 to 65535`);
  }
  return port;
}

/**
 * Checks a server name for announcements: 1 to {@link MAX_SERVER_NAME_BYTES} bytes of UTF-8,
 * no control characters. Returns its UTF-8 bytes.
 *
 * @throws `InvalidArgumentError` otherwise.
 */
export function checkServerName(name: string): Uint8Array {
  const bytes = utf8.encode(name);
  if (bytes.length < 1 || bytes.length > MAX_SERVER_NAME_BYTES || CONTROL.test(name)) {
    throw new InvalidArgumentError(
      `a server name is 1 to ${MAX_SERVER_NAME_BYTES} bytes of UTF-8 without control characters`,
    );
  }
  return bytes;
}

/**
 * Encodes a query with id `query` (16 hex digits), padded with zeros to {@link MIN_QUERY_LENGTH}
 * bytes.
 */
export function encodeDiscoveryQuery(query: string): Uint8Array {
  const body = new Uint8Array(MIN_QUERY_LENGTH - 4);
  body.set(idBytes('a query id', query), 0);
  return encodeDatagramFrame({ type: DISCOVERY_QUERY_TYPE, body });
}

/**
 * Encodes a server's announcement.
 *
 * @throws `InvalidArgumentError` for ids that are not 16 hex digits, a key that is not 32 bytes,
 * a port out of range, no port at all, or a bad name (see {@link checkServerName}).
 */
export function encodeServerAnnouncement(announcement: ServerAnnouncement): Uint8Array {
  const { query, instance, publicKey, ports, name } = announcement;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== X25519_KEY_LENGTH) {
    throw new InvalidArgumentError(`a server's public key is ${X25519_KEY_LENGTH} bytes`);
  }
  const tcp = checkPort('TCP', ports.tcp);
  const udp = checkPort('UDP', ports.udp);
  const ws = checkPort('WebSocket', ports.ws);
  if (tcp === 0 && udp === 0 && ws === 0) {
    throw new InvalidArgumentError('an announcement names at least one port');
  }
  const nameBytes = checkServerName(name);
  const queryBytes = query === undefined ? undefined : idBytes('a query id', query);
  const body = new Uint8Array(
    1 +
      (queryBytes?.length ?? 0) +
      DISCOVERY_ID_LENGTH +
      X25519_KEY_LENGTH +
      6 +
      1 +
      nameBytes.length,
  );
  const view = new DataView(body.buffer);
  let at = 0;
  body[at++] =
    (queryBytes === undefined ? 0 : ANSWER_FLAG) | (announcement.peer === true ? PEER_FLAG : 0);
  if (queryBytes !== undefined) {
    body.set(queryBytes, at);
    at += DISCOVERY_ID_LENGTH;
  }
  body.set(idBytes('an instance id', instance), at);
  at += DISCOVERY_ID_LENGTH;
  body.set(publicKey, at);
  at += X25519_KEY_LENGTH;
  view.setUint16(at, tcp);
  view.setUint16(at + 2, udp);
  view.setUint16(at + 4, ws);
  at += 6;
  body[at++] = nameBytes.length;
  body.set(nameBytes, at);
  return encodeDatagramFrame({ type: DISCOVERY_ANNOUNCEMENT_TYPE, body });
}

function malformed(message: string): never {
  throw new MalformedDiscoveryMessageError(message);
}

/**
 * Decodes a discovery datagram.
 *
 * @returns the message, or `undefined` for a lanchat datagram of another type (a chat datagram
 * that reached the discovery port: not for discovery, not an error).
 * @throws a `RemoteProtocolError` for anything else: a datagram that is not lanchat's, of another
 * major version, too long, or a query or announcement that is not well formed
 * ({@link MalformedDiscoveryMessageError}). Drop the datagram; nothing else is affected.
 */
export function decodeDiscoveryMessage(datagram: Uint8Array): DiscoveryMessage | undefined {
  const frame = decodeDatagramFrame(datagram, { maxDatagramLength: MAX_DISCOVERY_DATAGRAM_LENGTH });
  const body = frame.body;
  if (frame.type === DISCOVERY_QUERY_TYPE) {
    if (datagram.length < MIN_QUERY_LENGTH) {
      malformed(`a query of ${datagram.length} bytes is shorter than ${MIN_QUERY_LENGTH}`);
    }
    return { type: 'query', query: toHex(body.subarray(0, DISCOVERY_ID_LENGTH)) };
  }
  if (frame.type !== DISCOVERY_ANNOUNCEMENT_TYPE) return undefined;
  if (body.length < 1) malformed('an announcement without flags');
  const flags = body[0]!;
  if ((flags & ~(ANSWER_FLAG | PEER_FLAG)) !== 0) {
    malformed(`an announcement with unknown flags ${flags}`);
  }
  let at = 1;
  const fixed =
    ((flags & ANSWER_FLAG) !== 0 ? DISCOVERY_ID_LENGTH : 0) +
    DISCOVERY_ID_LENGTH +
    X25519_KEY_LENGTH +
    6 +
    1;
  if (body.length < at + fixed)
    malformed(`an announcement of ${datagram.length} bytes is cut short`);
  let query: string | undefined;
  if ((flags & ANSWER_FLAG) !== 0) {
    query = toHex(body.subarray(at, at + DISCOVERY_ID_LENGTH));
    at += DISCOVERY_ID_LENGTH;
  }
  const instance = toHex(body.subarray(at, at + DISCOVERY_ID_LENGTH));
  at += DISCOVERY_ID_LENGTH;
  const publicKey = copyBytes(body.subarray(at, at + X25519_KEY_LENGTH));
  at += X25519_KEY_LENGTH;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const tcp = view.getUint16(at);
  const udp = view.getUint16(at + 2);
  const ws = view.getUint16(at + 4);
  at += 6;
  if (tcp === 0 && udp === 0 && ws === 0) malformed('an announcement without any port');
  const nameLength = body[at++]!;
  if (nameLength < 1 || nameLength > MAX_SERVER_NAME_BYTES) {
    malformed(`an announcement with a name of ${nameLength} bytes`);
  }
  if (body.length < at + nameLength) malformed('an announcement whose name is cut short');
  let name: string;
  try {
    name = strictUtf8.decode(body.subarray(at, at + nameLength));
  } catch (error) {
    if (LanchatError.isInstance(error)) throw error;
    malformed('an announcement whose name is not UTF-8');
  }
  if (CONTROL.test(name)) malformed('an announcement whose name has control characters');
  // Bytes after the name are fields of later revisions: skipped.
  return {
    type: 'announcement',
    announcement: {
      query,
      instance,
      publicKey,
      ports: {
        ...(tcp === 0 ? {} : { tcp }),
        ...(udp === 0 ? {} : { udp }),
        ...(ws === 0 ? {} : { ws }),
      },
      name,
      ...((flags & PEER_FLAG) === 0 ? {} : { peer: true }),
    },
  };
}
