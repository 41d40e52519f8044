/**
 * The messages of the chat session protocol (docs/protocol.md, section 8) and their encoding:
 * one kind byte, then a MessagePack map whose `type` names the message.
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
} from './message-schema.js';
import { MalformedSessionMessageError } from '../errors/session-errors.js';
import {
  COMPACT_SAY_KIND,
  ROOM_BATCH_KIND,
  ROOM_MESSAGE_KIND,
  decodeCompactSay,
  decodeRoomBatch,
  decodeRoomMessage,
  encodeRoomMessage,
} from './room-message.js';

export {
  COMPACT_SAY_HEADER_LENGTH,
  COMPACT_SAY_KIND,
  MAX_ROOM_BATCH_COUNT,
  ROOM_BATCH_ENTRY_LENGTH,
  ROOM_BATCH_HEADER_LENGTH,
  ROOM_BATCH_KIND,
  type RoomBatchEntry,
  ROOM_MESSAGE_HEADER_LENGTH,
  ROOM_MESSAGE_KIND,
  encodeCompactSay,
  encodeRoomBatch,
} from './room-message.js';

export { CONTROL_MESSAGE_KIND } from './message-schema.js';

/** How present a user says they are. */
export type Presence = 'online' | 'away' | 'busy';

/** Why a user left a room or the server. */
export type LeaveReason = 'left' | 'bye' | 'disconnected' | 'timeout' | 'too-slow' | 'shutdown';

// ---------------------------------------------------------------------------------------------
// Client to server. Every request carries `id`, a number the client never reuses on a connection;
// the server answers it with a message whose `re` is that id.

/** Log in (the first message after the handshake): pick a nickname, give credentials. */
export interface LoginRequest {
  readonly type: 'login';
  readonly id: number;
  /** The nickname wanted; on an account server it defaults to the username. */
  readonly nick?: string;
  /** Account name, on a server that requires login. */
  readonly user?: string;
  /** Password, on a server that requires login. */
  readonly password?: string;
  /** Rooms to (re)join besides the default room, e.g. after a reconnection. */
  readonly rooms?: readonly string[];
}

/** Change nickname. */
export interface NickRequest {
  readonly type: 'nick';
  readonly id: number;
  readonly nick: string;
}

/** Join a room, creating it if it does not exist. */
export interface JoinRequest {
  readonly type: 'join';
  readonly id: number;
  readonly room: string;
}

/** Leave a room. */
export interface LeaveRequest {
  readonly type: 'leave';
  readonly id: number;
  readonly room: string;
}

/** Ask for the list of rooms. */
export interface RoomsRequest {
  readonly type: 'rooms';
  readonly id: number;
}

/** Ask for the list of users, of one room or of the whole server. */
export interface UsersRequest {
  readonly type: 'users';
  readonly id: number;
  readonly room?: string;
}

/** A message to a room. `ts` is the sender's clock, in milliseconds since 1970. */
export interface SayRequest {
  readonly type: 'say';
  readonly id: number;
  readonly ts: number;
  readonly room: string;
  readonly text: string;
}

/**
 * A private message to one user. With `chat: true` it belongs to the consent chat with that user,
 * and the server refuses it unless both have agreed to chat.
 */
export interface PrivateRequest {
  readonly type: 'private';
  readonly id: number;
  readonly ts: number;
  readonly to: string;
  readonly text: string;
  readonly chat?: boolean;
}

/** Ask a user for a private chat (or accept theirs: two requests make a chat). */
export interface ChatRequest {
  readonly type: 'chat-request';
  readonly id: number;
  readonly nick: string;
}

/** Accept a user's request for a private chat. */
export interface ChatAcceptRequest {
  readonly type: 'chat-accept';
  readonly id: number;
  readonly nick: string;
}

/** Decline a user's request for a private chat. */
export interface ChatDeclineRequest {
  readonly type: 'chat-decline';
  readonly id: number;
  readonly nick: string;
}

