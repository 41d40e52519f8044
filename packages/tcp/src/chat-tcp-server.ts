/**
 * The chat server over TCP: node:net sockets driving core's sans-I/O {@link ChatServer}.
 *
 * @module
 */

import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import {
  ChatServer,
  type ChatServerOptions,
  DEFAULT_HANDSHAKE_TIMEOUT,
  InvalidStateError,
  type Secret,
  type ServerEvent,
  type ServerStatistics,
  type ServerTransport,
  checkLimit,
} from '@lanchat/core';

/** Default port of a lanchat server: 9999, as the original programs used. */
export const DEFAULT_PORT = 9999;

/**
 * Default time a graceful end may take, in ms: 5 s. A socket that has not closed by then (a peer
 * that never answers the close) is destroyed.
 */
export const DEFAULT_END_TIMEOUT = 5000;

/**
 * Bytes a socket takes in one turn of the event loop (corked, then written with one writev)
 * before the rest waits for its 'drain': 256 KiB.
 */
export const WRITE_BATCH_BYTES = 256 * 1024;

/** Checks a login's password, e.g. against an scrypt hash. Must not throw. */
export type LoginVerifier = (user: string, password: Secret) => Promise<boolean>;

/** An error of a socket (a reset, a broken pipe): that connection is gone, others carry on. */
export interface SocketErrorEvent {
  readonly type: 'socket-error';
  readonly connection: number | undefined;
  readonly address: string;
  readonly error: Error;
}

/** What a {@link ChatTcpServer} reports: the core server's events and socket errors. */
export type TcpServerEvent = ServerEvent | SocketErrorEvent;

/** Options of {@link listenChat}. */
export interface ChatTcpServerOptions extends ChatServerOptions {
  /** Address to listen on. Default `::` (every address, IPv4 and IPv6). */
  readonly host?: string;
  /** Port; 0 for any free port. Default {@link DEFAULT_PORT}. */
  readonly port?: number;
  /** Checks passwords; required when `accounts` is true. */
  readonly verifyLogin?: LoginVerifier;
  /** Receives every event (for logs). Must not throw. */
  readonly onEvent?: (event: TcpServerEvent) => void;
  /** Aborting closes the server as {@link ChatTcpServer.close} does. */
  readonly signal?: AbortSignal;
  /** Default {@link DEFAULT_END_TIMEOUT}. */
  readonly endTimeout?: number;
  /**
   * Transports served beside TCP on the same chat (`udpTransport()` of @lanchat/udp): their
   * users meet TCP's in the same rooms. Started by {@link listenChat}, closed with the server.
   */
  readonly transports?: readonly ServerTransport[];
  /**
   * False to serve the chat on `transports` alone, without a TCP listener (`host` and `port` are
   * then the transports' business). Default true.
   */
  readonly tcp?: boolean;
  /**
   * Takes the TCP connections whose first bytes are an HTTP request (a browser, a WebSocket
   * upgrade) instead of the chat, with the bytes read so far (put them back with
   * `socket.unshift`): `webSocketTransport()` of @lanchat/ws serves a web page and WebSocket
   * sessions on the chat's own port this way. Without it, HTTP gets a short plain-text answer
   * (protocol section 8.1).
   */
  readonly http?: (socket: Socket, head: Buffer) => void;
}

/** The longest HTTP method, and its space: the bytes looked at before a connection is routed. */
const HTTP_SNIFF_BYTES = 8;
const HTTP_METHOD = /^(?:GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|CONNECT|TRACE) /;

/**
 * Whether the first bytes of a connection are an HTTP request line (`true`), not one (`false`),
 * or too few to tell (`undefined`).
 */
export function sniffHttp(head: Uint8Array): boolean | undefined {
  const text = Buffer.from(head.subarray(0, HTTP_SNIFF_BYTES)).toString('latin1');
  if (HTTP_METHOD.test(text)) return true;
  // Still a prefix of "METHOD ": wait for more bytes.
  if (head.length < HTTP_SNIFF_BYTES && /^[A-Z]*$/.test(text)) return undefined;
  return false;
}

interface Connection {
  readonly id: number;
  readonly socket: Socket;
  readonly address: string;
  endTimer: NodeJS.Timeout | undefined;
}

