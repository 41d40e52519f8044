/**
 * The client side of the chat session protocol (docs/protocol.md, section 8), sans-I/O.
 *
 * @module
 */

import type { CryptoProvider, X25519KeyPair } from '../crypto/crypto-provider.js';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import { InvalidArgumentError, InvalidStateError, LanchatError } from '../errors/lanchat-error.js';
import { TamperedError } from '../errors/integrity-errors.js';
import { MalformedSessionMessageError } from '../errors/session-errors.js';
import type { ProtocolVersion } from '../errors/frame-errors.js';
import { checkLimit } from '../frame/limits.js';
import { DatagramSessionChannel } from '../channel/datagram-session-channel.js';
import type { SessionChannel } from '../channel/session-channel.js';
import { CLEAR_TAIL_CAPABILITY, StreamChannel } from '../channel/stream-channel.js';
import {
  DEFAULT_MAX_TEXT_BYTES,
  checkName,
  checkNickname,
  checkPassword,
  checkRoomName,
  checkText,
  nameKey,
} from './names.js';
import { FifoQueue } from '../util/fifo-queue.js';
import {
  ROOM_BATCH_KIND,
  ROOM_MESSAGE_KIND,
  decodeRoomBatch,
  decodeRoomMessage,
  encodeCompactSay,
} from './room-message.js';
import {
  SEALED_TRANSFER_DATA_KIND,
  TRANSFER_DATA_KIND,
  decodeTransferData,
  encodeTransferData,
  readSealedTransferData,
} from './transfer-data.js';
import { TransferKeys } from './transfer-keys.js';
import {
  fromOfferFields,
  fromSessionTransfer,
  toOfferFields,
  toSessionTransfer,
} from './transfer-session.js';
import { type TransferMessage, type TransferOffer } from '../transfer/transfer-messages.js';
import { Secret } from './secret.js';
import {
  type ClientMessage,
  type LeaveReason,
  type Presence,
  type RoomInfo,
  type ServerMessage,
  type TransferAcceptMessage,
  type UserInfo,
  decodeServerMessage,
  encodeSessionMessage,
} from './session-messages.js';
import {
  CHAT_CAPABILITY,
  COMPACT_SAY_CAPABILITY,
  DEFAULT_DEAD_TIMEOUT,
  DEFAULT_KEEPALIVE_INTERVAL,
  DEFAULT_UNANSWERED_TIMEOUT,
  LOGIN_REQUIRED_CAPABILITY,
  ROOM_BATCH_CAPABILITY,
  SEALED_FILES_CAPABILITY,
} from './session-options.js';

/** Options of a {@link ChatClient}. */
export interface ChatClientOptions {
  /** The current time, in ms. */
  readonly now: number;
  /** The client's long-term key pair. Default: a fresh one (the client is then anonymous). */
  readonly staticKeyPair?: X25519KeyPair;
  /** Default node:crypto. */
  readonly crypto?: CryptoProvider;
  /** Handshake deadline, in ms. Default the channel's, 10 s. */
  readonly handshakeTimeout?: number;
  /** Default {@link DEFAULT_KEEPALIVE_INTERVAL}. */
  readonly keepaliveInterval?: number;
  /** Default {@link DEFAULT_DEAD_TIMEOUT}. */
  readonly deadTimeout?: number;
  /**
   * Over datagrams: how long output may go unacknowledged before the server is taken as gone.
   * Default {@link DEFAULT_UNANSWERED_TIMEOUT}.
   */
  readonly unansweredTimeout?: number;
  /** Bound on output waiting inside, in bytes. Default the channel's, 4 MiB. */
  readonly maxBufferedBytes?: number;
  /**
   * Seal file data end to end where the server and the other client allow it (protocol section
   * 9.9): the server then relays it without opening and sealing it again. Default true. Set false
   * where AES-256-GCM is slow, such as a browser's JavaScript cipher (several times slower there
   * than ChaCha20-Poly1305): this client then neither seals its files nor takes sealed ones, and
   * file data goes sealed by each hop.
   */
  readonly sealFiles?: boolean;
  /**
   * `stream` (TCP, WebSocket: the default) or `datagram` (UDP: each {@link ChatClient.receive}
   * is one datagram, each {@link ChatClient.pollTransmit} one datagram to send, delivered
   * reliably and in order by the datagram session channel).
   */
  readonly transport?: 'stream' | 'datagram';
  /**
   * The server's static public key, required for `datagram`: the handshake datagrams carry MACs
   * keyed by it (protocol section 7.1). Pinned, or learnt from discovery.
   */
  readonly serverKey?: Uint8Array;
}

/** What {@link ChatClient.login} sends. */
export interface LoginDetails {
  /** The nickname wanted (default the username, on an account server). */
  readonly nick?: string;
  /** The account, on a server that requires login. */
  readonly user?: string;
  readonly password?: string | Secret;
  /** Rooms to join besides the default room (after a reconnection: the rooms one was in). */
  readonly rooms?: readonly string[];
}

/** The life of a client session. */
export type ChatClientState =
  'handshaking' | 'identified' | 'logging-in' | 'online' | 'closing' | 'closed';

/** Why a session ended. */
export type SessionEndReason =
  'bye' | 'server-bye' | 'shutdown' | 'connection-lost' | 'timeout' | 'protocol-error';

