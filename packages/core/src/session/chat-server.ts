/**
 * The server side of the chat session protocol (docs/protocol.md, section 8), sans-I/O: one
 * object holds every connection, user and room of a server. An adapter (`@lanchat/tcp`) feeds it
 * bytes per connection and writes what it hands out.
 *
 * @module
 */

import type { CryptoProvider, X25519KeyPair } from '../crypto/crypto-provider.js';
import { BufferFullError } from '../errors/channel-errors.js';
import { NotLanchatError } from '../errors/frame-errors.js';
import { HandshakeTimeoutError } from '../errors/noise-errors.js';
import { InvalidArgumentError, LanchatError } from '../errors/lanchat-error.js';
import {
  InvalidNameError,
  InvalidTextError,
  MalformedSessionMessageError,
} from '../errors/session-errors.js';
import { checkLimit } from '../frame/limits.js';
import { DatagramSessionChannel } from '../channel/datagram-session-channel.js';
import type { SessionChannel } from '../channel/session-channel.js';
import { CLEAR_TAIL_CAPABILITY, StreamChannel } from '../channel/stream-channel.js';
import { LoginLimiter, type LoginLimiterOptions } from './login-limiter.js';
import {
  DEFAULT_MAX_TEXT_BYTES,
  DEFAULT_ROOM,
  checkName,
  checkNickname,
  checkPassword,
  checkRoomName,
  checkText,
  nameKey,
} from './names.js';
import { FifoQueue } from '../util/fifo-queue.js';
import {
  SEALED_TRANSFER_DATA_HEADER_LENGTH,
  SEALED_TRANSFER_DATA_KIND,
  TRANSFER_DATA_KIND,
} from './transfer-data.js';
import { DEFAULT_MAX_TRANSFERS_PER_USER, TransferRelay } from './transfer-relay.js';
import { Secret } from './secret.js';
import {
  type ClientMessage,
  type LeaveReason,
  type Presence,
  type ServerMessage,
  type UserInfo,
  decodeClientMessage,
  encodeSessionMessage,
} from './session-messages.js';
import {
  CHAT_CAPABILITY,
  COMPACT_SAY_CAPABILITY,
  DEFAULT_UNANSWERED_TIMEOUT,
  LOGIN_REQUIRED_CAPABILITY,
  ROOM_BATCH_CAPABILITY,
  ROOM_BATCH_TEXT_BUDGET,
  SEALED_FILES_CAPABILITY,
} from './session-options.js';
import {
  MAX_ROOM_BATCH_COUNT,
  ROOM_BATCH_ENTRY_LENGTH,
  type RoomBatchEntry,
  encodeRoomBatch,
  encodeRoomMessage,
} from './room-message.js';
import { copyBytes } from '../util/bytes.js';

/** Default most connections a server holds: 4096. */
export const DEFAULT_MAX_CONNECTIONS = 4096;
/** Default most connections still in their handshake or login at once: 256. */
export const DEFAULT_MAX_PENDING_CONNECTIONS = 256;
/** Default time from connection to completed login, in ms: 30 s. */
export const DEFAULT_LOGIN_TIMEOUT = 30_000;
/** Default time a connection may stay silent before the server ends it, in ms: 90 s. */
export const DEFAULT_IDLE_TIMEOUT = 90_000;
/**
 * Default bound on output waiting for one connection, in bytes: 8 MiB. A client that stops
 * reading is disconnected (reason `too-slow`) when its backlog would pass it, so that it never
 * makes the server buffer without bound. Half of it may be file data (the windows of the
 * connection's incoming transfers, one default window); the rest is room for about 40,000 chat
 * messages.
 */
export const DEFAULT_MAX_BACKLOG_BYTES = 8 * 1_048_576;

/**
 * Bytes a connection's channel may hold before file data waits outside it: 256 KiB. Chat queued
 * for a connection goes straight into its channel, so it waits behind at most this much file data.
 */
export const DATA_HIGH_WATER = 256 * 1024;

/**
 * The same bound for a datagram connection: 64 KiB. Its segments leave at the pace of its
 * acknowledgements (some MB/s), so what waits inside it is time chat waits behind: 256 KiB was
 * about 25 ms more.
 */
export const DATAGRAM_DATA_HIGH_WATER = 64 * 1024;
/** Default most rooms on a server: 1024. */
export const DEFAULT_MAX_ROOMS = 1024;
/** Default most rooms one user is in: 32. */
export const DEFAULT_MAX_ROOMS_PER_USER = 32;
/** Default most private-chat requests one user has waiting: 16. */
export const DEFAULT_MAX_CHAT_REQUESTS = 16;
/** Most users described in one `user-list` answer; the rest are counted in `more`. */
export const MAX_LISTED_USERS = 2000;

/** Options of a {@link ChatServer}. */
export interface ChatServerOptions {
  /** The server's long-term key pair: its identity, pinned by clients. */
  readonly staticKeyPair: X25519KeyPair;
  /** The server's name, shown to users. Default `"lanchat"`. */
  readonly name?: string;
  /** True to require login with username and password (checked by the adapter). Default false. */
  readonly accounts?: boolean;
  /** The room everyone joins at login. Default {@link DEFAULT_ROOM}. */
  readonly lobby?: string;
  /** Default node:crypto. */
  readonly crypto?: CryptoProvider;
  /** Default {@link DEFAULT_MAX_CONNECTIONS}. */
  readonly maxConnections?: number;
  /** Default {@link DEFAULT_MAX_PENDING_CONNECTIONS}. */
  readonly maxPendingConnections?: number;
  /** Longest text relayed, in bytes of UTF-8. Default {@link DEFAULT_MAX_TEXT_BYTES}. */
  readonly maxTextBytes?: number;
  /** Default {@link DEFAULT_MAX_ROOMS}. */
  readonly maxRooms?: number;
  /** Default {@link DEFAULT_MAX_ROOMS_PER_USER}. */
  readonly maxRoomsPerUser?: number;
  /** Default {@link DEFAULT_MAX_CHAT_REQUESTS}. */
  readonly maxChatRequests?: number;
  /** Default {@link DEFAULT_MAX_BACKLOG_BYTES}. */
  readonly maxBacklogBytes?: number;
  /**
   * File transfers one user may have going at once, each way. Default
   * {@link DEFAULT_MAX_TRANSFERS_PER_USER}.
   */
  readonly maxTransfersPerUser?: number;
  /** Handshake deadline, in ms. Default the channel's, 10 s. */
  readonly handshakeTimeout?: number;
  /** Default {@link DEFAULT_LOGIN_TIMEOUT}. */
  readonly loginTimeout?: number;
  /** Default {@link DEFAULT_IDLE_TIMEOUT}. */
  readonly idleTimeout?: number;
  /**
   * Over datagrams: how long output to a client may go unacknowledged before the client is taken
   * as gone (its session ends, freeing its nickname). Default {@link DEFAULT_UNANSWERED_TIMEOUT}.
   */
  readonly unansweredTimeout?: number;
  /** Rate limiting of failed logins. */
  readonly loginLimiter?: LoginLimiterOptions;
}

/** Why the server ends a connection. */
export type ConnectionEndReason =
  | 'bye'
  | 'closed'
  | 'handshake-timeout'
  | 'login-timeout'
  | 'idle-timeout'
  | 'protocol-error'
  | 'too-slow'
  | 'shutdown'
  | 'disconnected';

/** The server refused a new connection (too many): close the socket. */
export interface ConnectionRefusedEvent {
  readonly type: 'connection-refused';
  readonly address: string;
  readonly reason: 'server-full' | 'too-many-pending' | 'shutting-down';
}

