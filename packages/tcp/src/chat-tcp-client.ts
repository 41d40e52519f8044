/**
 * The chat client: a connection (TCP by default, or any {@link ClientTransport}) driving core's
 * sans-I/O {@link ChatClient}, with server-key checking, automatic reconnection and files.
 *
 * @module
 */

import {
  ChatClient,
  type ChatClientOptions,
  type ClientEvent,
  InvalidStateError,
  type LoginDetails,
  type Presence,
  type TransferOffer,
  type TransferSummary,
  checkLimit,
  checkNickname,
  constantTimeEqual,
} from '@lanchat/core';
import { DEFAULT_PORT, WRITE_BATCH_BYTES } from './chat-tcp-server.js';
import { type ClientLink, type ClientTransport, tcpClientTransport } from './client-link.js';
import { type FileEvent, TransferFiles } from './transfer-files.js';

export type { FileEvent } from './transfer-files.js';

/** How the client reconnects after losing its connection. */
export interface ReconnectOptions {
  /** First wait, in ms. Default 250. */
  readonly initialDelay?: number;
  /** Longest wait, in ms. Default 15 000. */
  readonly maxDelay?: number;
  /** Tries before giving up. Default unlimited. */
  readonly maxAttempts?: number;
}

/** The connection is being opened (`attempt` 0 is the first connection). */
export interface ConnectingEvent {
  readonly type: 'connecting';
  readonly host: string;
  readonly port: number;
  readonly attempt: number;
  /** The transport's name: `tcp`, `udp`. */
  readonly transport: string;
}

/** The connection was lost; the client tries again after `delay` ms. */
export interface ReconnectScheduledEvent {
  readonly type: 'reconnect-scheduled';
  readonly attempt: number;
  readonly delay: number;
  /** Why the previous connection ended, for people. */
  readonly reason: string;
}

/** After a reconnection the session is back: logged in again, rooms rejoined. */
export interface ReconnectedEvent {
  readonly type: 'reconnected';
  readonly attempt: number;
  readonly nick: string;
  readonly rooms: readonly string[];
}

/** A socket error (refused, reset, unreachable, a datagram that could not be sent...). */
export interface ConnectionErrorEvent {
  readonly type: 'connection-error';
  readonly error: Error;
}

/**
 * The server's key was refused (by `verifyServerKey`, or because it is not the key the transport
 * was given); the client stops.
 */
export interface ServerKeyRejectedEvent {
  readonly type: 'server-key-rejected';
  readonly serverKey: Uint8Array;
}

/** The client stopped for good (after bye, a refused key, a failed first login, or abort). */
export interface ClientStoppedEvent {
  readonly type: 'client-stopped';
  readonly reason: string;
}

/** The session's transfer events, which the client handles itself (see {@link FileEvent}). */
export type SessionTransferEvent = Extract<
  ClientEvent,
  {
    type:
      | 'transfer-offered'
      | 'transfer-message'
      | 'transfer-offer-failed'
      | 'transfer-interrupted'
      | 'transfer-data-refused';
  }
>;

/** What a {@link ChatTcpClient} reports: the session's events, file events, the connection's. */
export type TcpClientEvent =
  | Exclude<ClientEvent, SessionTransferEvent>
  | FileEvent
  | ConnectingEvent
  | ReconnectScheduledEvent
  | ReconnectedEvent
  | ConnectionErrorEvent
  | ServerKeyRejectedEvent
  | ClientStoppedEvent;

/** Options of {@link connectChat}. */
export interface ChatTcpClientOptions extends Omit<
  ChatClientOptions,
  'now' | 'transport' | 'serverKey'
