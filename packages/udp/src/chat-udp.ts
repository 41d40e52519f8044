/**
 * The chat over UDP (docs/protocol.md, sections 3 and 7): a server that drives `ChatServer` with
 * datagram connections, and the link that carries the client of @lanchat/tcp over one UDP socket.
 *
 * The server finds a datagram's session by the receiver index it names, not by its source
 * address, so a client whose address or port changes keeps its session; the address replies go
 * to moves only when a datagram from the new one authenticates. A handshake's first message must
 * carry a valid mac1 (keyed by the server's public key) or it is dropped after one HMAC; under load
 * (half the pending-handshake bound in use) it must carry a cookie too, and is answered with a
 * small cookie reply otherwise, before the server keeps any state for it.
 *
 * @module
 */

import { type RemoteInfo, type Socket, createSocket } from 'node:dgram';
import { lookup } from 'node:dns';
import {
  ChatServer,
  type ChatServerOptions,
  CookieChecker,
  DEFAULT_MAX_PENDING_CONNECTIONS,
  InvalidStateError,
  type ServerEvent,
  type ServerStatistics,
  type ServerTransport,
} from '@lanchat/core';
import {
  type ChatTcpClient,
  type ChatTcpClientOptions,
  type ChatTcpServer,
  type ClientLink,
  type ClientTransport,
  type LoginVerifier,
  type TcpServerEvent,
  connectChat,
  listenChat,
} from '@lanchat/tcp';

/** Default UDP port of the chat: 9999, the same number as TCP's. */
export const DEFAULT_UDP_PORT = 9999;

/**
 * The socket buffers asked for: 4 MiB each way, so that a burst of a full window to several
 * clients waits in the kernel instead of being dropped. The system caps it (`net.core.rmem_max`
 * and `wmem_max` on Linux); what is granted is enough, only slower if small.
 */
export const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** Frame types of the datagrams the server routes (protocol section 3 and 7). */
const HANDSHAKE = 1;
const TRANSPORT = 4;

/** Checks a login's password. Must not throw. */
export type UdpLoginVerifier = LoginVerifier;

/** A send failed (`EMSGSIZE`, an unreachable network...): reported, never swallowed. */
export interface UdpSendErrorEvent {
  readonly type: 'send-error';
  readonly address: string;
  readonly error: Error;
}

/** What a {@link ChatUdpServer} reports: the core server's events and send errors. */
export type UdpServerEvent = ServerEvent | UdpSendErrorEvent;

/** Options of {@link udpTransport}. */
export interface UdpTransportOptions {
  /**
   * Address to listen on. Default: the address of the server it serves beside (`listenChat`), or
   * `0.0.0.0`; an IPv6 address listens on IPv6 (and IPv4, on `::`).
   */
  readonly host?: string;
  /**
   * Port; 0 for any free one. Default: the port number of the server it serves beside, or
   * {@link DEFAULT_UDP_PORT}.
   */
  readonly port?: number;
  /**
   * Handshakes in progress past which cookies are required. Default half of the server's
   * default `maxPendingConnections` (128).
   */
  readonly loadThreshold?: number;
  /** Told of send and socket errors. Must not throw. */
  readonly onError?: (event: UdpSendErrorEvent) => void;
}

/** Options of {@link listenChatUdp}. */
export interface ChatUdpServerOptions
  extends ChatServerOptions, Omit<UdpTransportOptions, 'onError'> {
  /** Checks passwords; required when `accounts` is true. */
  readonly verifyLogin?: UdpLoginVerifier;
  /** Receives every event. Must not throw. */
  readonly onEvent?: (event: UdpServerEvent) => void;
  /** Aborting closes the server. */
  readonly signal?: AbortSignal;
}

interface Peer {
  readonly id: number;
  readonly index: number;
  /** The initiation that opened it (source and sender index), while its handshake runs. */
  readonly initiation: string;
  port: number;
  host: string;
}

/** What the server dropped before any session saw it. */
export interface UdpServerStatistics {
  /** Not a lanchat datagram, or too short to route. */
  malformed: number;
  /** For a session index the server does not have. */
  unknownSession: number;
  /** First handshake messages without a valid mac1. */
  badMac: number;
  /** Cookie replies sent (the server was under load). */
  cookiesSent: number;
  /** Sessions whose address moved (an authenticated datagram from a new one). */
  roamed: number;
}