/**
 * The handshake finished: the server proved it holds the key `serverKey`. Check it against the
 * pinned key before calling {@link ChatClient.login} (which may send a password).
 */
export interface ServerIdentifiedEvent {
  readonly type: 'server-identified';
  readonly serverKey: Uint8Array;
  readonly version: ProtocolVersion;
  readonly capabilities: readonly string[];
  /** The server requires a username and password. */
  readonly loginRequired: boolean;
}

/** Logged in. */
export interface LoginSucceededEvent {
  readonly type: 'login-succeeded';
  readonly nick: string;
  readonly user: string | undefined;
  readonly server: string;
  readonly accounts: boolean;
  readonly lobby: string;
  readonly rooms: readonly string[];
  readonly maxTextBytes: number;
}

/** The login was refused; {@link ChatClient.login} may be called again. */
export interface LoginFailedEvent {
  readonly type: 'login-failed';
  readonly code: string;
  readonly message: string;
  /** Milliseconds to wait before trying again, when rate limited. */
  readonly retryAfter: number | undefined;
}

/** This session joined a room. */
export interface RoomJoinedEvent {
  readonly type: 'room-joined';
  readonly room: string;
  readonly members: readonly string[];
}

/** This session left a room. */
export interface RoomLeftEvent {
  readonly type: 'room-left';
  readonly room: string;
}

/** The answer to {@link ChatClient.listRooms}. */
export interface RoomsListedEvent {
  readonly type: 'rooms-listed';
  readonly rooms: readonly RoomInfo[];
}

/** The answer to {@link ChatClient.listUsers}. */
export interface UsersListedEvent {
  readonly type: 'users-listed';
  readonly room: string | undefined;
  readonly users: readonly UserInfo[];
  /** Users left out of a very long list. */
  readonly more: number;
}

/** A message arrived in a room. */
export interface MessageReceivedInRoomEvent {
  readonly type: 'message-received';
  readonly id: number;
  /** The sender's clock, in ms since 1970. */
  readonly ts: number;
  readonly room: string;
  readonly from: string;
  readonly text: string;
}

/** A private message arrived (`chat`: inside a consent chat). */
export interface PrivateMessageReceivedEvent {
  readonly type: 'private-message-received';
  readonly id: number;
  readonly ts: number;
  readonly from: string;
  readonly text: string;
  readonly chat: boolean;
}

/** The server relayed a message this session sent (`id` as returned by say/sendPrivate). */
export interface MessageDeliveredEvent {
  readonly type: 'message-delivered';
  readonly id: number;
}

/** The server refused a message this session sent, or the session ended before its answer. */
export interface MessageFailedEvent {
  readonly type: 'message-failed';
  readonly id: number;
  readonly code: string;
  readonly message: string;
}

/** A user offers this session a file (section 9 of the protocol), for a `FileReceiver`. */
export interface TransferOfferedEvent {
  readonly type: 'transfer-offered';
  /** The sender's nickname. */
  readonly from: string;
  readonly offer: TransferOffer;
}

/** A message of a transfer this session takes part in, for its `FileSender` or `FileReceiver`. */
export interface TransferMessageEvent {
  readonly type: 'transfer-message';
  readonly message: Exclude<TransferMessage, TransferOffer>;
}

/** The server refused to relay an offer (no such user, too many transfers...). */
export interface TransferOfferFailedEvent {
  readonly type: 'transfer-offer-failed';
  readonly transfer: string;
  readonly code: string;
  readonly message: string;
}

/**
 * The other side of a transfer lost its connection. The transfer waits: the sender offers it
 * again when both are back (`FileSender.interrupt()`, then `resume()`).
 */
export interface TransferInterruptedEvent {
  readonly type: 'transfer-interrupted';
  readonly transfer: string;
}

/**
 * File data sealed end to end could not be opened (protocol section 9.9): `tampered` when it
 * failed authentication (changed on the way, or sealed under another key), `protocol-error` when
 * it came for a transfer without a key. The transfer's receiver fails it and tells the sender
 * (`FileReceiver.refuseData`); the session goes on.
 */
export interface TransferDataRefusedEvent {
  readonly type: 'transfer-data-refused';
  readonly transfer: string;
  readonly code: 'tampered' | 'protocol-error';
  readonly message: string;
}

/** The server refused another request (join, nick, chat...). */
export interface RequestFailedEvent {
  readonly type: 'request-failed';
  readonly id: number;
  readonly request: ClientMessage['type'];
  readonly code: string;
  readonly message: string;
}

/** Someone joined one of this session's rooms. */
export interface UserJoinedEvent {
  readonly type: 'user-joined';
  readonly room: string;
  readonly nick: string;
}

/** Someone left one of this session's rooms. */
export interface UserLeftEvent {
  readonly type: 'user-left';
  readonly room: string;
  readonly nick: string;
  readonly reason: LeaveReason;
}

/** Someone logged in to the server. */
export interface UserConnectedEvent {
  readonly type: 'user-connected';
  readonly nick: string;
}

/** Someone left the server. */
export interface UserDisconnectedEvent {
  readonly type: 'user-disconnected';
  readonly nick: string;
  readonly reason: LeaveReason;
}

/** Someone (`self`: this session) changed nickname. */
export interface NickChangedEvent {
  readonly type: 'nick-changed';
  readonly old: string;
  readonly nick: string;
  readonly self: boolean;
}