/** End the private chat with a user (or withdraw one's request). */
export interface ChatEndRequest {
  readonly type: 'chat-end';
  readonly id: number;
  readonly nick: string;
}

/** Say how present one is. */
export interface PresenceRequest {
  readonly type: 'presence';
  readonly id: number;
  readonly presence: Presence;
}

/**
 * Offer a file to the user `to` (docs/protocol.md, section 9). The server relays it and answers
 * with `ack`, or `nack` (no such user, too many transfers...). Digests are lowercase hex.
 */
export interface TransferOfferRequest {
  readonly type: 'transfer-offer';
  readonly id: number;
  readonly to: string;
  readonly transfer: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly md5: string;
  /**
   * The transfer key, 64 hexadecimal digits, fresh for each offer: sent only to a server that
   * announces `sealed-files` (section 9.9).
   */
  readonly key?: string;
}

/** The receiver takes the file (from the server: relayed to the sender, window clamped). */
export interface TransferAcceptMessage {
  readonly type: 'transfer-accept';
  readonly transfer: string;
  readonly offset: number;
  readonly window: number;
  readonly attempt: number;
  /** The receiver takes the data sealed with the offer's key (section 9.9). */
  readonly sealed?: boolean;
}

/** The receiver refuses the file. */
export interface TransferRejectMessage {
  readonly type: 'transfer-reject';
  readonly transfer: string;
  readonly code: string;
  readonly message: string;
}

/**
 * The receiver has every byte before `offset`; the sender may send up to `offset + window`.
 * `ranges`: blocks received beyond `offset` as flat start/end pairs (lossy transports only).
 */
export interface TransferAckMessage {
  readonly type: 'transfer-ack';
  readonly transfer: string;
  readonly offset: number;
  readonly window: number;
  readonly ranges?: readonly number[];
}

/** The receiver saved the verified file. */
export interface TransferDoneMessage {
  readonly type: 'transfer-done';
  readonly transfer: string;
}

/** Either side stops a transfer (from the server: also when it ends a relay itself). */
export interface TransferCancelMessage {
  readonly type: 'transfer-cancel';
  readonly transfer: string;
  readonly code: string;
  readonly message: string;
}

/** The transfer messages both directions share. */
export type TransferControlMessage =
  | TransferAcceptMessage
  | TransferRejectMessage
  | TransferAckMessage
  | TransferDoneMessage
  | TransferCancelMessage;

/** Keepalive: the other side answers with a `pong` carrying the same `n`. Either side may ping. */
export interface Ping {
  readonly type: 'ping';
  readonly n: number;
}

/** The answer to a {@link Ping}. */
export interface Pong {
  readonly type: 'pong';
  readonly n: number;
}

/** Goodbye: the sender ends the session; the secure channel's close follows. Either side. */
export interface Bye {
  readonly type: 'bye';
  readonly reason?: string;
}

/** Everything a client sends. */
export type ClientMessage =
  | LoginRequest
  | NickRequest
  | JoinRequest
  | LeaveRequest
  | RoomsRequest
  | UsersRequest
  | SayRequest
  | PrivateRequest
  | ChatRequest
  | ChatAcceptRequest
  | ChatDeclineRequest
  | ChatEndRequest
  | PresenceRequest
  | TransferOfferRequest
  | TransferControlMessage
  | Ping
  | Pong
  | Bye;

// ---------------------------------------------------------------------------------------------
// Server to client.

/** Login succeeded. */
export interface Welcome {
  readonly type: 'welcome';
  readonly re: number;
  /** The nickname this session has. */
  readonly nick: string;
  /** The account logged in, on an account server. */
  readonly user?: string;
  /** The server's name, for display. */
  readonly server: string;
  /** Whether the server requires login. */
  readonly accounts: boolean;
  /** The default room. */
  readonly lobby: string;
  /** The rooms this session is in. */
  readonly rooms: readonly string[];
  /** The longest text the server relays, in bytes of UTF-8. */
  readonly maxText: number;
}

