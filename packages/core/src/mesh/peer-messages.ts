/**
 * The messages two lanchat peers say to each other in serverless mode (docs/protocol.md,
 * section 11), and their encoding: as the chat session's (section 8.2), one kind byte, then a
 * MessagePack map whose `type` names the message, or the binary file data of section 9.2.
 *
 * @module
 */

import {
  CONTROL_MESSAGE_KIND,
  type Schema,
  compile,
  decodeMessage,
  encoder,
  optional,
  required,
} from '../session/message-schema.js';
import type { TransferControlMessage } from '../session/session-messages.js';
import { TRANSFER_DATA_KIND, decodeTransferData } from '../session/transfer-data.js';
import type { TransferData } from '../transfer/transfer-messages.js';

/** The capability every peer announces in its handshake. */
export const PEER_CAPABILITY = 'peer';

/** The first message on a link, both ways, once the handshake is done. */
export interface PeerHello {
  readonly type: 'hello';
  /** The sender's nickname. */
  readonly nick: string;
  /**
   * 16 random bytes, 32 hexadecimal digits, chosen when the sender started: message numbers
   * count from 1 again under a new epoch.
   */
  readonly epoch: string;
  /** The TCP port the sender accepts peers on; absent when it accepts none. */
  readonly port?: number;
  /** The rooms the sender is in. */
  readonly rooms: readonly string[];
}

/** A peer the sender is connected to, so that the receiver can connect to it too. */
export interface PeerAddress {
  /** Its static public key, 64 hexadecimal digits. */
  readonly key: string;
  readonly nick: string;
  /** An address it can be reached at, as the sender sees it. */
  readonly host: string;
  readonly port: number;
}

/** Peers the sender knows (gossip). */
export interface PeerList {
  readonly type: 'peers';
  readonly peers: readonly PeerAddress[];
}

/**
 * A message to a room. `n` numbers the sender's messages (room and private, to everyone) under
 * its epoch, from 1: the receiver acknowledges it and drops a copy it already has.
 */
export interface PeerSay {
  readonly type: 'say';
  readonly n: number;
  /** The sender's clock, in milliseconds since 1970. */
  readonly ts: number;
  readonly room: string;
  readonly text: string;
}

/** A message to the receiver alone. */
export interface PeerPrivate {
  readonly type: 'private';
  readonly n: number;
  readonly ts: number;
  readonly text: string;
}

/** Every numbered message up to `n` has arrived. */
export interface PeerAck {
  readonly type: 'ack';
  readonly n: number;
}

/** The sender now goes by `nick`. */
export interface PeerNick {
  readonly type: 'nick';
  readonly nick: string;
}

/** The sender joined a room. */
export interface PeerJoin {
  readonly type: 'join';
  readonly room: string;
}

/** The sender left a room. */
export interface PeerLeave {
  readonly type: 'leave';
  readonly room: string;
}

/**
 * The sender now accepts links on `port` (it started to listen after this link was made, which
 * its `hello` could not say). The receiver gossips the address as it does a new peer's.
 */
export interface PeerListening {
  readonly type: 'listening';
  readonly port: number;
}

/** Keepalive; answered with `pong` of the same `n`. */
export interface PeerPing {
  readonly type: 'ping';
  readonly n: number;
}

export interface PeerPong {
  readonly type: 'pong';
  readonly n: number;
}

/**
 * Why a peer closes a link: `leaving` (it leaves the mesh), `hang-up` (it hangs up on the
 * receiver alone) or `duplicate` (another link joins the same two peers).
 */
export type PeerByeReason = 'leaving' | 'hang-up' | 'duplicate';

/** The sender closes the link. */
export interface PeerBye {
  readonly type: 'bye';
  readonly reason: PeerByeReason;
}

/** A file offered to the receiver (section 9, without the server's addressing). */
export interface PeerTransferOffer {
  readonly type: 'transfer-offer';
  readonly transfer: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly md5: string;
}

/** Every control message of the peer protocol. */
export type PeerControlMessage =
  | PeerHello
  | PeerList
  | PeerSay
  | PeerPrivate
  | PeerAck
  | PeerNick
  | PeerJoin
  | PeerLeave
  | PeerListening
  | PeerPing
  | PeerPong
  | PeerBye
  | PeerTransferOffer
  | TransferControlMessage;

/** What a peer receives: a control message, or file data. */
export type PeerMessage = PeerControlMessage | TransferData;

const nick = required('string');
const room = required('string');
const n = required('uint');
const transfer = required({ hex: 32 });
const code = required('string');

const PEER_SCHEMAS: Readonly<Record<PeerControlMessage['type'], Schema>> = {
  hello: { nick, epoch: required({ hex: 32 }), port: optional('uint'), rooms: required('strings') },
  peers: {
    peers: required({
      objects: { key: required({ hex: 64 }), nick, host: required('string'), port: n },
    }),
  },
  say: { n, ts: n, room, text: required('string') },
  private: { n, ts: n, text: required('string') },
  ack: { n },
  nick: { nick },
  join: { room },
  leave: { room },
  listening: { port: n },
  ping: { n },
  pong: { n },
  bye: { reason: required({ oneOf: ['leaving', 'hang-up', 'duplicate'] }) },
  'transfer-offer': {
    transfer,
    name: required('string'),
    size: n,
    sha256: required({ hex: 64 }),
    md5: required({ hex: 32 }),
  },
  'transfer-accept': { transfer, offset: n, window: n, attempt: n },
  'transfer-reject': { transfer, code, message: required('string') },
  'transfer-ack': { transfer, offset: n, window: n, ranges: optional('uints') },
  'transfer-done': { transfer },
  'transfer-cancel': { transfer, code, message: required('string') },
};

const COMPILED_PEER_SCHEMAS = Object.fromEntries(
  Object.entries(PEER_SCHEMAS).map(([type, schema]) => [type, compile(schema)]),
);

/** Encodes a control message of the peer protocol: the kind byte, then MessagePack. */
export function encodePeerMessage(message: PeerControlMessage): Uint8Array {
  const body = encoder.encodeSharedRef(message);
  const output = new Uint8Array(body.length + 1);
  output[0] = CONTROL_MESSAGE_KIND;
  output.set(body, 1);
  return output;
}

/**
 * Decodes and checks a message from a peer: file data (kind `0x02`) or a control message.
 *
 * @throws `MalformedSessionMessageError` when the bytes are not a valid peer message.
 */
export function decodePeerMessage(bytes: Uint8Array): PeerMessage {
  if (bytes[0] === TRANSFER_DATA_KIND) return decodeTransferData(bytes);
  return decodeMessage(COMPILED_PEER_SCHEMAS, bytes, 'peer') as unknown as PeerControlMessage;
}