/** Someone changed presence. */
export interface PresenceChangedEvent {
  readonly type: 'presence-changed';
  readonly nick: string;
  readonly presence: Presence;
}

/** `nick` asks this session for a private chat: accept or decline it. */
export interface ChatRequestedEvent {
  readonly type: 'chat-requested';
  readonly nick: string;
}

/** Both agreed: the private chat with `nick` is open; you may chat now. */
export interface ChatStartedEvent {
  readonly type: 'chat-started';
  readonly nick: string;
}

/** `nick` declined this session's request for a private chat. */
export interface ChatDeclinedEvent {
  readonly type: 'chat-declined';
  readonly nick: string;
}

/** The private chat with `nick` (or a request for it) ended; `by` says who ended it. */
export interface ChatEndedEvent {
  readonly type: 'chat-ended';
  readonly nick: string;
  readonly by: string;
}

/** The server announced its shutdown. `session-closed` follows. */
export interface ServerShutdownEvent {
  readonly type: 'server-shutdown';
  readonly message: string;
}

/** The server ends this session for a reason (`code`: `idle-timeout`, `login-timeout`, `disconnected`). */
export interface ServerErrorEvent {
  readonly type: 'server-error';
  readonly code: string;
  readonly message: string;
}

/**
 * The session is over. The adapter writes what is left of {@link ChatClient.pollTransmit} and
 * closes the socket. `error` is set for `protocol-error`.
 */
export interface SessionClosedEvent {
  readonly type: 'session-closed';
  readonly reason: SessionEndReason;
  readonly graceful: boolean;
  readonly error: LanchatError | undefined;
}

/** Everything a {@link ChatClient} reports. */
export type ClientEvent =
  | ServerIdentifiedEvent
  | LoginSucceededEvent
  | LoginFailedEvent
  | RoomJoinedEvent
  | RoomLeftEvent
  | RoomsListedEvent
  | UsersListedEvent
  | MessageReceivedInRoomEvent
  | PrivateMessageReceivedEvent
  | MessageDeliveredEvent
  | MessageFailedEvent
  | RequestFailedEvent
  | UserJoinedEvent
  | UserLeftEvent
  | UserConnectedEvent
  | UserDisconnectedEvent
  | NickChangedEvent
  | PresenceChangedEvent
  | ChatRequestedEvent
  | ChatStartedEvent
  | ChatDeclinedEvent
  | ChatEndedEvent
  | TransferOfferedEvent
  | TransferMessageEvent
  | TransferOfferFailedEvent
  | TransferInterruptedEvent
  | TransferDataRefusedEvent
  | ServerShutdownEvent
  | ServerErrorEvent
  | SessionClosedEvent;

/**
 * Bytes of output a session may hold before file data waits: below it {@link
 * ChatClient.transferCapacity} lets more data in. Chat lines queued meanwhile go out behind at
 * most this much file data.
 */
export const TRANSFER_HIGH_WATER = 1024 * 1024;

/**
 * The same bound over datagrams: 64 KiB. A datagram session moves some MB/s, not a hundred, so
 * each queued byte is more time a chat line waits: with 1 MiB, lines waited 110 ms (p50) behind
 * a file on loopback; with 64 KiB, 15 ms, and the file moved as fast.
 */
export const DATAGRAM_TRANSFER_HIGH_WATER = 64 * 1024;

/** Most requests waiting for the server's answer. */
export const MAX_PENDING_REQUESTS = 65_536;

/**
 * A chat session seen from the client, sans-I/O.
 *
 * Feed it what the socket reads ({@link ChatClient.receive}), write what
 * {@link ChatClient.pollTransmit} gives, act on {@link ChatClient.nextEvent}, and keep a timer
 * for {@link ChatClient.pollTimeout} (keepalive and dead-connection detection). After the
 * handshake, check the server's key (`server-identified`), then {@link ChatClient.login}.
 *
 * Requests return their id; the server answers each: a message with `message-delivered` or
 * `message-failed`, other requests with their own event or `request-failed`.
 */
export class ChatClient {
  readonly #channel: SessionChannel;
  readonly #keepaliveInterval: number;
  readonly #deadTimeout: number;
  readonly #unansweredTimeout: number;
  #state: ChatClientState = 'handshaking';
  #lastSent: number;
  #lastReceived: number;
  #nextId = 1;
  #nextPing = 1;
  #lastPing = -Infinity;
  readonly #pending = new Map<number, ClientMessage['type']>();
  /** Offers waiting for the server's answer: request id to transfer id. */
  readonly #offers = new Map<number, string>();
  readonly #events = new FifoQueue<ClientEvent>();
  #nick: string | undefined;
  #lobby: string | undefined;
  #maxTextBytes = DEFAULT_MAX_TEXT_BYTES;
  readonly #rooms = new Map<string, string>();
  readonly #chats = new Map<string, string>();
  #serverKey: Uint8Array | undefined;
  #loginRequired = false;
  /** The server reads a `say` in its compact form (it announced `compact-say`). */
  #compactSay = false;
  /**
   * Files go sealed end to end: the server announced `sealed-files`, and both ends of this stream
   * take clear tails (docs/protocol.md, section 9.9).
   */
  #sealedFiles = false;
  /** {@link ChatClientOptions.sealFiles}. */
  readonly #sealFiles: boolean;
  readonly #transferKeys: TransferKeys;
  #byeSent = false;
  #byeReceived = false;
  #shutdownAnnounced = false;
  #error: LanchatError | undefined;