/** Login failed; the connection stays open for another try (after `retryAfter`, when set). */
export interface LoginFailed {
  readonly type: 'login-failed';
  readonly re: number;
  readonly code: string;
  readonly message: string;
  /** Milliseconds to wait before the next try (code `rate-limited`). */
  readonly retryAfter?: number;
}

/** A request succeeded (`say`, `private`: the message was delivered to the server and relayed). */
export interface Ack {
  readonly type: 'ack';
  readonly re: number;
}

/** A request failed, with a stable code (docs/errors.md) and a message for people. */
export interface Nack {
  readonly type: 'nack';
  readonly re: number;
  readonly code: string;
  readonly message: string;
}

/** This session joined a room (after `join`, or at login), with who is there. */
export interface RoomJoined {
  readonly type: 'room-joined';
  readonly re?: number;
  readonly room: string;
  readonly members: readonly string[];
}

/** This session left a room. */
export interface RoomLeft {
  readonly type: 'room-left';
  readonly re?: number;
  readonly room: string;
}

/** One room in a {@link RoomList}. */
export interface RoomInfo {
  readonly name: string;
  readonly members: number;
}

/** The answer to `rooms`. */
export interface RoomList {
  readonly type: 'room-list';
  readonly re: number;
  readonly rooms: readonly RoomInfo[];
}

/** One user in a {@link UserList}. */
export interface UserInfo {
  readonly nick: string;
  readonly presence: Presence;
  readonly rooms: readonly string[];
}

/** The answer to `users`. */
export interface UserList {
  readonly type: 'user-list';
  readonly re: number;
  readonly room?: string;
  readonly users: readonly UserInfo[];
  /** Users left out of a very long list. */
  readonly more?: number;
}

/** A message in a room. `id` is the server's; `ts` is the sender's clock. */
export interface RoomMessage {
  readonly type: 'message';
  readonly id: number;
  readonly ts: number;
  readonly room: string;
  readonly from: string;
  readonly text: string;
}

/** A private message (`chat: true` inside a consent chat). */
export interface PrivateMessage {
  readonly type: 'private';
  readonly id: number;
  readonly ts: number;
  readonly from: string;
  readonly to: string;
  readonly text: string;
  readonly chat: boolean;
}

/** Someone joined a room this session is in. */
export interface UserJoined {
  readonly type: 'user-joined';
  readonly room: string;
  readonly nick: string;
}

/** Someone left a room this session is in. */
export interface UserLeft {
  readonly type: 'user-left';
  readonly room: string;
  readonly nick: string;
  readonly reason: LeaveReason;
}

/** Someone connected to the server (logged in). */
export interface UserConnected {
  readonly type: 'user-connected';
  readonly nick: string;
}

/** Someone left the server. */
export interface UserDisconnected {
  readonly type: 'user-disconnected';
  readonly nick: string;
  readonly reason: LeaveReason;
}

/** Someone changed nickname (this session too: then `old` is this session's old nickname). */
export interface NickChanged {
  readonly type: 'nick-changed';
  readonly old: string;
  readonly nick: string;
}

/** Someone changed presence. */
export interface PresenceChanged {
  readonly type: 'presence-changed';
  readonly nick: string;
  readonly presence: Presence;
}

/** Someone asks this session for a private chat. */
export interface ChatRequested {
  readonly type: 'chat-requested';
  readonly nick: string;
}

/** Both sides agreed: the private chat with `nick` is open. */
export interface ChatStarted {
  readonly type: 'chat-started';
  readonly nick: string;
}

/** `nick` declined this session's request. */
export interface ChatDeclined {
  readonly type: 'chat-declined';
  readonly nick: string;
}

/** The private chat with `nick` ended (or its request was withdrawn); `by` says who ended it. */
export interface ChatEnded {
  readonly type: 'chat-ended';
  readonly nick: string;
  readonly by: string;
}

/** A user offers this session a file. */
export interface TransferOffered {
  readonly type: 'transfer-offer';
  readonly from: string;
  readonly transfer: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly md5: string;
  /** The transfer key, when the sender seals the data (section 9.9). */
  readonly key?: string;
}