/**
 * A login on an account server needs its password checked: check it (scrypt takes time, so the
 * server does not wait) and call {@link ChatServer.completeLogin}. Never log the password: it is
 * a {@link Secret}.
 */
export interface LoginRequestedEvent {
  readonly type: 'login-requested';
  readonly connection: number;
  readonly address: string;
  readonly user: string;
  readonly password: Secret;
}

/** A user logged in. */
export interface UserLoggedInEvent {
  readonly type: 'user-logged-in';
  readonly connection: number;
  readonly address: string;
  readonly nick: string;
  readonly user: string | undefined;
}

/** A login was refused (wrong password, name taken, rate limited...). */
export interface LoginRefusedEvent {
  readonly type: 'login-refused';
  readonly connection: number;
  readonly address: string;
  readonly code: string;
  readonly user: string | undefined;
  readonly nick: string | undefined;
}

/** A user changed nickname. */
export interface NicknameChangedEvent {
  readonly type: 'nickname-changed';
  readonly connection: number;
  readonly old: string;
  readonly nick: string;
}

/** A user left the server. */
export interface UserLoggedOutEvent {
  readonly type: 'user-logged-out';
  readonly connection: number;
  readonly nick: string;
  readonly reason: LeaveReason;
}

/** A room came into being: someone joined it. */
export interface RoomCreatedEvent {
  readonly type: 'room-created';
  readonly room: string;
}

/** A room went away: its last member left. */
export interface RoomRemovedEvent {
  readonly type: 'room-removed';
  readonly room: string;
}

/** A connection broke the protocol: `error` says how (log it). `connection-ending` follows. */
export interface ConnectionFailedEvent {
  readonly type: 'connection-failed';
  readonly connection: number;
  readonly address: string;
  readonly error: LanchatError;
}

/**
 * The server is done with a connection: write what {@link ChatServer.pollTransmitFor} still gives
 * for it, then end the socket (`graceful`) or destroy it at once (not graceful), and call
 * {@link ChatServer.connectionClosed} when the socket has closed.
 */
export interface ConnectionEndingEvent {
  readonly type: 'connection-ending';
  readonly connection: number;
  readonly graceful: boolean;
  readonly reason: ConnectionEndReason;
}

/** Everything a {@link ChatServer} reports. */
export type ServerEvent =
  | ConnectionRefusedEvent
  | LoginRequestedEvent
  | UserLoggedInEvent
  | LoginRefusedEvent
  | NicknameChangedEvent
  | UserLoggedOutEvent
  | RoomCreatedEvent
  | RoomRemovedEvent
  | ConnectionFailedEvent
  | ConnectionEndingEvent;

/** Output for one connection. */
export interface ServerTransmit {
  readonly connection: number;
  readonly data: Uint8Array;
}

/** Counters of a server. */
export interface ServerStatistics {
  readonly connections: number;
  readonly users: number;
  readonly rooms: number;
  /** Messages relayed to rooms and to users since start. */
  readonly messagesRelayed: number;
  /** Connections ended for being too slow to read. */
  readonly slowConsumersDropped: number;
  /** Connections failed by protocol errors. */
  readonly protocolErrors: number;
  /** File transfers being relayed. */
  readonly transfers: number;
}

type Phase = 'handshaking' | 'login' | 'verifying' | 'online' | 'ending';

interface PendingLogin {
  readonly re: number;
  readonly nick: string | undefined;
  readonly user: string;
  readonly rooms: readonly string[];
}

interface Connection {
  readonly id: number;
  readonly address: string;
  readonly host: string;
  readonly channel: SessionChannel;
  readonly openedAt: number;
  phase: Phase;
  lastReceived: number;
  writable: boolean;
  /** Bytes to write outside the channel: a plain-text answer to a stranger. */
  raw: Uint8Array | undefined;
  /**
   * File data waiting to enter the channel, behind the chat: it goes in only while the channel
   * holds less than {@link DATA_HIGH_WATER}, so that a chat line never waits behind a window of
   * file data.
   */
  readonly data: FifoQueue<Uint8Array>;
  dataBytes: number;
  user: User | undefined;
  pendingLogin: PendingLogin | undefined;
  byeReceived: boolean;
  /**
   * Whether the client's first bytes were lanchat's. The server holds its own preamble back until
   * then, so that a stranger (a browser) gets a clean plain-text answer and nothing else.
   */
  heard: boolean;
  /** Whether the client announced `room-batch`: it is sent room batches (kind `0x03`). */
  roomBatches: boolean;
}

interface User {
  readonly connection: Connection;
  nick: string;
  key: string;
  readonly account: string | undefined;
  presence: Presence;
  readonly rooms: Set<Room>;
  /** Users this user asked for a private chat, waiting for their answer. */
  readonly requestsSent: Set<User>;
  /** Users who asked this user for a private chat. */
  readonly requestsReceived: Set<User>;
  /** Users this user is in a private chat with. */
  readonly chats: Set<User>;
}

interface Room {
  readonly name: string;
  readonly key: string;
  readonly members: Set<User>;
}

/**
 * Room messages from one sender to one room, gathered while the server reads that sender's input,
 * and sent to the room's other members together: to each as one room batch (or, for a client
 * without `room-batch`, one by one).
 */
interface PendingBatch {
  readonly room: Room;
  readonly sender: User;
  /** The sender's nickname when the first message came (a rename sends the batch first). */
  readonly from: string;
  readonly entries: RoomBatchEntry[];
  /** The texts' UTF-16 lengths, plus each entry's fixed bytes. */
  size: number;
}

/** Bytes of a user-list answer past which the list is cut (the rest is counted in `more`). */
const USER_LIST_BUDGET = 512 * 1024;