  /** @throws `InvalidArgumentError` for an option out of range. */
  constructor(options: ChatClientOptions) {
    this.#keepaliveInterval = checkLimit(
      'keepaliveInterval',
      options.keepaliveInterval,
      DEFAULT_KEEPALIVE_INTERVAL,
      1,
      2 ** 31,
    );
    this.#deadTimeout = checkLimit(
      'deadTimeout',
      options.deadTimeout,
      DEFAULT_DEAD_TIMEOUT,
      1,
      2 ** 31,
    );
    this.#unansweredTimeout = checkLimit(
      'unansweredTimeout',
      options.unansweredTimeout,
      DEFAULT_UNANSWERED_TIMEOUT,
      1,
      2 ** 31,
    );
    const crypto = options.crypto;
    this.#transferKeys = new TransferKeys(crypto ?? nodeCryptoProvider);
    this.#sealFiles = options.sealFiles ?? true;
    const channelOptions = {
      initiator: true,
      now: options.now,
      staticKeyPair:
        options.staticKeyPair ?? (crypto ?? nodeCryptoProvider).generateX25519KeyPair(),
      capabilities: [CHAT_CAPABILITY, ROOM_BATCH_CAPABILITY],
      ...(crypto === undefined ? {} : { crypto }),
      ...(options.handshakeTimeout === undefined
        ? {}
        : { handshakeTimeout: options.handshakeTimeout }),
      ...(options.maxBufferedBytes === undefined
        ? {}
        : { maxBufferedBytes: options.maxBufferedBytes }),
    };
    if (options.transport === 'datagram') {
      if (options.serverKey === undefined) {
        throw new InvalidArgumentError('a datagram session needs the server key (serverKey)');
      }
      this.#channel = new DatagramSessionChannel({
        ...channelOptions,
        handshakeMacs: options.serverKey,
      });
    } else {
      this.#channel = new StreamChannel({
        ...channelOptions,
        // File data sealed end to end comes from the server as a clear tail.
        capabilities: [...channelOptions.capabilities, CLEAR_TAIL_CAPABILITY],
        // Each message is decoded as soon as it is read; none outlives its transport message.
        messageViews: true,
      });
    }
    this.#lastSent = options.now;
    this.#lastReceived = options.now;
  }

  /** Where the session is in its life. */
  get state(): ChatClientState {
    return this.#state;
  }

  /** The error that ended the session, if a protocol error did. */
  get error(): LanchatError | undefined {
    return this.#error;
  }

  /** The server's static public key, once the handshake has proven it. */
  get serverKey(): Uint8Array | undefined {
    return this.#serverKey;
  }

  /** Whether the server requires a username and password (known after the handshake). */
  get loginRequired(): boolean {
    return this.#loginRequired;
  }

  /** This session's nickname, once logged in. */
  get nick(): string | undefined {
    return this.#nick;
  }

  /** The server's default room, once logged in. */
  get lobby(): string | undefined {
    return this.#lobby;
  }

  /** The longest text the server relays, in bytes (known after login). */
  get maxTextBytes(): number {
    return this.#maxTextBytes;
  }

  /** The rooms this session is in, as the server spells them. */
  get rooms(): readonly string[] {
    return [...this.#rooms.values()];
  }

  /** The users this session is in a private chat with. */
  get chats(): readonly string[] {
    return [...this.#chats.values()];
  }

  /** Requests sent and not yet answered by the server. */
  get pendingRequests(): number {
    return this.#pending.size;
  }

  /** Bytes waiting to be written. */
  get bufferedOutgoingBytes(): number {
    return this.#channel.bufferedOutgoingBytes;
  }

  /**
   * Logs in. Call it after `server-identified`, once the server's key is trusted.
   *
   * @returns the request id.
   * @throws `InvalidNameError` for a bad nickname, username or room; `InvalidTextError` for a bad
   * password; `InvalidStateError` unless the session is waiting for a login.
   */
  login(details: LoginDetails, now: number): number {
    if (this.#state !== 'identified') {
      throw new InvalidStateError(
        this.#state === 'handshaking'
          ? 'login() must wait for the handshake (the server-identified event)'
          : `login() cannot be called while the session is ${this.#state}`,
      );
    }
    const password =
      details.password instanceof Secret ? details.password.reveal() : details.password;
    const message: ClientMessage = {
      type: 'login',
      id: this.#nextId,
      ...(details.nick === undefined ? {} : { nick: checkNickname(details.nick) }),
      ...(details.user === undefined ? {} : { user: checkName('username', details.user) }),
      ...(password === undefined ? {} : { password: checkPassword(password) }),
      ...(details.rooms === undefined || details.rooms.length === 0
        ? {}
        : { rooms: details.rooms.map((room) => checkRoomName(room)) }),
    };
    this.#state = 'logging-in';
    return this.#request(message, now);
  }

  /** Asks for another nickname. @throws `InvalidNameError`. */
  setNick(nick: string, now: number): number {
    this.#checkOnline('setNick');
    return this.#request({ type: 'nick', id: this.#nextId, nick: checkNickname(nick) }, now);
  }

  /** Joins a room (created if need be). @throws `InvalidNameError`. */
  join(room: string, now: number): number {
    this.#checkOnline('join');
    return this.#request({ type: 'join', id: this.#nextId, room: checkRoomName(room) }, now);
  }

  /** Leaves a room. @throws `InvalidNameError`. */
  leave(room: string, now: number): number {
    this.#checkOnline('leave');
    return this.#request({ type: 'leave', id: this.#nextId, room: checkRoomName(room) }, now);
  }

  /** Asks for the list of rooms (`rooms-listed`). */
  listRooms(now: number): number {
    this.#checkOnline('listRooms');
    return this.#request({ type: 'rooms', id: this.#nextId }, now);
  }

  /** Asks for the users of a room, or of the server (`users-listed`). */
  listUsers(room: string | undefined, now: number): number {
    this.#checkOnline('listUsers');
    return this.#request(
      {
        type: 'users',
        id: this.#nextId,
        ...(room === undefined ? {} : { room: checkRoomName(room) }),
      },
      now,
    );
  }

  /**
   * Offers a file to the user `to`; the server relays the offer. A refusal comes back as
   * `transfer-offer-failed`; the receiver's answer as `transfer-message` events.
   *
   * @returns the request id.
   * @throws `InvalidNameError` for a bad nickname; `InvalidStateError` unless online.
   */
  offerFile(to: string, offer: TransferOffer, now: number): number {
    this.#checkOnline('offerFile');
    const id = this.#request(
      {
        type: 'transfer-offer',
        id: this.#nextId,
        to: checkNickname(to),
        ...toOfferFields(offer),
        // A fresh key for every offer, a resumed one too: no nonce is used twice under a key.
        ...(this.#sealedFiles ? { key: this.#transferKeys.offerKey(offer.transfer) } : {}),
      },
      now,
    );
    this.#offers.set(id, offer.transfer);
    return id;
  }

  /**
   * Sends a transfer message other than an offer (answers, acknowledgements, file data, cancels)
   * to the other side of its transfer, through the server.
   *
   * @throws `InvalidStateError` unless online.
   */
  sendTransfer(message: Exclude<TransferMessage, TransferOffer>, now: number): void {
    this.#checkOnline('sendTransfer');
    if (message.type === 'data') {
      const sealed = this.#transferKeys.seal(message);
      if (sealed !== undefined && this.#channel instanceof StreamChannel) {
        this.#channel.sendWithClearTail(sealed.head, sealed.tail);
      } else {
        this.#channel.send(encodeTransferData(message));
      }
      this.#lastSent = now;
      return;
    }
    const session = toSessionTransfer(message);
    if (session.type === 'transfer-accept') {
      // `sealed` is this session's to say: only for an offer whose key it holds.
      const accept = acceptFields(session);
      this.#sendMessage(
        this.#transferKeys.sealsIncoming(message.transfer) ? { ...accept, sealed: true } : accept,
        now,
      );
    } else {
      this.#sendMessage(session, now);
    }
    if (message.type === 'reject' || message.type === 'done' || message.type === 'cancel') {
      this.#transferKeys.forget(message.transfer);
    }
  }

  /**
   * Bytes of file data worth queueing now: what keeps the session's waiting output under
   * {@link TRANSFER_HIGH_WATER} ({@link DATAGRAM_TRANSFER_HIGH_WATER} over datagrams). Queue data
   * only while it is positive, and chat stays quick.
   */
  get transferCapacity(): number {
    const highWater =
      this.#channel instanceof DatagramSessionChannel
        ? DATAGRAM_TRANSFER_HIGH_WATER
        : TRANSFER_HIGH_WATER;
    return Math.max(0, highWater - this.#channel.bufferedOutgoingBytes);
  }

  /**
   * Sends a message to a room this session is in.
   *
   * @returns the message id (answered by `message-delivered` or `message-failed`).
   * @throws `InvalidTextError` when the text is empty, too long (the server's limit) or holds
   * control characters; `InvalidNameError`.
   */
  say(room: string, text: string, now: number): number {
    this.#checkOnline('say');
    return this.#request(
      {
        type: 'say',
        id: this.#nextId,
        ts: now,
        room: checkRoomName(room),
        text: checkText(text, this.#maxTextBytes),
      },
      now,
    );
  }

  /**
   * Sends a private message; `chat: true` for a message inside the consent chat with that user.
   *
   * @returns the message id. @throws like {@link ChatClient.say}.
   */
  sendPrivate(
    nick: string,
    text: string,
    now: number,
    options: { readonly chat?: boolean } = {},
  ): number {
    this.#checkOnline('sendPrivate');
    return this.#request(
      {
        type: 'private',
        id: this.#nextId,
        ts: now,
        to: checkNickname(nick),
        text: checkText(text, this.#maxTextBytes),
        ...(options.chat === true ? { chat: true } : {}),
      },
      now,
    );
  }

  /** Asks `nick` for a private chat (or accepts theirs). */
  requestChat(nick: string, now: number): number {
    this.#checkOnline('requestChat');
    return this.#request(
      { type: 'chat-request', id: this.#nextId, nick: checkNickname(nick) },
      now,
    );
  }

  /** Accepts `nick`'s request for a private chat. */
  acceptChat(nick: string, now: number): number {
    this.#checkOnline('acceptChat');
    return this.#request({ type: 'chat-accept', id: this.#nextId, nick: checkNickname(nick) }, now);
  }

  /** Declines `nick`'s request for a private chat. */
  declineChat(nick: string, now: number): number {
    this.#checkOnline('declineChat');
    return this.#request(
      { type: 'chat-decline', id: this.#nextId, nick: checkNickname(nick) },
      now,
    );
  }

  /** Ends the private chat with `nick` (or withdraws the request). */
  endChat(nick: string, now: number): number {
    this.#checkOnline('endChat');
    return this.#request({ type: 'chat-end', id: this.#nextId, nick: checkNickname(nick) }, now);
  }

  /** Says how present this user is. */
  setPresence(presence: Presence, now: number): number {
    this.#checkOnline('setPresence');
    return this.#request({ type: 'presence', id: this.#nextId, presence }, now);
  }

  /**
   * Says goodbye: sends `bye` and closes the channel. `session-closed` (reason `bye`) follows when
   * the server's close arrives. Calling it again, or after the session ended, does nothing.
   */
  bye(now: number, reason?: string): void {
    if (this.#state === 'closed' || this.#byeSent) return;
    this.#byeSent = true;
    if (this.#channel.state === 'open') {
      this.#sendMessage({ type: 'bye', ...(reason === undefined ? {} : { reason }) }, now);
    }
    if (this.#channel.error === undefined) this.#channel.close();
    this.#state = 'closing';
  }

  /** Feeds bytes read from the socket. Protocol errors end the session (`session-closed`). */
  receive(data: Uint8Array, now: number): void {
    if (this.#state === 'closed') return;
    this.#lastReceived = now;
    this.#step(() => {
      this.#channel.receive(data, now);
    }, now);
  }

  /** Tells the session that the socket reached its end. */
  receiveEnd(now: number): void {
    if (this.#state === 'closed') return;
    this.#step(() => {
      this.#channel.receiveEnd(now);
    }, now);
  }

  /**
   * Tells the session that the socket closed or failed (reset, unreachable): it ends, not
   * gracefully, and requests waiting for an answer fail.
   */
  connectionLost(): void {
    if (this.#state !== 'closed') this.#close('connection-lost', false);
  }

  /** The next bytes to write, or `undefined`. */
  pollTransmit(): Uint8Array | undefined {
    if (this.#channel.error !== undefined) return undefined;
    return this.#channel.pollTransmit();
  }

  /** The next event, or `undefined`. */
  nextEvent(): ClientEvent | undefined {
    return this.#events.shift();
  }

  /** The next deadline: the handshake's, the next keepalive ping, or dead-connection detection. */
  pollTimeout(): number | undefined {
    if (this.#state === 'closed') return undefined;
    if (this.#state === 'handshaking') return this.#channel.pollTimeout();
    const dead = this.#deadAt();
    // A datagram channel resends on timers of its own; a stream channel has none after the handshake.
    const channel = this.#channel.pollTimeout() ?? Infinity;
    if (this.#state === 'closing') return Math.min(dead, channel);
    return Math.min(dead, this.#nextKeepalive(), channel);
  }

  /**
   * When the link is given up as dead: nothing heard for `deadTimeout`, or (over datagrams)
   * output unacknowledged for `unansweredTimeout`.
   */
  #deadAt(): number {
    const waiting = this.#channel.unacknowledgedSince;
    const silent = this.#lastReceived + this.#deadTimeout;
    return waiting === undefined ? silent : Math.min(silent, waiting + this.#unansweredTimeout);
  }

  /** Acts on the time: fails a late handshake, sends a keepalive ping, or gives up a dead link. */
  handleTimeout(now: number): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'handshaking') {
      this.#step(() => {
        this.#channel.handleTimeout(now);
      }, now);
      return;
    }
    this.#step(() => {
      this.#channel.handleTimeout(now);
    }, now);
    if (this.state === 'closed') return;
    if (now >= this.#deadAt()) {
      this.#close('timeout', false);
      return;
    }
    if (this.#state !== 'closing' && now >= this.#nextKeepalive()) {
      this.#lastPing = now;
      this.#step(() => {
        this.#sendMessage({ type: 'ping', n: this.#nextPing++ }, now);
      }, now);
    }
  }

  /**
   * When to ping: once the link has been quiet for an interval in either direction (the server
   * ends connections it hears nothing from), but not more than once per interval.
   */
  #nextKeepalive(): number {
    const quietSince = Math.min(this.#lastSent, this.#lastReceived);
    return Math.max(quietSince, this.#lastPing) + this.#keepaliveInterval;
  }

  // -------------------------------------------------------------------------------------------

  #checkOnline(what: string): void {
    if (this.#state !== 'online') {
      throw new InvalidStateError(
        `${what}() needs a logged-in session; the session is ${this.#state}`,
      );
    }
  }

  #request(message: ClientMessage & { readonly id: number }, now: number): number {
    if (this.#pending.size >= MAX_PENDING_REQUESTS) {
      throw new InvalidStateError(
        `${MAX_PENDING_REQUESTS} requests are waiting for the server's answer`,
      );
    }
    this.#sendMessage(message, now);
    this.#nextId++;
    this.#pending.set(message.id, message.type);
    return message.id;
  }

  #sendMessage(message: ClientMessage, now: number): void {
    this.#channel.send(
      message.type === 'say' && this.#compactSay
        ? encodeCompactSay(message)
        : encodeSessionMessage(message),
    );
    this.#lastSent = now;
  }

  /**
   * Opens file data sealed end to end. A chunk that cannot be opened fails its transfer, not the
   * session: the fault may be the sender's as well as the way's.
   */
  #sealedData(payload: Uint8Array): void {
    // Too short to name its transfer: the server broke the protocol, and the session ends.
    const sealed = readSealedTransferData(payload);
    try {
      this.#events.push({ type: 'transfer-message', message: this.#transferKeys.open(sealed) });
    } catch (error) {
      const code = TamperedError.isInstance(error)
        ? 'tampered'
        : MalformedSessionMessageError.isInstance(error)
          ? 'protocol-error'
          : undefined;
      if (code === undefined) throw error;
      this.#transferKeys.forget(sealed.transfer);
      this.#events.push({
        type: 'transfer-data-refused',
        transfer: sealed.transfer,
        code,
        message: (error as Error).message,
      });
    }
  }

  #step(step: () => void, now: number): void {
    try {
      step();
      this.#drainChannel(now);
    } catch (error) {
      if (!LanchatError.isInstance(error)) throw error;
      this.#error = error;
      this.#close('protocol-error', false);
    }
  }

  #drainChannel(now: number): void {
    const channel = this.#channel;
    for (let event = channel.nextEvent(); event !== undefined; event = channel.nextEvent()) {
      switch (event.type) {
        case 'handshake-completed':
          if (!event.remoteCapabilities.includes(CHAT_CAPABILITY)) {
            throw new MalformedSessionMessageError(
              `the server does not announce the "${CHAT_CAPABILITY}" capability`,
            );
          }
          this.#serverKey = event.remoteStaticKey;
          this.#loginRequired = event.remoteCapabilities.includes(LOGIN_REQUIRED_CAPABILITY);
          this.#compactSay = event.remoteCapabilities.includes(COMPACT_SAY_CAPABILITY);
          this.#sealedFiles =
            this.#sealFiles &&
            this.#channel instanceof StreamChannel &&
            event.remoteCapabilities.includes(SEALED_FILES_CAPABILITY) &&
            event.remoteCapabilities.includes(CLEAR_TAIL_CAPABILITY);
          if (this.#state === 'handshaking') this.#state = 'identified';
          this.#events.push({
            type: 'server-identified',
            serverKey: event.remoteStaticKey!,
            version: event.remoteVersion,
            capabilities: event.remoteCapabilities,
            loginRequired: this.#loginRequired,
          });
          break;
        case 'message-received':
          // The busiest message, read straight into its event.
          if (event.payload[0] === ROOM_MESSAGE_KIND) {
            this.#events.push(decodeRoomMessage(event.payload, 'message-received'));
          } else if (event.payload[0] === ROOM_BATCH_KIND) {
            for (const message of decodeRoomBatch(event.payload, 'message-received')) {
              this.#events.push(message);
            }
          } else if (event.payload[0] === TRANSFER_DATA_KIND) {
            this.#events.push({
              type: 'transfer-message',
              message: decodeTransferData(event.payload),
            });
          } else if (event.payload[0] === SEALED_TRANSFER_DATA_KIND) {
            this.#sealedData(event.payload);
          } else {
            this.#handleMessage(decodeServerMessage(event.payload), now);
          }
          break;
        case 'channel-closed':
          this.#close(
            this.#byeSent
              ? 'bye'
              : this.#shutdownAnnounced
                ? 'shutdown'
                : this.#byeReceived
                  ? 'server-bye'
                  : 'connection-lost',
            event.graceful,
          );
          return;
      }
    }
  }

  #handleMessage(message: ServerMessage, now: number): void {
    switch (message.type) {
      case 'welcome':
        this.#answered(message.re);
        this.#state = 'online';
        this.#nick = message.nick;
        this.#lobby = message.lobby;
        this.#maxTextBytes = message.maxText;
        this.#events.push({
          type: 'login-succeeded',
          nick: message.nick,
          user: message.user,
          server: message.server,
          accounts: message.accounts,
          lobby: message.lobby,
          rooms: message.rooms,
          maxTextBytes: message.maxText,
        });
        return;
      case 'login-failed':
        this.#answered(message.re);
        if (this.#state === 'logging-in') this.#state = 'identified';
        this.#events.push({
          type: 'login-failed',
          code: message.code,
          message: message.message,
          retryAfter: message.retryAfter,
        });
        return;
      case 'ack': {
        const request = this.#answered(message.re);
        this.#offers.delete(message.re);
        if (request === 'say' || request === 'private') {
          this.#events.push({ type: 'message-delivered', id: message.re });
        }
        return;
      }
      case 'nack': {
        const request = this.#answered(message.re);
        const transfer = this.#offers.get(message.re);
        if (transfer !== undefined) {
          this.#offers.delete(message.re);
          this.#events.push({
            type: 'transfer-offer-failed',
            transfer,
            code: message.code,
            message: message.message,
          });
          return;
        }
        this.#events.push(
          request === 'say' || request === 'private'
            ? {
                type: 'message-failed',
                id: message.re,
                code: message.code,
                message: message.message,
              }
            : {
                type: 'request-failed',
                id: message.re,
                request: request ?? 'login',
                code: message.code,
                message: message.message,
              },
        );
        return;
      }
      case 'room-joined':
        if (message.re !== undefined) this.#answered(message.re);
        this.#rooms.set(nameKey(message.room), message.room);
        this.#events.push({ type: 'room-joined', room: message.room, members: message.members });
        return;
      case 'room-left':
        if (message.re !== undefined) this.#answered(message.re);
        this.#rooms.delete(nameKey(message.room));
        this.#events.push({ type: 'room-left', room: message.room });
        return;
      case 'room-list':
        this.#answered(message.re);
        this.#events.push({ type: 'rooms-listed', rooms: message.rooms });
        return;
      case 'user-list':
        this.#answered(message.re);
        this.#events.push({
          type: 'users-listed',
          room: message.room,
          users: message.users,
          more: message.more ?? 0,
        });
        return;
      case 'message':
        this.#events.push({
          type: 'message-received',
          id: message.id,
          ts: message.ts,
          room: message.room,
          from: message.from,
          text: message.text,
        });
        return;
      case 'private':
        this.#events.push({
          type: 'private-message-received',
          id: message.id,
          ts: message.ts,
          from: message.from,
          text: message.text,
          chat: message.chat,
        });
        return;
      case 'user-joined':
      case 'user-connected':
        this.#events.push({ ...message });
        return;
      case 'user-left':
      case 'user-disconnected':
        this.#events.push({ ...message });
        return;
      case 'nick-changed': {
        const self = this.#nick !== undefined && nameKey(message.old) === nameKey(this.#nick);
        if (self) this.#nick = message.nick;
        const chat = this.#chats.get(nameKey(message.old));
        if (chat !== undefined) {
          this.#chats.delete(nameKey(message.old));
          this.#chats.set(nameKey(message.nick), message.nick);
        }
        this.#events.push({ type: 'nick-changed', old: message.old, nick: message.nick, self });
        return;
      }
      case 'presence-changed':
        this.#events.push({
          type: 'presence-changed',
          nick: message.nick,
          presence: message.presence,
        });
        return;
      case 'chat-requested':
      case 'chat-declined':
        this.#events.push({ type: message.type, nick: message.nick });
        return;
      case 'chat-started':
        this.#chats.set(nameKey(message.nick), message.nick);
        this.#events.push({ type: 'chat-started', nick: message.nick });
        return;
      case 'chat-ended':
        this.#chats.delete(nameKey(message.nick));
        this.#events.push({ type: 'chat-ended', nick: message.nick, by: message.by });
        return;
      case 'shutdown':
        this.#shutdownAnnounced = true;
        this.#events.push({ type: 'server-shutdown', message: message.message });
        return;
      case 'error':
        this.#events.push({ type: 'server-error', code: message.code, message: message.message });
        return;
      case 'ping':
        this.#sendMessage({ type: 'pong', n: message.n }, now);
        return;
      case 'pong':
        return;
      case 'transfer-offer':
        // A key is taken only where sealed data can come (a stream that takes clear tails).
        this.#transferKeys.offered(message.transfer, this.#sealedFiles ? message.key : undefined);
        this.#events.push({
          type: 'transfer-offered',
          from: message.from,
          offer: fromOfferFields(message),
        });
        return;
      case 'transfer-accept': {
        // Sealed only if this side made a key for the offer: the sender's machine then sends
        // sealed-size chunks.
        const sealed = this.#transferKeys.answered(message.transfer, message.sealed === true);
        this.#events.push({
          type: 'transfer-message',
          message: { ...fromSessionTransfer(acceptFields(message)), ...(sealed ? { sealed } : {}) },
        });
        return;
      }
      case 'transfer-reject':
      case 'transfer-done':
      case 'transfer-cancel':
        this.#transferKeys.forget(message.transfer);
        this.#events.push({ type: 'transfer-message', message: fromSessionTransfer(message) });
        return;
      case 'transfer-ack':
        this.#events.push({ type: 'transfer-message', message: fromSessionTransfer(message) });
        return;
      case 'transfer-interrupted':
        this.#events.push({ type: 'transfer-interrupted', transfer: message.transfer });
        return;
      case 'bye':
        this.#byeReceived = true;
        if (this.#state !== 'closing') this.#state = 'closing';
        return;
    }
  }

  /** Takes a request off the waiting list; returns its type, or undefined if none waits. */
  #answered(re: number): ClientMessage['type'] | undefined {
    const request = this.#pending.get(re);
    if (request === undefined) {
      throw new MalformedSessionMessageError(
        `the server answered request ${re}, which was not waiting`,
      );
    }
    this.#pending.delete(re);
    return request;
  }

  #close(reason: SessionEndReason, graceful: boolean): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    for (const [id, request] of this.#pending) {
      if (request === 'say' || request === 'private') {
        this.#events.push({
          type: 'message-failed',
          id,
          code: 'session-closed',
          message: 'the session ended before the server confirmed the message',
        });
      }
    }
    this.#pending.clear();
    this.#offers.clear();
    this.#transferKeys.clear();
    this.#events.push({ type: 'session-closed', reason, graceful, error: this.#error });
  }
}

/** An accept without its `sealed` field, which each session sets for itself. */
function acceptFields(message: TransferAcceptMessage): TransferAcceptMessage {
  return {
    type: message.type,
    transfer: message.transfer,
    offset: message.offset,
    window: message.window,
    attempt: message.attempt,
  };
}