> {
  readonly host: string;
  /** Default {@link DEFAULT_PORT}. */
  readonly port?: number;
  /**
   * What carries the session. Default: TCP ({@link tcpClientTransport}). `udpClientTransport`
   * of @lanchat/udp carries it over UDP.
   */
  readonly transport?: ClientTransport;
  /** What to log in with. Called again before each reconnection's login. */
  readonly login: LoginDetails | (() => LoginDetails);
  /**
   * Decides whether to trust the server's key (pinning): resolve false to refuse it. Called after
   * every handshake, before any credential is sent. Default: trust any key.
   */
  readonly verifyServerKey?: (serverKey: Uint8Array) => boolean | Promise<boolean>;
  /** False to never reconnect. Default: reconnect with backoff. */
  readonly reconnect?: false | ReconnectOptions;
  /** Aborting closes the connection at once and stops the client. */
  readonly signal?: AbortSignal;
  /**
   * Milliseconds to open the connection, and to wait for the server's goodbye after `bye()`.
   * Default 10 000.
   */
  readonly connectTimeout?: number;
  /** Receives every event. Must not throw. */
  readonly onEvent: (event: TcpClientEvent) => void;
  /** Largest file `acceptFile()` takes, in bytes. Default: no limit. */
  readonly maxFileSize?: number;
  /** Bytes that must stay free on the disk after a received file. Default 64 MiB. */
  readonly reserveBytes?: number;
}

/**
 * A chat client, on TCP unless another transport is given. Made by {@link connectChat} (and by
 * `connectChatUdp` of @lanchat/udp).
 *
 * The request methods act on the current session and return the request id; they throw
 * `InvalidStateError` while there is no logged-in session (between reconnections, say).
 */