function describe(remote: { address: string; port: number }): string {
  return remote.address.includes(':')
    ? `[${remote.address}]:${remote.port}`
    : `${remote.address}:${remote.port}`;
}

function readUint32(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0
  );
}

/**
 * The chat's UDP socket, as a transport of a server that shares one `ChatServer` with others
 * (`listenChat({ transports: [udpTransport()] })` in @lanchat/tcp), or alone ({@link listenChatUdp}).
 */
export class UdpTransport implements ServerTransport {
  readonly statistics: UdpServerStatistics = {
    malformed: 0,
    unknownSession: 0,
    badMac: 0,
    cookiesSent: 0,
    roamed: 0,
  };
  readonly #options: UdpTransportOptions;
  readonly #peers = new Map<number, Peer>();
  readonly #byIndex = new Map<number, Peer>();
  readonly #byInitiation = new Map<string, Peer>();
  #socket: Socket | undefined;
  #chat: ChatServer | undefined;
  #cookies: CookieChecker | undefined;
  #changed: () => void = () => undefined;
  #closed = false;

  constructor(options: UdpTransportOptions = {}) {
    this.#options = options;
  }

  /** The address it listens on, once started. */
  address(): { address: string; port: number } {
    if (this.#socket === undefined)
      throw new InvalidStateError('the UDP transport has not started');
    return this.#socket.address();
  }

  /** Sessions it holds (handshaking or logged in). */
  get sessionCount(): number {
    return this.#peers.size;
  }

  async start(
    chat: ChatServer,
    changed: () => void,
    beside?: { readonly address: string; readonly port: number },
  ): Promise<void> {
    if (this.#socket !== undefined) throw new InvalidStateError('the UDP transport has started');
    const host = this.#options.host ?? beside?.address ?? '0.0.0.0';
    const socket = createSocket({
      type: host.includes(':') ? 'udp6' : 'udp4',
      recvBufferSize: SOCKET_BUFFER_BYTES,
      sendBufferSize: SOCKET_BUFFER_BYTES,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.#options.port ?? beside?.port ?? DEFAULT_UDP_PORT, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.#socket = socket;
    this.#chat = chat;
    this.#changed = changed;
    this.#cookies = new CookieChecker({ staticPublicKey: chat.publicKey, now: Date.now() });
    socket.on('message', (datagram, remote) => {
      this.#receive(datagram, remote);
    });
    socket.on('error', (error) => {
      this.#options.onError?.({ type: 'send-error', address: 'socket', error });
    });
  }

  owns(connection: number): boolean {
    return this.#peers.has(connection);
  }

  send(connection: number, data: Uint8Array): void {
    const peer = this.#peers.get(connection);
    if (peer !== undefined) this.#send(data, peer.port, peer.host);
  }

  end(connection: number): void {
    const peer = this.#peers.get(connection);
    const chat = this.#chat;
    if (peer === undefined || chat === undefined) return;
    // What is left goes out (best effort: a datagram session has no end to wait for).
    for (let data = chat.pollTransmitFor(peer.id); data !== undefined;) {
      this.#send(data, peer.port, peer.host);
      data = chat.pollTransmitFor(peer.id);
    }
    this.#forget(peer);
  }

  notify(event: ServerEvent): void {
    if (event.type === 'user-logged-in') {
      // The handshake is over: a repeated first message can no longer reach this session.
      const peer = this.#peers.get(event.connection);
      if (peer !== undefined) this.#byInitiation.delete(peer.initiation);
    }
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const peer of [...this.#peers.values()]) this.#forget(peer);
    const socket = this.#socket;
    if (socket === undefined) return Promise.resolve();
    socket.removeAllListeners('message');
    return new Promise<void>((resolve) => {
      socket.close(() => {
        socket.removeAllListeners('error');
        resolve();
      });
    });
  }

  #receive(datagram: Buffer, remote: RemoteInfo): void {
    const chat = this.#chat;
    if (this.#closed || chat === undefined) return;
    const now = Date.now();
    if (datagram.length < 8 || datagram[0] !== 0x4c || datagram[1] !== 0x43) {
      this.statistics.malformed++;
      return;
    }
    const type = datagram[3];
    let peer: Peer | undefined;
    if (type === HANDSHAKE) {
      if (datagram.length < 13) {
        this.statistics.malformed++;
        return;
      }
      const receiver = readUint32(datagram, 9);
      peer =
        receiver === 0
          ? this.#initiation(chat, datagram, remote, now)
          : this.#byIndex.get(receiver);
      if (peer === undefined && receiver !== 0) this.statistics.unknownSession++;
    } else if (type === TRANSPORT) {
      peer = this.#byIndex.get(readUint32(datagram, 4));
      if (peer === undefined) this.statistics.unknownSession++;
    } else {
      this.statistics.malformed++;
      return;
    }
    if (peer === undefined) {
      this.#changed();
      return;
    }
    // The session moves to a new address only on a datagram that authenticated from there. The
    // count of authenticated datagrams is read only then: most datagrams come from where the
    // session already is.
    const moved = remote.address !== peer.host || remote.port !== peer.port;
    const before = moved ? (chat.datagramSession(peer.id)?.accepted ?? 0) : 0;
    chat.receive(peer.id, datagram, now);
    if (moved && (chat.datagramSession(peer.id)?.accepted ?? 0) > before) {
      peer.host = remote.address;
      peer.port = remote.port;
      this.statistics.roamed++;
    }
    this.#changed();
  }

  /** A handshake's first message: to its session if it is a repeat, else checked, then accepted. */
  #initiation(
    chat: ChatServer,
    datagram: Buffer,
    remote: RemoteInfo,
    now: number,
  ): Peer | undefined {
    const source = describe(remote);
    const key = `${source}|${readUint32(datagram, 5)}`;
    const known = this.#byInitiation.get(key);
    if (known !== undefined) return known;
    const threshold = this.#options.loadThreshold ?? DEFAULT_MAX_PENDING_CONNECTIONS / 2;
    const verdict = this.#cookies!.check(
      datagram,
      source,
      this.#byInitiation.size >= threshold,
      now,
    );
    if (verdict === 'drop') {
      this.statistics.badMac++;
      return undefined;
    }
    if (verdict === 'send-cookie') {
      this.statistics.cookiesSent++;
      this.#send(
        this.#cookies!.cookieReply(datagram, source, readUint32(datagram, 5), now),
        remote.port,
        remote.address,
      );
      return undefined;
    }
    const id = chat.accept(now, source, remote.address, 'datagram');
    if (id === undefined) return undefined;
    const session = chat.datagramSession(id)!;
    const peer: Peer = {
      id,
      index: session.index,
      initiation: key,
      host: remote.address,
      port: remote.port,
    };
    this.#peers.set(id, peer);
    this.#byIndex.set(peer.index, peer);
    this.#byInitiation.set(key, peer);
    return peer;
  }

  #send(data: Uint8Array, port: number, host: string): void {
    this.#socket?.send(data, port, host, (error) => {
      if (error !== null) {
        this.#options.onError?.({
          type: 'send-error',
          address: describe({ address: host, port }),
          error,
        });
      }
    });
  }

  #forget(peer: Peer): void {
    this.#peers.delete(peer.id);
    this.#byIndex.delete(peer.index);
    this.#byInitiation.delete(peer.initiation);
    this.#chat?.connectionClosed(peer.id, Date.now());
  }
}