function describeAddress(socket: Socket): string {
  const host = socket.remoteAddress ?? 'unknown';
  return host.includes(':')
    ? `[${host}]:${String(socket.remotePort)}`
    : `${host}:${String(socket.remotePort)}`;
}

/**
 * A listening chat server. Made by {@link listenChat}.
 *
 * Output queued for a connection within one turn of the event loop is sealed and written
 * together (one `write()` per connection per turn), with TCP_NODELAY so that it leaves at once. A
 * socket whose buffer is full is not written until it drains; its output waits inside the core
 * server, up to `maxBacklogBytes`, and past that the client is disconnected as too slow.
 */
export class ChatTcpServer {
  readonly #chat: ChatServer;
  /** The TCP listener; `undefined` when the chat is served on other transports alone. */
  readonly #server: Server | undefined;
  readonly #connections = new Map<number, Connection>();
  readonly #verifyLogin: LoginVerifier | undefined;
  readonly #onEvent: ((event: TcpServerEvent) => void) | undefined;
  readonly #endTimeout: number;
  readonly #transports: readonly ServerTransport[];
  readonly #http: ((socket: Socket, head: Buffer) => void) | undefined;
  /** How long a connection may stay silent before it is routed (the handshake timeout). */
  readonly #sniffTimeout: number;
  /** Sockets whose first bytes are awaited, to route them (with `http`). */
  readonly #sniffing = new Set<Socket>();
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => {
    void this.close();
  };
  #flushScheduled: NodeJS.Immediate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #timerDeadline: number | undefined;
  #closing: Promise<void> | undefined;
  #allClosed: (() => void) | undefined;