/**
 * The other side of a transfer lost its connection: the server forgot the transfer. It goes on
 * if the sender offers it again (with the same id) once both are back.
 */
export interface TransferInterrupted {
  readonly type: 'transfer-interrupted';
  readonly transfer: string;
}

/** The server is shutting down; the session ends right after. */
export interface Shutdown {
  readonly type: 'shutdown';
  readonly message: string;
}

/** The server ends this session for a reason (`code`): `idle-timeout`, `login-timeout`, `disconnected`. */
export interface SessionError {
  readonly type: 'error';
  readonly code: string;
  readonly message: string;
}

/** Everything a server sends. */
export type ServerMessage =
  | Welcome
  | LoginFailed
  | Ack
  | Nack
  | RoomJoined
  | RoomLeft
  | RoomList
  | UserList
  | RoomMessage
  | PrivateMessage
  | UserJoined
  | UserLeft
  | UserConnected
  | UserDisconnected
  | NickChanged
  | PresenceChanged
  | ChatRequested
  | ChatStarted
  | ChatDeclined
  | ChatEnded
  | TransferOffered
  | TransferControlMessage
  | TransferInterrupted
  | Shutdown
  | SessionError
  | Ping
  | Pong
  | Bye;

// ---------------------------------------------------------------------------------------------
// Schemas: what each field must be. A decoded message must match exactly: no missing required
// field, no unknown field, no field of the wrong type (lenient parsers smuggle data).

const id = required('uint');
const re = required('uint');
const nick = required('string');
const room = required('string');
const text = required('string');
const ts = required('uint');

const transfer = required({ hex: 32 });
const code = required('string');

const SHARED_SCHEMAS = {
  ping: { n: required('uint') },
  pong: { n: required('uint') },
  bye: { reason: optional('string') },
  'transfer-accept': {
    transfer,
    offset: required('uint'),
    window: required('uint'),
    attempt: required('uint'),
    sealed: optional('bool'),
  },
  'transfer-reject': { transfer, code, message: required('string') },
  'transfer-ack': {
    transfer,
    offset: required('uint'),
    window: required('uint'),
    ranges: optional('uints'),
  },
  'transfer-done': { transfer },
  'transfer-cancel': { transfer, code, message: required('string') },
} satisfies Record<string, Schema>;

const fileFields = {
  transfer,
  name: required('string'),
  size: required('uint'),
  sha256: required({ hex: 64 }),
  md5: required({ hex: 32 }),
  key: optional({ hex: 64 }),
};

const CLIENT_SCHEMAS: Readonly<Record<ClientMessage['type'], Schema>> = {
  ...SHARED_SCHEMAS,
  login: {
    id,
    nick: optional('string'),
    user: optional('string'),
    password: optional('string'),
    rooms: optional('strings'),
  },
  nick: { id, nick },
  join: { id, room },
  leave: { id, room },
  rooms: { id },
  users: { id, room: optional('string') },
  say: { id, ts, room, text },
  private: { id, ts, to: nick, text, chat: optional('bool') },
  'chat-request': { id, nick },
  'chat-accept': { id, nick },
  'chat-decline': { id, nick },
  'chat-end': { id, nick },
  presence: { id, presence: required('presence') },
  'transfer-offer': { id, to: nick, ...fileFields },
};