/** The chat's UDP socket as a transport of another server (see {@link UdpTransport}). */
export function udpTransport(options: UdpTransportOptions = {}): UdpTransport {
  return new UdpTransport(options);
}

/**
 * A chat server on a UDP socket alone. Made by {@link listenChatUdp}: the host of @lanchat/tcp
 * (`listenChat` with `tcp: false`) serving one {@link UdpTransport}.
 */
export class ChatUdpServer {
  readonly #host: ChatTcpServer;
  readonly #transport: UdpTransport;

  /** @internal Use {@link listenChatUdp}. */
  constructor(host: ChatTcpServer, transport: UdpTransport) {
    this.#host = host;
    this.#transport = transport;
  }

  /** The address the server listens on (its `port` is the real one when 0 was asked). */
  address(): { address: string; port: number } {
    return this.#transport.address();
  }

  /** The core server's counters. */
  get statistics(): ServerStatistics {
    return this.#host.statistics;
  }

  /** What the UDP layer dropped before any session saw it. */
  get udpStatistics(): Readonly<UdpServerStatistics> {
    return this.#transport.statistics;
  }

  /** Sessions the server holds (handshaking or logged in). */
  get sessionCount(): number {
    return this.#transport.sessionCount;
  }

  /**
   * Shuts down: tells every client, lets the goodbyes go out, and closes the socket. Every listener
   * and timer is removed. Calling it again returns the same promise.
   */
  close(message = 'the server is shutting down'): Promise<void> {
    return this.#host.close(message);
  }
}