  /** @internal Use {@link listenChat}. */
  constructor(options: ChatTcpServerOptions, server: Server | undefined) {
    if (options.accounts === true && options.verifyLogin === undefined) {
      throw new InvalidStateError('a server with accounts needs a verifyLogin function');
    }
    this.#chat = new ChatServer(options);
    this.#server = server;
    this.#verifyLogin = options.verifyLogin;
    this.#onEvent = options.onEvent;
    this.#endTimeout = checkLimit(
      'endTimeout',
      options.endTimeout,
      DEFAULT_END_TIMEOUT,
      1,
      600_000,
    );
    this.#signal = options.signal;
    this.#transports = options.transports ?? [];
    this.#http = options.http;
    this.#sniffTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    server?.on('connection', (socket) => {
      if (this.#http === undefined) this.#accept(socket);
      else this.#sniff(socket, this.#http);
    });
    server?.on('error', (error) => {
      this.#emit({ type: 'socket-error', connection: undefined, address: 'listener', error });
    });
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** @internal Starts the other transports ({@link listenChat} does, once TCP listens). */
  async startTransports(): Promise<void> {
    await Promise.all(
      this.#transports.map((transport) =>
        transport.start(
          this.#chat,
          () => {
            this.#scheduleFlush();
          },
          this.#server === undefined
            ? undefined
            : { address: this.address().address, port: this.address().port },
        ),
      ),
    );
  }

  /**
   * The address the server listens on (its `port` is the real one when 0 was asked).
   *
   * @throws `InvalidStateError` for a server without TCP (`tcp: false`): ask its transports.
   */
  address(): AddressInfo {
    if (this.#server === undefined) {
      throw new InvalidStateError('this server has no TCP listener: ask its transports');
    }
    return this.#server.address() as AddressInfo;
  }

  /** The core server's counters. */
  get statistics(): ServerStatistics {
    return this.#chat.statistics;
  }

  /** Sockets open now. */
  get socketCount(): number {
    return this.#connections.size;
  }

  /** Whether {@link close} has been called. */
  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Shuts down: stops listening, tells every client (`message`), ends each session gracefully,
   * and resolves when every socket has closed (those that linger past `endTimeout` are
   * destroyed). Every listener and timer is removed. Calling it again returns the same promise.
   */
  close(message = 'the server is shutting down'): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#signal?.removeEventListener('abort', this.#onAbort);
      const listening = new Promise<void>((closed) => {
        const server = this.#server;
        if (server?.listening !== true) {
          closed();
          return;
        }
        server.close(() => {
          closed();
        });
      });
      const sockets = new Promise<void>((closed) => {
        this.#allClosed = closed;
      });
      this.#chat.shutdown(message, Date.now());
      // Connections not yet routed are no one's yet: closed at once.
      for (const socket of this.#sniffing) socket.destroy();
      this.#flush();
      this.#checkAllClosed();
      void Promise.all([
        listening,
        sockets,
        ...this.#transports.map((transport) => transport.close()),
      ]).then(() => {
        this.#clearTimer();
        if (this.#flushScheduled !== undefined) clearImmediate(this.#flushScheduled);
        this.#flushScheduled = undefined;
        // The last sockets' closing reported events of their own: hand them out.
        this.#drainEvents();
        this.#server?.removeAllListeners('connection');
        resolve();
      });
    });
    return this.#closing;
  }

  #emit(event: TcpServerEvent): void {
    this.#onEvent?.(event);
  }

  /**
   * Waits for a connection's first bytes: HTTP goes to `http`, anything else to the chat. A
   * connection silent for the handshake timeout is closed.
   */
  #sniff(socket: Socket, http: (socket: Socket, head: Buffer) => void): void {
    this.#sniffing.add(socket);
    let head: Buffer = Buffer.alloc(0);
    const done = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      this.#sniffing.delete(socket);
    };
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const verdict = sniffHttp(head);
      if (verdict === undefined) return;
      done();
      socket.pause();
      if (verdict) {
        http(socket, head);
        return;
      }
      this.#accept(socket, head);
      socket.resume();
    };
    const onClose = (): void => {
      done();
    };
    const timer = setTimeout(() => {
      done();
      socket.destroy();
    }, this.#sniffTimeout);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.on('error', () => undefined);
  }

  #accept(socket: Socket, head?: Buffer): void {
    const address = describeAddress(socket);
    const id = this.#chat.accept(Date.now(), address, socket.remoteAddress ?? 'unknown');
    if (id === undefined) {
      this.#drainEvents();
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const connection: Connection = { id, socket, address, endTimer: undefined };
    this.#connections.set(id, connection);
    socket.on('data', (chunk: Buffer) => {
      this.#chat.receive(id, chunk, Date.now());
      this.#scheduleFlush();
    });
    socket.on('end', () => {
      this.#chat.receiveEnd(id, Date.now());
      this.#scheduleFlush();
    });
    socket.on('drain', () => {
      if (this.#connections.has(id)) this.#chat.setWritable(id, true);
      this.#scheduleFlush();
    });
    socket.on('error', (error) => {
      this.#emit({ type: 'socket-error', connection: id, address, error });
    });
    socket.on('close', () => {
      if (connection.endTimer !== undefined) clearTimeout(connection.endTimer);
      this.#connections.delete(id);
      this.#chat.connectionClosed(id, Date.now());
      this.#scheduleFlush();
      this.#checkAllClosed();
    });
    if (head !== undefined) this.#chat.receive(id, head, Date.now());
    this.#scheduleFlush();
  }

  #checkAllClosed(): void {
    if (this.#allClosed !== undefined && this.#connections.size === 0) {
      const done = this.#allClosed;
      this.#allClosed = undefined;
      done();
    }
  }

  /** Flushes once the current turn's input has all been read. */
  #scheduleFlush(): void {
    this.#flushScheduled ??= setImmediate(() => {
      this.#flushScheduled = undefined;
      this.#flush();
    });
  }

  #flush(): void {
    this.#drainEvents();
    // Each socket is corked for the turn: its frames leave in one writev, not one write each.
    const corked = new Set<Socket>();
    for (let out = this.#chat.pollTransmit(); out !== undefined; out = this.#chat.pollTransmit()) {
      const connection = this.#connections.get(out.connection);
      if (connection === undefined) {
        this.#transportOf(out.connection)?.send(out.connection, out.data);
        continue;
      }
      const socket = connection.socket;
      if (!corked.has(socket)) {
        socket.cork();
        corked.add(socket);
      }
      // Corked, write() says false past 16 KiB whatever the kernel would take: what counts is
      // how much waits in the socket. Past a batch, the connection waits for 'drain', which
      // comes once the uncorked writev has gone to the kernel.
      socket.write(out.data);
      if (socket.writableLength >= WRITE_BATCH_BYTES) this.#chat.setWritable(out.connection, false);
    }
    for (const socket of corked) socket.uncork();
    // Dropping a slow consumer during the writes above reports events too.
    this.#drainEvents();
    this.#armTimer();
  }

  #drainEvents(): void {
    for (let event = this.#chat.nextEvent(); event !== undefined; event = this.#chat.nextEvent()) {
      switch (event.type) {
        case 'login-requested':
          this.#verify(event.connection, event.user, event.password);
          break;
        case 'connection-ending':
          if (this.#connections.has(event.connection)) {
            this.#endConnection(event.connection, event.graceful);
          } else {
            this.#transportOf(event.connection)?.end(event.connection);
          }
          break;
        default:
          break;
      }
      for (const transport of this.#transports) transport.notify(event);
      this.#emit(event);
    }
  }

  /** The other transport a connection belongs to, if it is not a TCP one. */
  #transportOf(id: number): ServerTransport | undefined {
    return this.#transports.find((transport) => transport.owns(id));
  }

  /** Whether the connection is still there, on TCP or another transport. */
  #has(id: number): boolean {
    return this.#connections.has(id) || this.#transportOf(id) !== undefined;
  }

  #verify(id: number, user: string, password: Secret): void {
    const verify = this.#verifyLogin;
    if (verify === undefined) return;
    verify(user, password).then(
      (accepted) => {
        if (!this.#has(id)) return;
        this.#chat.completeLogin(id, accepted, Date.now());
        this.#flush();
      },
      () => {
        if (!this.#has(id)) return;
        this.#chat.completeLogin(id, false, Date.now());
        this.#flush();
      },
    );
  }

  #endConnection(id: number, graceful: boolean): void {
    const connection = this.#connections.get(id);
    if (connection === undefined) return;
    const socket = connection.socket;
    if (!graceful) {
      socket.destroy();
      return;
    }
    for (
      let data = this.#chat.pollTransmitFor(id);
      data !== undefined;
      data = this.#chat.pollTransmitFor(id)
    ) {
      socket.write(data);
    }
    socket.end();
    connection.endTimer = setTimeout(() => {
      socket.destroy();
    }, this.#endTimeout);
    connection.endTimer.unref();
  }

  #armTimer(): void {
    const deadline = this.#chat.pollTimeout();
    if (deadline === this.#timerDeadline) return;
    this.#clearTimer();
    if (deadline === undefined) return;
    this.#timerDeadline = deadline;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerDeadline = undefined;
        this.#chat.handleTimeout(Date.now());
        this.#flush();
      },
      Math.max(0, deadline - Date.now()),
    );
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDeadline = undefined;
  }
}