function httpRefusal(): Uint8Array {
  const body =
    'This port speaks the lanchat protocol, not HTTP.\n' +
    'Connect with the lanchat client: lanchat connect HOST[:PORT]\n';
  return new TextEncoder().encode(
    'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * The chat server, sans-I/O.
 *
 * For each accepted socket call {@link ChatServer.accept}, then {@link ChatServer.receive} with
 * what it reads, {@link ChatServer.receiveEnd} at its end and {@link ChatServer.connectionClosed}
 * when it closes. After each batch of input, write out everything {@link ChatServer.pollTransmit}
 * hands out (one buffer per connection per call: output queued in one turn is sealed together),
 * act on the events of {@link ChatServer.nextEvent}, and arm a timer for
 * {@link ChatServer.pollTimeout}. When a socket's write buffer is full, call
 * {@link ChatServer.setWritable} with false, and true again on `drain`.
 *
 * A protocol error on one connection fails that connection only: it is reported as events,
 * never thrown. The methods throw only for the caller's own mistakes (an unknown connection id).
 */
export class ChatServer {
  readonly #options: ChatServerOptions;
  readonly #name: string;
  readonly #accounts: boolean;
  readonly #lobby: string;
  readonly #maxConnections: number;
  readonly #maxPending: number;
  readonly #maxTextBytes: number;
  readonly #maxRooms: number;
  readonly #maxRoomsPerUser: number;
  readonly #maxChatRequests: number;
  readonly #maxBacklogBytes: number;
  readonly #transfers: TransferRelay<User>;
  readonly #loginTimeout: number;
  readonly #idleTimeout: number;
  readonly #unansweredTimeout: number;
  readonly #limiter: LoginLimiter;

  readonly #connections = new Map<number, Connection>();
  readonly #users = new Map<string, User>();
  readonly #rooms = new Map<string, Room>();
  /** Connections that may have output. */
  readonly #dirty = new Set<Connection>();
  /** Connections whose backlog overflowed, dropped at the end of the current step. */
  readonly #overflowed = new Set<Connection>();
  readonly #events = new FifoQueue<ServerEvent>();
  #nextConnectionId = 1;
  #nextMessageId = 1;
  #pending = 0;
  /** Room messages not yet sent to the room's members (see {@link PendingBatch}). */
  #batch: PendingBatch | undefined;
  /**
   * Never later than the earliest deadline of any connection; `Infinity` when none has one. Lowered
   * as connections come and change phase, made exact by each {@link ChatServer.handleTimeout}.
   */
  #earliestDeadline = Infinity;
  #shuttingDown = false;
  #messagesRelayed = 0;
  #slowConsumersDropped = 0;
  #protocolErrors = 0;

  /** @throws `InvalidArgumentError` for an option out of range or an invalid lobby name. */
  constructor(options: ChatServerOptions) {
    this.#options = options;
    this.#name = options.name ?? 'lanchat';
    this.#accounts = options.accounts ?? false;
    this.#lobby = checkRoomName(options.lobby ?? DEFAULT_ROOM);
    this.#maxConnections = checkLimit(
      'maxConnections',
      options.maxConnections,
      DEFAULT_MAX_CONNECTIONS,
      1,
      1_000_000,
    );
    this.#maxPending = checkLimit(
      'maxPendingConnections',
      options.maxPendingConnections,
      DEFAULT_MAX_PENDING_CONNECTIONS,
      1,
      1_000_000,
    );
    this.#maxTextBytes = checkLimit(
      'maxTextBytes',
      options.maxTextBytes,
      DEFAULT_MAX_TEXT_BYTES,
      1,
      65_536,
    );
    this.#maxRooms = checkLimit('maxRooms', options.maxRooms, DEFAULT_MAX_ROOMS, 1, 1_000_000);
    this.#maxRoomsPerUser = checkLimit(
      'maxRoomsPerUser',
      options.maxRoomsPerUser,
      DEFAULT_MAX_ROOMS_PER_USER,
      1,
      10_000,
    );
    this.#maxChatRequests = checkLimit(
      'maxChatRequests',
      options.maxChatRequests,
      DEFAULT_MAX_CHAT_REQUESTS,
      1,
      10_000,
    );
    this.#maxBacklogBytes = checkLimit(
      'maxBacklogBytes',
      options.maxBacklogBytes,
      DEFAULT_MAX_BACKLOG_BYTES,
      65_536,
      2 ** 40,
    );
    // File data waiting for one receiver stays within half its backlog, so that a receiver that
    // reads slowly slows its senders rather than being dropped as too slow.
    this.#transfers = new TransferRelay<User>(
      {
        send: (user, message) => {
          this.#send(user.connection, message);
        },
        sendBytes: (user, bytes) => {
          this.#sendData(user.connection, bytes);
        },
      },
      checkLimit(
        'maxTransfersPerUser',
        options.maxTransfersPerUser,
        DEFAULT_MAX_TRANSFERS_PER_USER,
        1,
        10_000,
      ),
      Math.floor(this.#maxBacklogBytes / 2),
    );
    this.#loginTimeout = checkLimit(
      'loginTimeout',
      options.loginTimeout,
      DEFAULT_LOGIN_TIMEOUT,
      1,
      2 ** 31,
    );
    this.#idleTimeout = checkLimit(
      'idleTimeout',
      options.idleTimeout,
      DEFAULT_IDLE_TIMEOUT,
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
    this.#limiter = new LoginLimiter(options.loginLimiter);
    if (options.name !== undefined && (options.name.length === 0 || options.name.length > 64)) {
      throw new InvalidArgumentError('the server name must be 1 to 64 characters');
    }
  }

  /** The default room. */
  get lobby(): string {
    return this.#lobby;
  }

  /** Whether the server requires login. */
  get accounts(): boolean {
    return this.#accounts;
  }

  /** The server's static public key (what clients pin, and what datagram handshakes are keyed by). */
  get publicKey(): Uint8Array {
    return copyBytes(this.#options.staticKeyPair.publicKey);
  }

  /** Counters, for logs and tests. */
  get statistics(): ServerStatistics {
    return {
      connections: this.#connections.size,
      users: this.#users.size,
      rooms: this.#rooms.size,
      messagesRelayed: this.#messagesRelayed,
      slowConsumersDropped: this.#slowConsumersDropped,
      protocolErrors: this.#protocolErrors,
      transfers: this.#transfers.size,
    };
  }

  /**
   * Takes a new connection. Returns its id, or `undefined` when the server refuses it (too many
   * connections, too many still in their handshake, or shutting down): a `connection-refused`
   * event says why; close the socket.
   *
   * @param address - how events name the peer, e.g. `192.168.1.7:51234`.
   * @param host - the peer's host alone (no port), under which failed logins are counted.
   * @param transport - `stream` (TCP, WebSocket: the default) or `datagram` (UDP: each
   * {@link receive} is one datagram, and each {@link pollTransmit} one datagram to send; the
   * handshake datagrams carry MACs keyed by this server's public key, protocol section 7.1).
   */
  accept(
    now: number,
    address = 'unknown',
    host = address,
    transport: 'stream' | 'datagram' = 'stream',
  ): number | undefined {
    const refusal = this.#shuttingDown
      ? 'shutting-down'
      : this.#connections.size >= this.#maxConnections
        ? 'server-full'
        : this.#pending >= this.#maxPending
          ? 'too-many-pending'
          : undefined;
    if (refusal !== undefined) {
      this.#events.push({ type: 'connection-refused', address, reason: refusal });
      return undefined;
    }
    const channelOptions = {
      initiator: false,
      now,
      staticKeyPair: this.#options.staticKeyPair,
      capabilities: this.#accounts
        ? [CHAT_CAPABILITY, COMPACT_SAY_CAPABILITY, LOGIN_REQUIRED_CAPABILITY]
        : [CHAT_CAPABILITY, COMPACT_SAY_CAPABILITY],
      maxBufferedBytes: this.#maxBacklogBytes,
      ...(this.#options.crypto === undefined ? {} : { crypto: this.#options.crypto }),
      ...(this.#options.handshakeTimeout === undefined
        ? {}
        : { handshakeTimeout: this.#options.handshakeTimeout }),
    };
    const channel: SessionChannel =
      transport === 'datagram'
        ? new DatagramSessionChannel({
            ...channelOptions,
            handshakeMacs: this.#options.staticKeyPair.publicKey,
          })
        : new StreamChannel({
            ...channelOptions,
            // File data sealed end to end is relayed as a clear tail, not sealed a second time.
            capabilities: [
              ...channelOptions.capabilities,
              SEALED_FILES_CAPABILITY,
              CLEAR_TAIL_CAPABILITY,
            ],
            // Each message is decoded as soon as it is read; none outlives its transport message.
            messageViews: true,
          });
    const connection: Connection = {
      id: this.#nextConnectionId++,
      address,
      host,
      channel,
      openedAt: now,
      phase: 'handshaking',
      lastReceived: now,
      writable: true,
      raw: undefined,
      data: new FifoQueue<Uint8Array>(),
      dataBytes: 0,
      user: undefined,
      pendingLogin: undefined,
      byeReceived: false,
      heard: false,
      roomBatches: false,
    };
    this.#connections.set(connection.id, connection);
    this.#pending++;
    const deadline = this.#deadline(connection)!;
    if (deadline < this.#earliestDeadline) this.#earliestDeadline = deadline;
    return connection.id;
  }

  /** Feeds bytes read from a connection's socket. */
  receive(connectionId: number, data: Uint8Array, now: number): void {
    const connection = this.#connection(connectionId);
    if (connection.phase === 'ending') return;
    connection.lastReceived = now;
    this.#step(
      connection,
      () => {
        connection.channel.receive(data, now);
        // The channel checks the preamble as its first bytes arrive and throws on a stranger's.
        connection.heard = true;
      },
      now,
    );
  }

  /** Tells the server that a connection's socket reached its end (the peer closed its side). */
  receiveEnd(connectionId: number, now: number): void {
    const connection = this.#connection(connectionId);
    if (connection.phase === 'ending') return;
    this.#step(
      connection,
      () => {
        connection.channel.receiveEnd(now);
      },
      now,
    );
  }

  /**
   * Tells the server that a connection's socket closed (for whatever reason). The server forgets
   * it; its user, if any, is reported gone to the others.
   */
  connectionClosed(connectionId: number, now: number): void {
    const connection = this.#connections.get(connectionId);
    if (connection === undefined) return;
    this.#removeUser(connection, connection.byeReceived ? 'bye' : 'disconnected');
    this.#forget(connection);
    this.#settle(now);
  }

  /**
   * For a connection accepted with the `datagram` transport: its session index (the receiver
   * index its peer's datagrams name) and how many datagrams have authenticated so far (an adapter
   * takes a new source address for the session only when this count moved). `undefined` for a
   * stream connection or an unknown id.
   */
  datagramSession(
    connectionId: number,
  ): { readonly index: number; readonly accepted: number } | undefined {
    const channel = this.#connections.get(connectionId)?.channel;
    if (!(channel instanceof DatagramSessionChannel)) return undefined;
    return { index: channel.localIndex, accepted: channel.datagrams.statistics.accepted };
  }

  /** Whether a connection's socket takes more output now (false while its buffer is full). */
  setWritable(connectionId: number, writable: boolean): void {
    const connection = this.#connection(connectionId);
    connection.writable = writable;
    if (writable) this.#dirty.add(connection);
  }

  /**
   * The next output for some writable connection, or `undefined` when nothing waits. Output
   * queued for a connection since its last write comes out sealed together.
   */
  pollTransmit(): ServerTransmit | undefined {
    // Always sent at the end of the step that gathered it; this only makes sure.
    this.#sendBatch();
    for (const connection of this.#dirty) {
      if (!connection.writable) {
        this.#dirty.delete(connection);
        continue;
      }
      const data = this.#take(connection);
      if (data !== undefined) return { connection: connection.id, data };
      this.#dirty.delete(connection);
    }
    return undefined;
  }

  /** The next output for one connection (to flush it before ending), or `undefined`. */
  pollTransmitFor(connectionId: number): Uint8Array | undefined {
    const connection = this.#connections.get(connectionId);
    return connection === undefined ? undefined : this.#take(connection);
  }

  /** The next event, or `undefined`. */
  nextEvent(): ServerEvent | undefined {
    return this.#events.shift();
  }

  /**
   * When to call {@link handleTimeout} next: the earliest deadline of any connection (handshake,
   * login, idle), or `undefined` when none has one. It costs nothing however many connections
   * there are: the server keeps a bound that is never later than the earliest deadline, and may
   * be earlier when a connection has been heard from since (its idle deadline moved on). Calling
   * {@link handleTimeout} then finds nothing due, and works out the exact next deadline.
   */
  pollTimeout(): number | undefined {
    return this.#earliestDeadline === Infinity ? undefined : this.#earliestDeadline;
  }

  /** Ends the connections whose deadline has passed. */
  handleTimeout(now: number): void {
    let earliest = Infinity;
    const due: Connection[] = [];
    for (const connection of this.#connections.values()) {
      const deadline = this.#deadline(connection);
      if (deadline === undefined) continue;
      if (now >= deadline) due.push(connection);
      else if (deadline < earliest) earliest = deadline;
    }
    // Ending a connection changes no other connection's deadline, so the scan above stands.
    this.#earliestDeadline = earliest;
    for (const connection of due) {
      if (connection.phase === 'ending') continue;
      // The channel's own timer first: a datagram channel resends then (handshake messages,
      // unacknowledged segments); a stream channel only has its handshake deadline.
      let handshakeTimedOut = false;
      try {
        connection.channel.handleTimeout(now);
      } catch (error) {
        // The channel fails itself with HandshakeTimeoutError: not the peer breaking the protocol.
        if (!HandshakeTimeoutError.isInstance(error)) throw error;
        handshakeTimedOut = true;
      }
      this.#dirty.add(connection);
      if (connection.phase === 'handshaking') {
        if (handshakeTimedOut || now >= connection.openedAt + this.#loginTimeout) {
          this.#end(connection, 'handshake-timeout', false);
          continue;
        }
      } else if (now < this.#phaseDeadline(connection)!) {
        // Only the channel's timer was due.
      } else if (connection.phase !== 'online') {
        this.#endWithError(connection, 'login-timeout', 'login did not complete in time');
      } else {
        this.#endWithError(
          connection,
          'idle-timeout',
          now >= connection.lastReceived + this.#idleTimeout
            ? 'nothing was received for too long'
            : 'nothing sent was acknowledged for too long',
        );
        continue;
      }
      const next = this.#deadline(connection);
      if (next !== undefined && next < this.#earliestDeadline) this.#earliestDeadline = next;
    }
    this.#settle(now);
  }

  /**
   * Finishes a login that a `login-requested` event asked to check: `accepted` is whether the
   * password matched. Ignored if the connection has gone or is not waiting for it.
   */
  completeLogin(connectionId: number, accepted: boolean, now: number): void {
    const connection = this.#connections.get(connectionId);
    const pending = connection?.pendingLogin;
    if (connection === undefined || pending === undefined || connection.phase !== 'verifying')
      return;
    connection.pendingLogin = undefined;
    const keys = this.#limiterKeys(connection, pending.user);
    if (!accepted) {
      const wait = this.#limiter.recordFailure(keys, now);
      this.#enter(connection, 'login');
      this.#refuseLogin(
        connection,
        pending.re,
        'bad-credentials',
        'wrong username or password',
        pending,
        wait,
      );
    } else {
      this.#limiter.recordSuccess(keys);
      this.#admit(
        connection,
        pending.re,
        pending.nick ?? pending.user,
        pending.user,
        pending.rooms,
      );
    }
    this.#settle(now);
  }

  /**
   * Ends one connection on the server's initiative, telling its client why (`message`).
   */
  disconnect(connectionId: number, message: string, now: number): void {
    const connection = this.#connection(connectionId);
    if (connection.phase === 'ending') return;
    this.#endWithError(connection, 'disconnected', message);
    this.#settle(now);
  }

  /**
   * Shuts the server down: every client is told (`message`), then each connection ends
   * gracefully. New connections are refused from now on.
   */
  shutdown(message: string, now: number): void {
    this.#shuttingDown = true;
    const notice = encodeSessionMessage({ type: 'shutdown', message });
    const bye = encodeSessionMessage({ type: 'bye', reason: 'shutdown' });
    const connections = [...this.#connections.values()].filter(
      (connection) => connection.phase !== 'ending',
    );
    // Everyone is leaving: users are taken off without telling the others one by one.
    for (const connection of connections) {
      const user = connection.user;
      if (user === undefined) continue;
      connection.user = undefined;
      this.#users.delete(user.key);
      this.#events.push({
        type: 'user-logged-out',
        connection: connection.id,
        nick: user.nick,
        reason: 'shutdown',
      });
    }
    this.#rooms.clear();
    this.#transfers.clear();
    for (const connection of connections) {
      if (connection.phase !== 'handshaking') {
        this.#sendBytes(connection, notice);
        this.#sendBytes(connection, bye);
        if (connection.channel.state === 'open') connection.channel.close();
      }
      this.#end(connection, 'shutdown', connection.phase !== 'handshaking');
    }
    this.#settle(now);
  }

  // -------------------------------------------------------------------------------------------

  #connection(connectionId: number): Connection {
    const connection = this.#connections.get(connectionId);
    if (connection === undefined) {
      throw new InvalidArgumentError(`no connection ${connectionId} on this server`);
    }
    return connection;
  }

  /**
   * Moves a connection to `phase`. Its deadline may come earlier than before (an idle timeout
   * shorter than the login timeout), so the bound {@link pollTimeout} gives is lowered to it.
   */
  #enter(connection: Connection, phase: 'login' | 'verifying' | 'online'): void {
    connection.phase = phase;
    const deadline = this.#deadline(connection);
    if (deadline !== undefined && deadline < this.#earliestDeadline) {
      this.#earliestDeadline = deadline;
    }
  }

  /** The earliest of the phase's deadline and the channel's own timer (datagram resends). */
  #deadline(connection: Connection): number | undefined {
    const phase = this.#phaseDeadline(connection);
    if (phase === undefined) return undefined;
    return Math.min(phase, connection.channel.pollTimeout() ?? Infinity);
  }

  /** The deadline of the connection's phase: handshake or login, then idle. */
  #phaseDeadline(connection: Connection): number | undefined {
    switch (connection.phase) {
      case 'handshaking':
        return connection.openedAt + this.#loginTimeout;
      case 'login':
      case 'verifying':
        return connection.openedAt + this.#loginTimeout;
      case 'online': {
        const idle = connection.lastReceived + this.#idleTimeout;
        const waiting = connection.channel.unacknowledgedSince;
        return waiting === undefined ? idle : Math.min(idle, waiting + this.#unansweredTimeout);
      }
      case 'ending':
        return undefined;
    }
  }

  #take(connection: Connection): Uint8Array | undefined {
    const raw = connection.raw;
    if (raw !== undefined) {
      connection.raw = undefined;
      return raw;
    }
    if (!connection.heard || connection.channel.error !== undefined) return undefined;
    const channel = connection.channel;
    // File data enters the channel only as the chat ahead of it leaves.
    const highWater =
      channel instanceof DatagramSessionChannel ? DATAGRAM_DATA_HIGH_WATER : DATA_HIGH_WATER;
    for (
      let next = connection.data.peek();
      next !== undefined &&
      channel.bufferedOutgoingBytes < highWater &&
      // Never past the channel's own bound (a server with a small backlog bound).
      channel.bufferedOutgoingBytes + next.length <= this.#maxBacklogBytes;
      next = connection.data.peek()
    ) {
      connection.data.shift();
      connection.dataBytes -= next.length;
      if (channel.state !== 'open') continue;
      if (next[0] === SEALED_TRANSFER_DATA_KIND && channel instanceof StreamChannel) {
        // Sealed by its sender for its receiver: it leaves as it came, unsealed by this hop.
        channel.sendWithClearTail(
          next.subarray(0, SEALED_TRANSFER_DATA_HEADER_LENGTH),
          next.subarray(SEALED_TRANSFER_DATA_HEADER_LENGTH),
        );
      } else {
        channel.send(next);
      }
    }
    const data = channel.pollTransmit();
    // Sending may start a timer of the channel's (a datagram channel's resend timer).
    if (data !== undefined) this.#noteDeadline(connection);
    return data;
  }

  /**
   * Lowers the bound {@link pollTimeout} gives to the connection's deadline, if that came earlier:
   * a channel's own timer moves as it sends and receives.
   */
  #noteDeadline(connection: Connection): void {
    const deadline = this.#deadline(connection);
    if (deadline !== undefined && deadline < this.#earliestDeadline) {
      this.#earliestDeadline = deadline;
    }
  }

  /** Queues file data for a connection, behind its chat; past the backlog bound it is too slow. */
  #sendData(connection: Connection, bytes: Uint8Array): void {
    if (connection.phase === 'ending') return;
    if (this.#overflowed.has(connection) || connection.channel.error !== undefined) return;
    const waiting = connection.channel.bufferedOutgoingBytes + connection.dataBytes + bytes.length;
    if (waiting > this.#maxBacklogBytes) {
      this.#overflowed.add(connection);
      return;
    }
    connection.data.push(bytes);
    connection.dataBytes += bytes.length;
    this.#dirty.add(connection);
  }

  /** Runs one step of a connection: a protocol error fails that connection only. */
  #step(connection: Connection, step: () => void, now: number): void {
    // The channel may queue output of its own (handshake messages, the answer to a close).
    this.#dirty.add(connection);
    try {
      step();
      this.#drainChannel(connection, now);
    } catch (error) {
      if (!LanchatError.isInstance(error)) throw error;
      this.#fail(connection, error);
    }
    // What the input said to a room goes to its members before anything else happens.
    this.#sendBatch();
    this.#noteDeadline(connection);
    this.#settle(now);
  }

  #drainChannel(connection: Connection, now: number): void {
    const channel = connection.channel;
    for (let event = channel.nextEvent(); event !== undefined; event = channel.nextEvent()) {
      switch (event.type) {
        case 'handshake-completed':
          if (!event.remoteCapabilities.includes(CHAT_CAPABILITY)) {
            throw new MalformedSessionMessageError(
              `the client does not announce the "${CHAT_CAPABILITY}" capability`,
            );
          }
          this.#pending--;
          connection.roomBatches = event.remoteCapabilities.includes(ROOM_BATCH_CAPABILITY);
          this.#enter(connection, 'login');
          this.#dirty.add(connection);
          break;
        case 'message-received':
          if (
            event.payload[0] === TRANSFER_DATA_KIND ||
            event.payload[0] === SEALED_TRANSFER_DATA_KIND
          ) {
            // File data from a logged-in user; before login it has nowhere to go.
            if (connection.user !== undefined) {
              this.#transfers.data(connection.user, event.payload);
            }
          } else {
            this.#handleMessage(connection, decodeClientMessage(event.payload), now);
          }
          break;
        case 'channel-closed':
          this.#removeUser(connection, connection.byeReceived ? 'bye' : 'disconnected');
          this.#end(connection, connection.byeReceived ? 'bye' : 'closed', true);
          return;
      }
      if (connection.phase === 'ending') return;
    }
  }

  #fail(connection: Connection, error: LanchatError): void {
    if (connection.phase === 'ending') return;
    this.#protocolErrors++;
    this.#events.push({
      type: 'connection-failed',
      connection: connection.id,
      address: connection.address,
      error,
    });
    if (NotLanchatError.isInstance(error) && error.looksLike === 'http') {
      connection.raw = httpRefusal();
      this.#dirty.add(connection);
    }
    this.#removeUser(connection, 'disconnected');
    this.#end(connection, 'protocol-error', connection.raw !== undefined);
  }

  /** Marks a connection as ending and tells the adapter. */
  #end(connection: Connection, reason: ConnectionEndReason, graceful: boolean): void {
    if (connection.phase === 'ending') return;
    if (connection.phase === 'handshaking') this.#pending--;
    connection.phase = 'ending';
    this.#dirty.add(connection);
    this.#events.push({ type: 'connection-ending', connection: connection.id, graceful, reason });
  }

  /** Tells the client why, says bye, closes the channel, and ends the connection gracefully. */
  #endWithError(connection: Connection, reason: ConnectionEndReason, message: string): void {
    const channel = connection.channel;
    if (channel.state === 'open' || channel.state === 'handshaking') {
      this.#send(connection, { type: 'error', code: reason, message });
      this.#send(connection, { type: 'bye', reason: message });
      if (channel.error === undefined) channel.close();
    }
    this.#removeUser(connection, reason === 'idle-timeout' ? 'timeout' : 'disconnected');
    this.#end(connection, reason, true);
  }

  #forget(connection: Connection): void {
    if (connection.phase === 'handshaking') this.#pending--;
    connection.phase = 'ending';
    connection.data.clear();
    connection.dataBytes = 0;
    this.#connections.delete(connection.id);
    this.#dirty.delete(connection);
    this.#overflowed.delete(connection);
  }

  /** Drops connections whose backlog overflowed during the step just run. */
  #settle(_now: number): void {
    while (this.#overflowed.size > 0) {
      const [connection] = this.#overflowed;
      this.#overflowed.delete(connection!);
      if (connection!.phase === 'ending') continue;
      this.#slowConsumersDropped++;
      this.#removeUser(connection!, 'too-slow');
      this.#end(connection!, 'too-slow', false);
    }
  }

  #send(connection: Connection, message: ServerMessage): void {
    this.#sendBytes(connection, encodeSessionMessage(message));
  }

  #sendBytes(connection: Connection, bytes: Uint8Array): void {
    // Room messages gathered from a sender come before anything else sent to anyone but them.
    if (this.#batch !== undefined && connection !== this.#batch.sender.connection) {
      this.#sendBatch();
    }
    // Once ending, the adapter has flushed and ended the socket: nothing more may be queued.
    if (connection.phase === 'ending') return;
    if (this.#overflowed.has(connection) || connection.channel.error !== undefined) return;
    // A channel closing (it answered the peer's goodbye, and a datagram channel lingers until its
    // last messages are acknowledged) takes nothing more.
    const state = connection.channel.state;
    if (state === 'closing' || state === 'closed') return;
    // File data waiting outside the channel counts against the same bound.
    if (
      connection.channel.bufferedOutgoingBytes + connection.dataBytes + bytes.length >
      this.#maxBacklogBytes
    ) {
      this.#overflowed.add(connection);
      return;
    }
    try {
      connection.channel.send(bytes);
      this.#dirty.add(connection);
    } catch (error) {
      if (BufferFullError.isInstance(error)) this.#overflowed.add(connection);
      else throw error;
    }
  }

  /**
   * Adds a room message to the batch being gathered, after sending that batch if it is for another
   * room or sender, or full.
   */
  #gather(room: Room, sender: User, entry: RoomBatchEntry): void {
    const size = ROOM_BATCH_ENTRY_LENGTH + entry.text.length;
    let batch = this.#batch;
    if (
      batch !== undefined &&
      (batch.room !== room ||
        batch.sender !== sender ||
        batch.size + size > ROOM_BATCH_TEXT_BUDGET ||
        batch.entries.length === MAX_ROOM_BATCH_COUNT)
    ) {
      this.#sendBatch();
      batch = undefined;
    }
    if (batch === undefined) {
      batch = { room, sender, from: sender.nick, entries: [], size: 0 };
      this.#batch = batch;
    }
    batch.entries.push(entry);
    batch.size += size;
  }

  /**
   * Sends the gathered room messages to the room's other members: one room batch to each client
   * that reads them, the messages one by one to the others; a single message always on its own.
   */
  #sendBatch(): void {
    const batch = this.#batch;
    if (batch === undefined) return;
    this.#batch = undefined;
    const { room, sender, from, entries } = batch;
    let singles: Uint8Array[] | undefined;
    let combined: Uint8Array | undefined;
    for (const member of room.members) {
      if (member === sender) continue;
      const connection = member.connection;
      if (connection.roomBatches && entries.length > 1) {
        combined ??= encodeRoomBatch(room.name, from, entries);
        this.#sendBytes(connection, combined);
      } else {
        singles ??= entries.map((entry) =>
          encodeRoomMessage({ type: 'message', room: room.name, from, ...entry }),
        );
        for (const bytes of singles) this.#sendBytes(connection, bytes);
      }
    }
  }

  /** Sends pre-encoded bytes to every user in `users` but `except`. */
  #broadcast(users: Iterable<User>, bytes: Uint8Array, except?: User): void {
    for (const user of users) {
      if (user !== except) this.#sendBytes(user.connection, bytes);
    }
  }

  #nack(connection: Connection, re: number, code: string, message: string): void {
    this.#send(connection, { type: 'nack', re, code, message });
  }

  #handleMessage(connection: Connection, message: ClientMessage, now: number): void {
    switch (message.type) {
      case 'ping':
        this.#send(connection, { type: 'pong', n: message.n });
        return;
      case 'pong':
        return;
      case 'bye':
        connection.byeReceived = true;
        this.#removeUser(connection, 'bye');
        if (connection.channel.state === 'open') connection.channel.close();
        return;
      case 'login':
        this.#login(connection, message, now);
        return;
      case 'transfer-accept':
      case 'transfer-reject':
      case 'transfer-ack':
      case 'transfer-done':
      case 'transfer-cancel':
        if (connection.user !== undefined) this.#transfers.control(connection.user, message);
        return;
      default:
        break;
    }
    const user = connection.user;
    if (user === undefined) {
      this.#nack(connection, message.id, 'not-logged-in', 'log in first');
      return;
    }
    try {
      this.#handleRequest(user, message);
    } catch (error) {
      if (InvalidNameError.isInstance(error) || InvalidTextError.isInstance(error)) {
        this.#nack(connection, message.id, error.code, error.message);
        return;
      }
      throw error;
    }
  }

  #handleRequest(
    user: User,
    message: Exclude<ClientMessage, { type: 'ping' | 'pong' | 'bye' | 'login' }>,
  ): void {
    const connection = user.connection;
    switch (message.type) {
      case 'nick':
        this.#rename(user, message.id, checkNickname(message.nick));
        return;
      case 'join':
        this.#join(user, checkRoomName(message.room), message.id);
        return;
      case 'leave': {
        const room = this.#rooms.get(nameKey(checkRoomName(message.room)));
        if (room === undefined || !user.rooms.has(room)) {
          this.#nack(
            connection,
            message.id,
            'not-in-room',
            `you are not in the room ${message.room}`,
          );
          return;
        }
        this.#leave(user, room, 'left', message.id);
        return;
      }
      case 'rooms':
        this.#send(connection, {
          type: 'room-list',
          re: message.id,
          rooms: [...this.#rooms.values()]
            .map((room) => ({ name: room.name, members: room.members.size }))
            .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
        });
        return;
      case 'users':
        this.#listUsers(user, message.id, message.room);
        return;
      case 'transfer-offer': {
        const target = this.#target(user, message.id, message.to);
        if (target === undefined) return;
        const refusal = this.#transfers.offer(user, user.nick, target, message);
        if (refusal === undefined) this.#send(connection, { type: 'ack', re: message.id });
        else this.#nack(connection, message.id, refusal.code, refusal.message);
        return;
      }
      case 'say': {
        const room = this.#rooms.get(nameKey(checkRoomName(message.room)));
        if (room === undefined || !user.rooms.has(room)) {
          this.#nack(
            connection,
            message.id,
            'not-in-room',
            `you are not in the room ${message.room}; /join it first`,
          );
          return;
        }
        const text = checkText(message.text, this.#maxTextBytes);
        this.#gather(room, user, { id: this.#nextMessageId++, ts: message.ts, text });
        this.#messagesRelayed++;
        this.#send(connection, { type: 'ack', re: message.id });
        return;
      }
      case 'private': {
        const target = this.#target(user, message.id, message.to);
        if (target === undefined) return;
        const text = checkText(message.text, this.#maxTextBytes);
        const chat = message.chat ?? false;
        if (chat && !user.chats.has(target)) {
          this.#nack(
            connection,
            message.id,
            'chat-not-active',
            `you are not in a private chat with ${target.nick}; ask with /chat ${target.nick}`,
          );
          return;
        }
        this.#send(target.connection, {
          type: 'private',
          id: this.#nextMessageId++,
          ts: message.ts,
          from: user.nick,
          to: target.nick,
          text,
          chat,
        });
        this.#messagesRelayed++;
        this.#send(connection, { type: 'ack', re: message.id });
        return;
      }
      case 'chat-request':
        this.#requestChat(user, message.id, message.nick);
        return;
      case 'chat-accept': {
        const target = this.#target(user, message.id, message.nick);
        if (target === undefined) return;
        if (!user.requestsReceived.has(target)) {
          this.#nack(
            connection,
            message.id,
            'no-chat-request',
            `${target.nick} has not asked you for a chat`,
          );
          return;
        }
        this.#startChat(user, target);
        this.#send(connection, { type: 'ack', re: message.id });
        return;
      }
      case 'chat-decline': {
        const target = this.#target(user, message.id, message.nick);
        if (target === undefined) return;
        if (!user.requestsReceived.has(target)) {
          this.#nack(
            connection,
            message.id,
            'no-chat-request',
            `${target.nick} has not asked you for a chat`,
          );
          return;
        }
        user.requestsReceived.delete(target);
        target.requestsSent.delete(user);
        this.#send(target.connection, { type: 'chat-declined', nick: user.nick });
        this.#send(connection, { type: 'ack', re: message.id });
        return;
      }
      case 'chat-end': {
        const target = this.#target(user, message.id, message.nick);
        if (target === undefined) return;
        if (!user.chats.has(target) && !user.requestsSent.has(target)) {
          this.#nack(
            connection,
            message.id,
            'chat-not-active',
            `you are not in a private chat with ${target.nick}`,
          );
          return;
        }
        this.#endChat(user, target);
        this.#send(connection, { type: 'ack', re: message.id });
        return;
      }
      case 'presence': {
        user.presence = message.presence;
        this.#broadcast(
          this.#users.values(),
          encodeSessionMessage({
            type: 'presence-changed',
            nick: user.nick,
            presence: user.presence,
          }),
        );
        this.#send(connection, { type: 'ack', re: message.id });
        return;
      }
    }
  }

  #login(
    connection: Connection,
    message: Extract<ClientMessage, { type: 'login' }>,
    now: number,
  ): void {
    if (connection.phase === 'online') {
      this.#nack(connection, message.id, 'already-logged-in', 'this session is already logged in');
      return;
    }
    if (connection.phase === 'verifying') {
      this.#nack(connection, message.id, 'login-in-progress', 'a login is already being checked');
      return;
    }
    let nick: string | undefined;
    let user: string | undefined;
    let rooms: string[];
    try {
      nick = message.nick === undefined ? undefined : checkNickname(message.nick);
      user = message.user === undefined ? undefined : checkName('username', message.user);
      rooms = (message.rooms ?? [])
        .slice(0, this.#maxRoomsPerUser)
        .map((room) => checkRoomName(room));
    } catch (error) {
      if (!InvalidNameError.isInstance(error)) throw error;
      // The refused name is not repeated in the event: it may hold anything, escape sequences too.
      this.#refuseLogin(connection, message.id, error.code, error.message, {});
      return;
    }
    if (!this.#accounts) {
      const chosen = nick ?? user;
      if (chosen === undefined) {
        this.#refuseLogin(connection, message.id, 'nickname-invalid', 'choose a nickname', message);
        return;
      }
      this.#admit(connection, message.id, chosen, undefined, rooms);
      return;
    }
    if (user === undefined || message.password === undefined) {
      this.#refuseLogin(
        connection,
        message.id,
        'login-required',
        'this server requires a username and password',
        message,
      );
      return;
    }
    let password: string;
    try {
      password = checkPassword(message.password);
    } catch (error) {
      if (!InvalidTextError.isInstance(error)) throw error;
      this.#refuseLogin(
        connection,
        message.id,
        'bad-credentials',
        'wrong username or password',
        message,
      );
      return;
    }
    const keys = this.#limiterKeys(connection, user);
    const wait = this.#limiter.waitTime(keys, now);
    if (wait > 0) {
      this.#refuseLogin(
        connection,
        message.id,
        'rate-limited',
        `too many failed logins; try again in ${Math.ceil(wait / 1000)} s`,
        message,
        wait,
      );
      return;
    }
    this.#enter(connection, 'verifying');
    connection.pendingLogin = { re: message.id, nick, user, rooms };
    this.#events.push({
      type: 'login-requested',
      connection: connection.id,
      address: connection.address,
      user,
      password: new Secret(password),
    });
  }

  #limiterKeys(connection: Connection, user: string): string[] {
    return [`user:${nameKey(user)}`, `host:${connection.host}`];
  }

  #refuseLogin(
    connection: Connection,
    re: number,
    code: string,
    message: string,
    attempt: { readonly nick?: string | undefined; readonly user?: string | undefined },
    retryAfter = 0,
  ): void {
    this.#send(connection, {
      type: 'login-failed',
      re,
      code,
      message,
      ...(retryAfter > 0 ? { retryAfter } : {}),
    });
    this.#events.push({
      type: 'login-refused',
      connection: connection.id,
      address: connection.address,
      code,
      user: attempt.user,
      nick: attempt.nick,
    });
  }

  #admit(
    connection: Connection,
    re: number,
    nick: string,
    account: string | undefined,
    rooms: readonly string[],
  ): void {
    const key = nameKey(nick);
    if (this.#users.has(key)) {
      this.#enter(connection, 'login');
      this.#refuseLogin(
        connection,
        re,
        'nickname-taken',
        `the nickname ${nick} is taken; choose another`,
        { nick, user: account },
      );
      return;
    }
    const user: User = {
      connection,
      nick,
      key,
      account,
      presence: 'online',
      rooms: new Set(),
      requestsSent: new Set(),
      requestsReceived: new Set(),
      chats: new Set(),
    };
    this.#enter(connection, 'online');
    connection.user = user;
    this.#broadcast(this.#users.values(), encodeSessionMessage({ type: 'user-connected', nick }));
    this.#users.set(key, user);
    const wanted = [this.#lobby, ...rooms];
    const joined: Room[] = [];
    for (const name of wanted) {
      const room = this.#roomFor(name);
      if (room !== undefined && !user.rooms.has(room) && user.rooms.size < this.#maxRoomsPerUser) {
        this.#broadcast(
          room.members,
          encodeSessionMessage({ type: 'user-joined', room: room.name, nick }),
        );
        room.members.add(user);
        user.rooms.add(room);
        joined.push(room);
      }
    }
    this.#send(connection, {
      type: 'welcome',
      re,
      nick,
      ...(account === undefined ? {} : { user: account }),
      server: this.#name,
      accounts: this.#accounts,
      lobby: this.#lobby,
      rooms: joined.map((room) => room.name),
      maxText: this.#maxTextBytes,
    });
    for (const room of joined) {
      this.#send(connection, {
        type: 'room-joined',
        room: room.name,
        members: this.#memberNames(room),
      });
    }
    this.#events.push({
      type: 'user-logged-in',
      connection: connection.id,
      address: connection.address,
      nick,
      user: account,
    });
  }

  /** The room of that name, created if need be; undefined if the server has too many rooms. */
  #roomFor(name: string): Room | undefined {
    const key = nameKey(name);
    let room = this.#rooms.get(key);
    if (room === undefined) {
      if (this.#rooms.size >= this.#maxRooms) return undefined;
      room = { name, key, members: new Set() };
      this.#rooms.set(key, room);
      this.#events.push({ type: 'room-created', room: name });
    }
    return room;
  }

  #memberNames(room: Room): string[] {
    return [...room.members].map((member) => member.nick);
  }

  #join(user: User, name: string, re: number): void {
    const connection = user.connection;
    const existing = this.#rooms.get(nameKey(name));
    if (existing !== undefined && user.rooms.has(existing)) {
      this.#send(connection, {
        type: 'room-joined',
        re,
        room: existing.name,
        members: this.#memberNames(existing),
      });
      return;
    }
    if (user.rooms.size >= this.#maxRoomsPerUser) {
      this.#nack(
        connection,
        re,
        'room-limit',
        `you are in ${user.rooms.size} rooms, the most allowed; /leave one first`,
      );
      return;
    }
    const room = existing ?? this.#roomFor(name);
    if (room === undefined) {
      this.#nack(connection, re, 'too-many-rooms', 'the server has as many rooms as it allows');
      return;
    }
    this.#broadcast(
      room.members,
      encodeSessionMessage({ type: 'user-joined', room: room.name, nick: user.nick }),
    );
    room.members.add(user);
    user.rooms.add(room);
    this.#send(connection, {
      type: 'room-joined',
      re,
      room: room.name,
      members: this.#memberNames(room),
    });
  }

  #leave(user: User, room: Room, reason: LeaveReason, re?: number): void {
    room.members.delete(user);
    user.rooms.delete(room);
    if (re !== undefined) this.#send(user.connection, { type: 'room-left', re, room: room.name });
    this.#broadcast(
      room.members,
      encodeSessionMessage({ type: 'user-left', room: room.name, nick: user.nick, reason }),
    );
    if (room.members.size === 0 && room.key !== nameKey(this.#lobby)) {
      this.#rooms.delete(room.key);
      this.#events.push({ type: 'room-removed', room: room.name });
    }
  }

  #rename(user: User, re: number, nick: string): void {
    const key = nameKey(nick);
    const holder = this.#users.get(key);
    if (holder !== undefined && holder !== user) {
      this.#nack(
        user.connection,
        re,
        'nickname-taken',
        `the nickname ${nick} is taken; choose another`,
      );
      return;
    }
    const old = user.nick;
    if (old === nick) {
      this.#send(user.connection, { type: 'ack', re });
      return;
    }
    this.#users.delete(user.key);
    user.nick = nick;
    user.key = key;
    this.#users.set(key, user);
    this.#broadcast(
      this.#users.values(),
      encodeSessionMessage({ type: 'nick-changed', old, nick }),
    );
    this.#send(user.connection, { type: 'ack', re });
    this.#events.push({ type: 'nickname-changed', connection: user.connection.id, old, nick });
  }

  #listUsers(user: User, re: number, roomName: string | undefined): void {
    let users: Iterable<User> = this.#users.values();
    let room: string | undefined;
    if (roomName !== undefined) {
      const found = this.#rooms.get(nameKey(checkRoomName(roomName)));
      if (found === undefined) {
        this.#nack(user.connection, re, 'no-such-room', `there is no room ${roomName}`);
        return;
      }
      users = found.members;
      room = found.name;
    }
    // Each user's comparison key is kept on the user: sort on it rather than normalise per compare.
    const sorted = [...users].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const listed: UserInfo[] = [];
    let budget = USER_LIST_BUDGET;
    let more = 0;
    for (const member of sorted) {
      const rooms = [...member.rooms].map((memberRoom) => memberRoom.name);
      const cost =
        32 + member.nick.length * 3 + rooms.reduce((total, name) => total + 4 + name.length * 3, 0);
      if (listed.length >= MAX_LISTED_USERS || cost > budget) {
        more++;
        continue;
      }
      budget -= cost;
      listed.push({ nick: member.nick, presence: member.presence, rooms });
    }
    this.#send(user.connection, {
      type: 'user-list',
      re,
      ...(room === undefined ? {} : { room }),
      users: listed,
      ...(more > 0 ? { more } : {}),
    });
  }

  /** The user a request names, or undefined after a nack (no such user, or oneself). */
  #target(user: User, re: number, nick: string): User | undefined {
    const target = this.#users.get(nameKey(checkNickname(nick)));
    if (target === undefined) {
      this.#nack(user.connection, re, 'no-such-user', `no user is called ${nick}`);
      return undefined;
    }
    if (target === user) {
      this.#nack(user.connection, re, 'cannot-target-self', 'that is you');
      return undefined;
    }
    return target;
  }

  #requestChat(user: User, re: number, nick: string): void {
    const target = this.#target(user, re, nick);
    if (target === undefined) return;
    const connection = user.connection;
    if (user.chats.has(target)) {
      this.#nack(
        connection,
        re,
        'chat-already-active',
        `you are already in a private chat with ${target.nick}`,
      );
      return;
    }
    if (user.requestsReceived.has(target)) {
      // Both picked each other: that is consent on both sides.
      this.#startChat(user, target);
      this.#send(connection, { type: 'ack', re });
      return;
    }
    if (!user.requestsSent.has(target)) {
      if (user.requestsSent.size >= this.#maxChatRequests) {
        this.#nack(
          connection,
          re,
          'too-many-requests',
          'too many chat requests are waiting for an answer',
        );
        return;
      }
      user.requestsSent.add(target);
      target.requestsReceived.add(user);
    }
    this.#send(target.connection, { type: 'chat-requested', nick: user.nick });
    this.#send(connection, { type: 'ack', re });
  }

  #startChat(user: User, other: User): void {
    user.requestsReceived.delete(other);
    user.requestsSent.delete(other);
    other.requestsReceived.delete(user);
    other.requestsSent.delete(user);
    user.chats.add(other);
    other.chats.add(user);
    this.#send(user.connection, { type: 'chat-started', nick: other.nick });
    this.#send(other.connection, { type: 'chat-started', nick: user.nick });
  }

  /** Ends the chat between `user` and `other`, or withdraws `user`'s request; tells both. */
  #endChat(user: User, other: User): void {
    user.chats.delete(other);
    other.chats.delete(user);
    user.requestsSent.delete(other);
    other.requestsReceived.delete(user);
    const ended = { type: 'chat-ended', by: user.nick } as const;
    this.#send(user.connection, { ...ended, nick: other.nick });
    this.#send(other.connection, { ...ended, nick: user.nick });
  }

  /** Takes a connection's user off the server, telling everyone concerned. */
  #removeUser(connection: Connection, reason: LeaveReason): void {
    const user = connection.user;
    if (user === undefined) return;
    connection.user = undefined;
    for (const other of user.chats) {
      other.chats.delete(user);
      this.#send(other.connection, { type: 'chat-ended', nick: user.nick, by: user.nick });
    }
    for (const other of user.requestsSent) {
      other.requestsReceived.delete(user);
      this.#send(other.connection, { type: 'chat-ended', nick: user.nick, by: user.nick });
    }
    for (const other of user.requestsReceived) {
      other.requestsSent.delete(user);
      this.#send(other.connection, { type: 'chat-ended', nick: user.nick, by: user.nick });
    }
    this.#transfers.partyGone(user);
    for (const room of [...user.rooms]) this.#leave(user, room, reason);
    this.#users.delete(user.key);
    this.#broadcast(
      this.#users.values(),
      encodeSessionMessage({ type: 'user-disconnected', nick: user.nick, reason }),
    );
    this.#events.push({
      type: 'user-logged-out',
      connection: connection.id,
      nick: user.nick,
      reason,
    });
  }
}