/** Starts a chat server on a UDP socket alone; resolves once it is bound. */
export async function listenChatUdp(options: ChatUdpServerOptions): Promise<ChatUdpServer> {
  const { host, port, loadThreshold, onEvent, ...chat } = options;
  const transport = new UdpTransport({
    ...(host === undefined ? {} : { host }),
    ...(port === undefined ? {} : { port }),
    ...(loadThreshold === undefined ? {} : { loadThreshold }),
    onError: (event) => onEvent?.(event),
  });
  const server = await listenChat({
    ...chat,
    tcp: false,
    transports: [transport],
    // Without TCP there are no socket errors: every event is the core server's.
    ...(onEvent === undefined
      ? {}
      : {
          onEvent: (event: TcpServerEvent) => {
            if (event.type !== 'socket-error') onEvent(event);
          },
        }),
  });
  return new ChatUdpServer(server, transport);
}

/** Options of {@link udpClientTransport}. */
export interface UdpClientTransportOptions {
  /** The server's static public key (pinned, or from discovery): its handshake is keyed by it. */
  readonly serverKey: Uint8Array;
}

/**
 * How long a UDP client's socket stays connected to the server's address without an answer before
 * it takes answers from any address: 500 ms (see {@link udpClientTransport}).
 */
const ANSWER_FROM_ANYWHERE_AFTER = 500;

/** Bytes waiting in the socket past which the link says `drain` once they have left. */
const DRAIN_MARK = 64 * 1024;

/**
 * The chat client's link over UDP (for `connectChat` of @lanchat/tcp, or {@link connectChatUdp}):
 * one connected node:dgram socket per connection attempt, each datagram one of the session's.
 * Send errors (`EMSGSIZE`, a port unreachable...) are reported as `connection-error` events and do
 * not end the link: the session's own timers decide when the server is gone. One exception: a
 * port unreachable (`ECONNREFUSED`) before the server was ever heard from on this link ends it,
 * as a refused TCP connection does (nothing serves UDP there).
 *
 * The socket is connected to the server's address, so the kernel filters other sources and
 * reports "port unreachable". If the server stays silent for 500 ms, the socket is disconnected
 * and takes datagrams from any address: a server bound to a wildcard address on a host with
 * several may answer from another one than the client asked (the session authenticates every
 * datagram, whatever its source).
 */