// A room message travels only in its compact form (ROOM_MESSAGE_KIND), never as MessagePack.
const SERVER_SCHEMAS: Readonly<Record<Exclude<ServerMessage['type'], 'message'>, Schema>> = {
  ...SHARED_SCHEMAS,
  welcome: {
    re,
    nick,
    user: optional('string'),
    server: required('string'),
    accounts: required('bool'),
    lobby: room,
    rooms: required('strings'),
    maxText: required('uint'),
  },
  'login-failed': {
    re,
    code: required('string'),
    message: required('string'),
    retryAfter: optional('uint'),
  },
  ack: { re },
  nack: { re, code: required('string'), message: required('string') },
  'room-joined': { re: optional('uint'), room, members: required('strings') },
  'room-left': { re: optional('uint'), room },
  'room-list': {
    re,
    rooms: required({ objects: { name: required('string'), members: required('uint') } }),
  },
  'user-list': {
    re,
    room: optional('string'),
    users: required({
      objects: { nick, presence: required('presence'), rooms: required('strings') },
    }),
    more: optional('uint'),
  },
  private: { id, ts, from: nick, to: nick, text, chat: required('bool') },
  'user-joined': { room, nick },
  'user-left': { room, nick, reason: required('reason') },
  'user-connected': { nick },
  'user-disconnected': { nick, reason: required('reason') },
  'nick-changed': { old: nick, nick },
  'presence-changed': { nick, presence: required('presence') },
  'chat-requested': { nick },
  'chat-started': { nick },
  'chat-declined': { nick },
  'chat-ended': { nick, by: nick },
  'transfer-offer': { from: nick, ...fileFields },
  'transfer-interrupted': { transfer },
  shutdown: { message: required('string') },
  error: { code: required('string'), message: required('string') },
};

/**
 * Encodes a session message: a room message in its compact form, any other as a control message
 * (the kind byte, then MessagePack).
 *
 * @throws `InvalidArgumentError` for a room message whose `id` or `ts` is not an unsigned integer
 * below 2^53, or whose `room` or `from` takes more than 255 bytes of UTF-8.
 */
export function encodeSessionMessage(message: ClientMessage | ServerMessage): Uint8Array {
  if (message.type === 'message') return encodeRoomMessage(message);
  // A view of the encoder's own buffer, copied once behind the kind byte.
  const body = encoder.encodeSharedRef(message);
  const output = new Uint8Array(body.length + 1);
  output[0] = CONTROL_MESSAGE_KIND;
  output.set(body, 1);
  return output;
}

const COMPILED_CLIENT_SCHEMAS = Object.fromEntries(
  Object.entries(CLIENT_SCHEMAS).map(([type, schema]) => [type, compile(schema)]),
);
const COMPILED_SERVER_SCHEMAS = Object.fromEntries(
  Object.entries(SERVER_SCHEMAS).map(([type, schema]) => [type, compile(schema)]),
);

/**
 * Decodes and checks a message from a client.
 *
 * @throws {@link MalformedSessionMessageError} when the bytes are not a valid client message.
 */
export function decodeClientMessage(bytes: Uint8Array): ClientMessage {
  if (bytes[0] === COMPACT_SAY_KIND) return decodeCompactSay(bytes);
  return decodeMessage(COMPILED_CLIENT_SCHEMAS, bytes, 'client') as unknown as ClientMessage;
}

/**
 * Decodes and checks a message from a server.
 *
 * @throws {@link MalformedSessionMessageError} when the bytes are not a valid server message.
 */
export function decodeServerMessage(bytes: Uint8Array): ServerMessage {
  if (bytes[0] === ROOM_MESSAGE_KIND) return decodeRoomMessage(bytes, 'message');
  if (bytes[0] === ROOM_BATCH_KIND) {
    throw new MalformedSessionMessageError(
      'the server sent a room batch, which holds several messages: read it with decodeServerMessages()',
    );
  }
  return decodeMessage(COMPILED_SERVER_SCHEMAS, bytes, 'server') as unknown as ServerMessage;
}

/**
 * Decodes and checks a session message from a server into the messages it holds: a room batch
 * (kind `0x03`, sent only to a client that announced `room-batch`) holds one or more `message`s,
 * in order; any other session message holds one message.
 *
 * @throws {@link MalformedSessionMessageError} when the bytes are not a valid server message.
 */
export function decodeServerMessages(bytes: Uint8Array): ServerMessage[] {
  if (bytes[0] === ROOM_BATCH_KIND) return decodeRoomBatch(bytes, 'message');
  return [decodeServerMessage(bytes)];
}