/**
 * Starts a chat server on TCP (and on the other `transports` given, or on those alone with
 * `tcp: false`) and resolves once it listens.
 *
 * @example
 * ```ts
 * import { nodeCryptoProvider } from '@lanchat/core';
 * import { listenChat } from '@lanchat/tcp';
 *
 * const server = await listenChat({
 *   staticKeyPair: nodeCryptoProvider.generateX25519KeyPair(),
 *   port: 0,
 *   onEvent: (event) => console.log(event.type),
 * });
 * console.log('listening on port', server.address().port);
 * await server.close();
 * ```
 *
 * @throws the listen error (`EADDRINUSE`, `EACCES`...) as node:net reports it; the options'
 * `InvalidArgumentError` / `InvalidStateError`.
 */
export async function listenChat(options: ChatTcpServerOptions): Promise<ChatTcpServer> {
  const server = options.tcp === false ? undefined : createServer({ noDelay: true });
  const chat = new ChatTcpServer(options, server);
  if (server !== undefined) {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        server.off('listening', onListening);
        reject(error);
      };
      const onListening = (): void => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen({ host: options.host ?? '::', port: options.port ?? DEFAULT_PORT });
    });
  }
  try {
    await chat.startTransports();
  } catch (error) {
    await chat.close();
    throw error;
  }
  return chat;
}