export function udpClientTransport(options: UdpClientTransportOptions): ClientTransport {
  const serverKey = Uint8Array.from(options.serverKey);
  return {
    name: 'udp',
    session: { transport: 'datagram', serverKey },
    open(host, port, handlers): ClientLink {
      let socket: Socket | undefined;
      let state: 'opening' | 'open' | 'ending' | 'closed' = 'opening';
      let pending = 0;
      let marked = false;
      /** The server's address, and whether the socket is still connected to it. */
      let target: { readonly address: string; readonly port: number } | undefined;
      let connected = false;
      let unconnectTimer: NodeJS.Timeout | undefined;
      const close = (): void => {
        if (state === 'closed') return;
        state = 'closed';
        clearTimeout(unconnectTimer);
        const opened = socket;
        if (opened === undefined) {
          queueMicrotask(handlers.close);
          return;
        }
        opened.removeAllListeners('message');
        opened.close(() => {
          opened.removeAllListeners();
          handlers.close();
        });
      };
      /** Whether a datagram came from the server on this link. */
      let heard = false;
      const failed = (error: Error): void => {
        if (state === 'closed') return;
        handlers.error(error);
        // Before the socket is connected an error ends the attempt. After, it is a send's and
        // the session's timers judge, except "port unreachable" before the server was ever
        // heard from: nothing serves UDP there, as a refused TCP connection says.
        const refused = (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
        if (state === 'opening' || (refused && !heard)) close();
      };
      const sent = (length: number, error: Error | null): void => {
        pending -= length;
        if (error !== null) failed(error);
        if (pending > 0) return;
        if (state === 'ending') close();
        else if (marked && state === 'open') {
          marked = false;
          handlers.drain();
        }
      };
      lookup(host, (lookupError, address, family) => {
        if (state === 'closed') return;
        if (lookupError !== null) {
          handlers.error(lookupError);
          close();
          return;
        }
        const opened = createSocket({
          type: family === 6 ? 'udp6' : 'udp4',
          recvBufferSize: SOCKET_BUFFER_BYTES,
          sendBufferSize: SOCKET_BUFFER_BYTES,
        });
        socket = opened;
        opened.on('message', (datagram) => {
          heard = true;
          clearTimeout(unconnectTimer);
          handlers.data(datagram);
        });
        opened.on('error', failed);
        target = { address, port };
        opened.connect(port, address, () => {
          if (state !== 'opening') return;
          state = 'open';
          connected = true;
          // A server bound to a wildcard address on a host with several may answer from another
          // address than the one asked, and a connected socket drops such answers. Silence that
          // long (a "port unreachable" comes within milliseconds) lifts the filter: answers from
          // anywhere are taken, the session authenticates them.
          unconnectTimer = setTimeout(() => {
            if (heard || state === 'closed' || !connected) return;
            opened.disconnect();
            connected = false;
          }, ANSWER_FROM_ANYWHERE_AFTER);
          handlers.open();
        });
      });
      return {
        get writable() {
          return state === 'open';
        },
        get pendingBytes() {
          return pending;
        },
        write(data) {
          if (state !== 'open' || socket === undefined) return;
          pending += data.length;
          if (pending >= DRAIN_MARK) marked = true;
          const done = (error: Error | null): void => {
            sent(data.length, error);
          };
          if (connected || target === undefined) socket.send(data, done);
          else socket.send(data, target.port, target.address, done);
        },
        cork() {
          // Each datagram leaves on its own.
        },
        uncork() {
          // Each datagram leaves on its own.
        },
        end() {
          if (state === 'closed') return;
          if (pending === 0) close();
          else state = 'ending';
        },
        destroy(error) {
          if (state === 'closed') return;
          if (error !== undefined) handlers.error(error);
          close();
        },
      };
    },
  };
}

/** Options of {@link connectChatUdp}: those of `connectChat`, with the server's key. */
export interface ChatUdpClientOptions extends Omit<ChatTcpClientOptions, 'transport'> {
  /** Default {@link DEFAULT_UDP_PORT}. */
  readonly port?: number;
  /** The server's static public key (pinned, or from discovery): required over UDP. */
  readonly serverKey: Uint8Array;
}

/** A chat client over UDP: the client of @lanchat/tcp on a {@link udpClientTransport}. */
export type ChatUdpClient = ChatTcpClient;

/**
 * Connects a chat client over UDP: every feature of `connectChat` (files, reconnection, key
 * checks), on a connected UDP socket. The client proves the server holds `serverKey` before
 * sending any credential: a server that presents another key is left at once
 * (`server-key-rejected`).
 *
 * @example
 * ```ts
 * import { connectChatUdp } from '@lanchat/udp';
 *
 * const client = connectChatUdp({
 *   host: '192.168.1.10',
 *   serverKey, // from discovery or known_hosts
 *   login: { nick: 'alice' },
 *   onEvent(event) {
 *     if (event.type === 'login-succeeded') client.say('lobby', 'hello over UDP!');
 *   },
 * });
 * ```
 */
export function connectChatUdp(options: ChatUdpClientOptions): ChatUdpClient {
  const { serverKey, ...rest } = options;
  return connectChat({
    ...rest,
    port: options.port ?? DEFAULT_UDP_PORT,
    transport: udpClientTransport({ serverKey }),
  });
}