export class ChatTcpClient {
  readonly #options: ChatTcpClientOptions;
  readonly #host: string;
  readonly #port: number;
  readonly #transport: ClientTransport;
  /** The options that go to each session. */
  readonly #sessionOptions: Omit<ChatTcpClientOptions, 'transport'>;
  readonly #connectTimeout: number;
  readonly #reconnect: Required<ReconnectOptions> | undefined;
  #session: ChatClient | undefined;
  #link: ClientLink | undefined;
  #attempt = 0;
  #everLoggedIn = false;
  #stopped = false;
  #byeRequested = false;
  #flushScheduled: NodeJS.Immediate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  /** Called when the current link has closed, while the client stops. */
  #closed: (() => void) | undefined;
  /** The nickname and rooms to restore after a reconnection. */
  #nick: string | undefined;
  #rooms: readonly string[] = [];
  readonly #transfers: TransferFiles;
  #stoppedPromise: Promise<void>;
  #resolveStopped: () => void = () => undefined;
  readonly #onAbort = (): void => {
    this.#stop('aborted');
  };

  /** @internal Use {@link connectChat}. */
  constructor(options: ChatTcpClientOptions) {
    this.#options = options;
    this.#host = options.host;
    const { transport, ...sessionOptions } = options;
    this.#transport = transport ?? tcpClientTransport();
    this.#sessionOptions = sessionOptions;
    this.#port = checkLimit('port', options.port, DEFAULT_PORT, 1, 65_535);
    this.#connectTimeout = checkLimit('connectTimeout', options.connectTimeout, 10_000, 1, 600_000);
    const reconnect = options.reconnect;
    this.#reconnect =
      reconnect === false
        ? undefined
        : {
            initialDelay: checkLimit('initialDelay', reconnect?.initialDelay, 250, 1, 600_000),
            maxDelay: checkLimit('maxDelay', reconnect?.maxDelay, 15_000, 1, 3_600_000),
            maxAttempts: reconnect?.maxAttempts ?? Infinity,
          };
    this.#transfers = new TransferFiles({
      emit: (event) => {
        this.#emit(event);
      },
      changed: () => {
        this.#afterTransferCall();
      },
      ...(options.maxFileSize === undefined ? {} : { maxFileSize: options.maxFileSize }),
      ...(options.reserveBytes === undefined ? {} : { reserveBytes: options.reserveBytes }),
    });
    this.#stoppedPromise = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
    if (options.signal?.aborted === true) {
      this.#stop('aborted');
      return;
    }
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#open();
  }

  /** The current session, if connected. */
  get session(): ChatClient | undefined {
    return this.#session;
  }

  /** Whether the session is logged in now. */
  get online(): boolean {
    return this.#session?.state === 'online';
  }

  /** Resolves when the client has stopped for good and released its socket, timers and files. */
  get stopped(): Promise<void> {
    return this.#stoppedPromise;
  }

  /** Logs in again on the current session (after a `login-failed`), with other details. */
  login(details: LoginDetails): number {
    return this.#act((session, now) => session.login(details, now));
  }

  /** See {@link ChatClient.say}. */
  say(room: string, text: string): number {
    return this.#act((session, now) => session.say(room, text, now));
  }

  /** See {@link ChatClient.sendPrivate}. */
  sendPrivate(nick: string, text: string, options: { readonly chat?: boolean } = {}): number {
    return this.#act((session, now) => session.sendPrivate(nick, text, now, options));
  }

  /** See {@link ChatClient.setNick}. */
  setNick(nick: string): number {
    return this.#act((session, now) => session.setNick(nick, now));
  }

  /** See {@link ChatClient.join}. */
  join(room: string): number {
    return this.#act((session, now) => session.join(room, now));
  }

  /** See {@link ChatClient.leave}. */
  leave(room: string): number {
    return this.#act((session, now) => session.leave(room, now));
  }

  /** See {@link ChatClient.listRooms}. */
  listRooms(): number {
    return this.#act((session, now) => session.listRooms(now));
  }

  /** See {@link ChatClient.listUsers}. */
  listUsers(room?: string): number {
    return this.#act((session, now) => session.listUsers(room, now));
  }

  /** See {@link ChatClient.requestChat}. */
  requestChat(nick: string): number {
    return this.#act((session, now) => session.requestChat(nick, now));
  }

  /** See {@link ChatClient.acceptChat}. */
  acceptChat(nick: string): number {
    return this.#act((session, now) => session.acceptChat(nick, now));
  }

  /** See {@link ChatClient.declineChat}. */
  declineChat(nick: string): number {
    return this.#act((session, now) => session.declineChat(nick, now));
  }

  /** See {@link ChatClient.endChat}. */
  endChat(nick: string): number {
    return this.#act((session, now) => session.endChat(nick, now));
  }

  /** See {@link ChatClient.setPresence}. */
  setPresence(presence: Presence): number {
    return this.#act((session, now) => session.setPresence(presence, now));
  }

  /** Every file transfer kept: going, waiting for an answer, or ended in the last minute. */
  get transfers(): TransferSummary[] {
    return this.#transfers.list();
  }

  /**
   * The offer of a transfer kept: the file's name, size and digests.
   *
   * @throws `InvalidArgumentError` for an unknown transfer.
   */
  offerOf(transfer: string): TransferOffer {
    return this.#transfers.offerOf(transfer);
  }

  /**
   * Offers the file at `path` to the user `to`. Reads it once to hash it (SHA-256 and MD5), then
   * offers it; the transfer goes on by itself, through reconnections, and reports `transfer-*`
   * events. Resolves with the transfer's id.
   *
   * @throws (rejects) when the file cannot be read, or too many transfers are kept.
   */
  async sendFile(
    to: string,
    path: string,
    options: { readonly name?: string } = {},
  ): Promise<string> {
    if (this.#stopped) throw new InvalidStateError('the client has stopped');
    // A bad nickname is refused now, not when the offer goes out.
    checkNickname(to);
    const transfer = await this.#transfers.sendFile(to, path, options.name);
    this.#afterTransferCall();
    return transfer;
  }

  /**
   * Accepts an offered file into `directory` (made if missing) under a safe name of its own (a
   * number is added if the name is taken). The file is written to a hidden temporary file and
   * gets its name only after its SHA-256 matched. A file over `maxFileSize`, or over the free
   * space, is refused instead (`too-large`, `no-space`). Resolves with the name chosen, or the
   * refusal's code.
   *
   * @throws `InvalidArgumentError` (rejects) for a transfer that is not an offer waiting.
   */
  async acceptFile(
    transfer: string,
    directory: string,
  ): Promise<{ name: string } | { refused: string }> {
    const result = await this.#transfers.acceptFile(transfer, directory);
    this.#afterTransferCall();
    return result;
  }

  /** Refuses an offered file. */
  rejectFile(transfer: string, message = 'the receiver declined the file'): void {
    this.#transfers.reject(transfer, message);
    this.#afterTransferCall();
  }

  /** Stops a transfer either way; the other side is told. */
  cancelTransfer(transfer: string): void {
    this.#transfers.cancel(transfer);
    this.#afterTransferCall();
  }

  /**
   * Says goodbye and stops: no reconnection follows. Resolves when the connection has closed (at
   * most `connectTimeout` later).
   */
  bye(reason?: string): Promise<void> {
    this.#byeRequested = true;
    const session = this.#session;
    if (session === undefined || this.#link === undefined) {
      this.#stop('bye');
      return this.#stoppedPromise;
    }
    const now = Date.now();
    this.#transfers.cancelAll('the other side left');
    this.#pumpTransfers(session, now);
    session.bye(now, reason);
    this.#flush();
    // A server that never answers the goodbye does not hold the client.
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#stop('bye');
    }, this.#connectTimeout);
    return this.#stoppedPromise;
  }

  /** Closes the connection at once, without a goodbye, and stops. */
  destroy(): void {
    this.#stop('destroyed');
  }

  #act(action: (session: ChatClient, now: number) => number): number {
    const session = this.#session;
    if (session === undefined) throw new InvalidStateError('not connected (reconnecting?)');
    const id = action(session, Date.now());
    this.#scheduleFlush();
    return id;
  }

  #emit(event: TcpClientEvent): void {
    this.#options.onEvent(event);
  }

  #open(): void {
    const transport = this.#transport;
    this.#emit({
      type: 'connecting',
      host: this.#host,
      port: this.#port,
      attempt: this.#attempt,
      transport: transport.name,
    });
    const session = new ChatClient({
      ...this.#sessionOptions,
      ...transport.session,
      now: Date.now(),
    });
    this.#session = session;
    const current = (): boolean => this.#session === session;
    const link = transport.open(this.#host, this.#port, {
      open: () => {
        clearTimeout(this.#connectTimer);
        this.#connectTimer = undefined;
        if (current()) this.#flush();
      },
      data: (bytes) => {
        if (!current()) return;
        session.receive(bytes, Date.now());
        this.#scheduleFlush();
      },
      end: () => {
        if (!current()) return;
        session.receiveEnd(Date.now());
        this.#flush();
      },
      drain: () => {
        if (current()) this.#scheduleFlush();
      },
      error: (error) => {
        this.#emit({ type: 'connection-error', error });
      },
      close: () => {
        clearTimeout(this.#connectTimer);
        this.#connectTimer = undefined;
        if (this.#link === link) this.#link = undefined;
        this.#closed?.();
        if (current()) {
          session.connectionLost();
          this.#drainEvents(session);
          this.#afterClose(session);
        }
      },
    });
    this.#link = link;
    this.#connectTimer = setTimeout(() => {
      link.destroy(new Error(`connecting to ${this.#host}:${this.#port} timed out`));
    }, this.#connectTimeout);
  }

  #scheduleFlush(): void {
    this.#flushScheduled ??= setImmediate(() => {
      this.#flushScheduled = undefined;
      this.#flush();
    });
  }

  #flush(): void {
    const session = this.#session;
    if (session === undefined) return;
    this.#drainEvents(session);
    this.#pumpTransfers(session, Date.now());
    const link = this.#link;
    if (link?.writable === true) {
      // Corked, the frames of a turn leave in one writev. A TCP socket's write() says false past
      // 16 KiB whatever the kernel would take, so the batch is bounded by what waits in the link;
      // past it, the rest waits in the session for 'drain'.
      link.cork();
      while (link.pendingBytes < WRITE_BATCH_BYTES) {
        const data = session.pollTransmit();
        if (data === undefined) break;
        link.write(data);
      }
      link.uncork();
    }
    this.#armTimer(session);
  }

  #drainEvents(session: ChatClient): void {
    for (let event = session.nextEvent(); event !== undefined; event = session.nextEvent()) {
      if (this.#transfers.handleEvent(event, Date.now())) continue;
      this.#emit(event as Exclude<ClientEvent, SessionTransferEvent>);
      switch (event.type) {
        case 'server-identified':
          this.#checkServer(session, event.serverKey);
          break;
        case 'login-succeeded':
          this.#nick = event.nick;
          if (this.#everLoggedIn) {
            this.#emit({
              type: 'reconnected',
              attempt: this.#attempt,
              nick: event.nick,
              rooms: session.rooms,
            });
            this.#transfers.linkUp(Date.now());
          }
          this.#everLoggedIn = true;
          this.#attempt = 0;
          break;
        case 'login-failed':
          // During a reconnection, the old session may still hold the nickname until the server
          // notices it is gone: try again later rather than give up.
          if (this.#everLoggedIn && event.code === 'nickname-taken') {
            this.#link?.destroy();
          }
          break;
        case 'room-joined':
        case 'room-left':
          this.#rooms = session.rooms;
          break;
        case 'nick-changed':
          if (event.self) this.#nick = event.nick;
          break;
        case 'session-closed':
          this.#endLink(session, event.graceful);
          break;
        default:
          break;
      }
    }
  }

  /** After a transfer call from the application: run the transfers, then write. */
  #afterTransferCall(): void {
    const session = this.#session;
    if (session === undefined) {
      this.#emitTransferEvents();
      return;
    }
    this.#scheduleFlush();
  }

  /** Acts on the transfers' events, and puts their messages into the session. */
  #pumpTransfers(session: ChatClient, now: number): void {
    this.#emitTransferEvents();
    if (session.state !== 'online') return;
    for (
      let output = this.#transfers.poll(now, session.transferCapacity);
      output !== undefined;
      output = this.#transfers.poll(now, session.transferCapacity)
    ) {
      if (output.to !== undefined) session.offerFile(output.to, output.message, now);
      else session.sendTransfer(output.message, now);
    }
    this.#emitTransferEvents();
  }

  /** Handles the transfers' events: file reads and writes inside, the rest to the application. */
  #emitTransferEvents(): void {
    this.#transfers.emitEvents();
  }

  #checkServer(session: ChatClient, serverKey: Uint8Array): void {
    const expected = this.#transport.session?.serverKey;
    if (expected !== undefined && !constantTimeEqual(expected, serverKey)) {
      // Nothing more goes to a server that is not the one expected, no credential above all.
      this.#emit({ type: 'server-key-rejected', serverKey });
      this.#stop('the server proved another key than the one given');
      return;
    }
    const verify = this.#options.verifyServerKey ?? (() => true);
    Promise.resolve()
      .then(() => verify(serverKey))
      .then(
        (trusted) => {
          if (this.#session !== session || session.state !== 'identified') return;
          if (!trusted) {
            this.#emit({ type: 'server-key-rejected', serverKey });
            this.#stop('the server key was refused');
            return;
          }
          const base =
            typeof this.#options.login === 'function' ? this.#options.login() : this.#options.login;
          const details: LoginDetails = this.#everLoggedIn
            ? {
                ...base,
                ...(this.#nick === undefined ? {} : { nick: this.#nick }),
                rooms: this.#rooms.filter((room) => room !== session.lobby),
              }
            : base;
          try {
            session.login(details, Date.now());
          } catch (error) {
            this.#emit({ type: 'connection-error', error: error as Error });
            this.#stop('the login details are invalid');
            return;
          }
          this.#flush();
        },
        (error: unknown) => {
          this.#emit({ type: 'connection-error', error: error as Error });
          this.#stop('checking the server key failed');
        },
      );
  }

  /** Writes what is left, then ends (graceful) or destroys the connection. */
  #endLink(session: ChatClient, graceful: boolean): void {
    const link = this.#link;
    if (link === undefined) return;
    if (graceful && link.writable) {
      for (let data = session.pollTransmit(); data !== undefined; data = session.pollTransmit()) {
        link.write(data);
      }
      link.end();
    } else {
      link.destroy();
    }
  }

  /** The connection of `session` closed: stop, or reconnect later. */
  #afterClose(session: ChatClient): void {
    this.#session = undefined;
    this.#clearTimer();
    this.#transfers.linkDown(Date.now());
    this.#emitTransferEvents();
    if (this.#stopped) return;
    if (this.#byeRequested) {
      this.#stop('bye');
      return;
    }
    const reconnect = this.#reconnect;
    if (reconnect === undefined || !this.#everLoggedIn || this.#attempt >= reconnect.maxAttempts) {
      this.#stop(this.#everLoggedIn ? 'the connection was lost' : 'could not connect');
      return;
    }
    this.#attempt++;
    const delay = Math.min(
      reconnect.maxDelay,
      reconnect.initialDelay * 2 ** Math.min(this.#attempt - 1, 30),
    );
    this.#emit({
      type: 'reconnect-scheduled',
      attempt: this.#attempt,
      delay,
      reason: session.error?.message ?? 'the connection was lost',
    });
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#open();
    }, delay);
  }

  #armTimer(session: ChatClient): void {
    if (this.#byeRequested) return;
    this.#clearTimer();
    const deadline = Math.min(
      session.pollTimeout() ?? Infinity,
      this.#transfers.pollTimeout() ?? Infinity,
    );
    if (deadline === Infinity) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        if (this.#session !== session) return;
        const now = Date.now();
        session.handleTimeout(now);
        this.#transfers.handleTimeout(now);
        this.#flush();
      },
      Math.max(0, deadline - Date.now()),
    );
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #stop(reason: string): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    this.#clearTimer();
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
    if (this.#flushScheduled !== undefined) clearImmediate(this.#flushScheduled);
    this.#flushScheduled = undefined;
    const link = this.#link;
    const session = this.#session;
    this.#session = undefined;
    if (session !== undefined) {
      session.connectionLost();
      this.#drainEvents(session);
    }
    const files = this.#transfers.closeFiles();
    const finish = (): void => {
      void files.then(() => {
        this.#emit({ type: 'client-stopped', reason });
        this.#resolveStopped();
      });
    };
    if (link === undefined) {
      finish();
      return;
    }
    this.#closed = finish;
    link.destroy();
  }
}

/**
 * Connects to a chat server over TCP, checks its key, logs in, and keeps the session alive:
 * keepalive pings, and after a lost connection (not after `bye`) reconnection with backoff,
 * logging in again with the same nickname and rejoining the same rooms.
 *
 * @example
 * ```ts
 * import { connectChat } from '@lanchat/tcp';
 *
 * const client = connectChat({
 *   host: '192.168.1.10',
 *   login: { nick: 'alice' },
 *   onEvent(event) {
 *     if (event.type === 'login-succeeded') client.say('lobby', 'hello!');
 *     if (event.type === 'message-received') console.log(`${event.from}: ${event.text}`);
 *   },
 * });
 * ```
 */
export function connectChat(options: ChatTcpClientOptions): ChatTcpClient {
  return new ChatTcpClient(options);
}
