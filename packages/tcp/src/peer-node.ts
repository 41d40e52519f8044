/**
 * Serverless mode over TCP: a peer that accepts and dials other peers, driving core's sans-I/O
 * {@link PeerMesh}, with files beside the chat.
 *
 * @module
 */

import { type Server, type Socket, createConnection, createServer } from 'node:net';
import {
  InvalidStateError,
  PeerMesh,
  type PeerMeshEvent,
  type PeerMeshOptions,
  type PeerSummary,
  type TransferOffer,
  type TransferSummary,
  checkLimit,
  checkNickname,
} from '@lanchat/core';
import { DEFAULT_END_TIMEOUT, WRITE_BATCH_BYTES } from './chat-tcp-server.js';
import { type FileEvent, TransferFiles } from './transfer-files.js';

/** The TCP port a peer accepts others on by default: 9997 (the server has 9999, discovery UDP 9998). */
export const DEFAULT_PEER_PORT = 9997;

/** The mesh's transfer events, which the peer handles itself (see {@link FileEvent}). */
export type MeshTransferEvent = Extract<
  PeerMeshEvent,
  {
    type:
      'transfer-offered' | 'transfer-message' | 'transfer-offer-failed' | 'transfer-interrupted';
  }
>;

/** The peer accepts others at `host:port`. */
export interface PeerListeningEvent {
  readonly type: 'listening';
  readonly host: string;
  readonly port: number;
}

/** A socket failed (the link closes; `link-failed` or `peer-disconnected` follows). */
export interface PeerSocketErrorEvent {
  readonly type: 'socket-error';
  readonly link: number;
  readonly error: Error;
}

/** The peer stopped: every link is closed, every timer cleared. */
export interface PeerStoppedEvent {
  readonly type: 'peer-stopped';
  readonly reason: string;
}

/** What a {@link PeerNode} reports: the mesh's events, file events, its own. */
export type PeerNodeEvent =
  | Exclude<PeerMeshEvent, MeshTransferEvent>
  | FileEvent
  | PeerListeningEvent
  | PeerSocketErrorEvent
  | PeerStoppedEvent;

/** Options of {@link startPeer}. */
export interface PeerNodeOptions extends Omit<PeerMeshOptions, 'now' | 'listenPort'> {
  /**
   * Where to accept other peers: default every address, port {@link DEFAULT_PEER_PORT} (0 picks a
   * free port). `false` accepts none: the peer only dials.
   */
  readonly listen?: false | { readonly host?: string; readonly port?: number };
  /** Aborting stops the peer at once (as {@link PeerNode.destroy}). */
  readonly signal?: AbortSignal;
  /** Receives every event. Must not throw. */
  readonly onEvent: (event: PeerNodeEvent) => void;
  /** Largest file `acceptFile()` takes, in bytes. Default: no limit. */
  readonly maxFileSize?: number;
  /** Bytes that must stay free on the disk after a received file. Default 64 MiB. */
  readonly reserveBytes?: number;
  /** Milliseconds `close()` waits for peers to close their links. Default {@link DEFAULT_END_TIMEOUT}. */
  readonly endTimeout?: number;
}

/**
 * A peer of a serverless mesh over TCP. Made by {@link startPeer}.
 *
 * The chat methods act at once and throw core's typed errors for bad input; messages to a peer
 * that is being dialled again wait for it.
 */
export class PeerNode {
  readonly #options: PeerNodeOptions;
  readonly #mesh: PeerMesh;
  #server: Server | undefined;
  readonly #sockets = new Map<number, Socket>();
  readonly #endTimeout: number;
  readonly #files: TransferFiles;
  /** Called when a link's socket closes, while `close()` waits for them. */
  readonly #closedWaiters = new Map<number, () => void>();
  /** A `listen()` call is binding its port. */
  #binding = false;
  #flushScheduled: NodeJS.Immediate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #stoppedPromise: Promise<void>;
  #resolveStopped: () => void = () => undefined;
  readonly #onAbort = (): void => {
    this.destroy();
  };

  /** @internal Use {@link startPeer}. */
  constructor(options: PeerNodeOptions, server: Server | undefined, port: number | undefined) {
    this.#options = options;
    this.#server = server;
    this.#endTimeout = checkLimit(
      'endTimeout',
      options.endTimeout,
      DEFAULT_END_TIMEOUT,
      1,
      600_000,
    );
    // The mesh takes the options it knows and ignores the adapter's own.
    this.#mesh = new PeerMesh({
      ...options,
      now: Date.now(),
      ...(port === undefined ? {} : { listenPort: port }),
    });
    this.#files = new TransferFiles({
      emit: (event) => {
        this.#emit(event);
      },
      changed: () => {
        this.#scheduleFlush();
      },
      ...(options.maxFileSize === undefined ? {} : { maxFileSize: options.maxFileSize }),
      ...(options.reserveBytes === undefined ? {} : { reserveBytes: options.reserveBytes }),
    });
    this.#stoppedPromise = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
    server?.on('connection', (socket) => {
      this.#accepted(socket);
    });
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (options.signal?.aborted === true) this.#stop('aborted');
  }

  /** This peer's public key, 64 hexadecimal digits. */
  get key(): string {
    return this.#mesh.key;
  }

  /** This peer's nickname now (it may change to stay unique: `nick-conflict`). */
  get nick(): string {
    return this.#mesh.nick;
  }

  /** The rooms this peer is in. */
  get rooms(): readonly string[] {
    return this.#mesh.rooms;
  }

  /**
   * Starts to accept other peers, for a peer started with `listen: false`. Resolves with the
   * address bound.
   *
   * @throws `InvalidStateError` (rejects) when it accepts peers already; the bind's error when
   * the port cannot be bound.
   */
  async listen(
    options: { readonly host?: string; readonly port?: number } = {},
  ): Promise<{ readonly host: string; readonly port: number }> {
    if (this.#stopped) throw new InvalidStateError('the peer has stopped');
    if (this.#server !== undefined || this.#binding) {
      throw new InvalidStateError(
        `already accepting peers on port ${String(this.address()?.port ?? '(binding)')}`,
      );
    }
    this.#binding = true;
    let server: Server;
    try {
      server = await bindServer(options);
    } finally {
      this.#binding = false;
    }
    if (this.#isStopped()) {
      server.close();
      throw new InvalidStateError('the peer has stopped');
    }
    this.#server = server;
    server.on('connection', (socket) => {
      this.#accepted(socket);
    });
    const address = this.address()!;
    // Peers connected already are told, and tell the others.
    this.#act((mesh, now) => {
      mesh.setListenPort(address.port, now);
    });
    this.#emit({ type: 'listening', ...address });
    return address;
  }

  /** Where this peer accepts others, if it does. */
  address(): { readonly host: string; readonly port: number } | undefined {
    const address = this.#server?.address();
    if (address === null || address === undefined || typeof address === 'string') return undefined;
    return { host: address.address, port: address.port };
  }

  /** Settles once the peer has stopped. */
  get stopped(): Promise<void> {
    return this.#stoppedPromise;
  }

  /** Every peer known, connected or not. */
  peers(): PeerSummary[] {
    return this.#mesh.peers();
  }

  /** The peers connected in `room`. */
  members(room: string): { readonly key: string; readonly nick: string }[] {
    return this.#mesh.members(room);
  }

  /**
   * Dials the peer at `host:port`; with `key`, it must prove that key. Returns false when a peer
   * at that address is connected already.
   */
  connect(host: string, port: number, options: { readonly key?: Uint8Array } = {}): boolean {
    const link = this.#act((mesh, now) => mesh.connect(host, port, now, options));
    return link !== undefined;
  }

  /** Says `text` in `room`. Returns the message's id. */
  say(room: string, text: string): string {
    return this.#act((mesh, now) => mesh.say(room, text, now));
  }

  /** Sends `text` to one peer, by nickname or key. Returns the message's id. */
  sendPrivate(to: string, text: string): string {
    return this.#act((mesh, now) => mesh.sendPrivate(to, text, now));
  }

  /** Changes nickname; every peer is told. */
  setNick(nick: string): void {
    this.#act((mesh, now) => {
      mesh.setNick(nick, now);
    });
  }

  /** Joins a room. Returns its name. */
  join(room: string): string {
    return this.#act((mesh, now) => mesh.join(room, now));
  }

  /** Leaves a room. */
  leave(room: string): void {
    this.#act((mesh, now) => {
      mesh.leave(room, now);
    });
  }

  /** Whether this peer has left the mesh (`disconnect()` of every peer, until a `connect()`). */
  get left(): boolean {
    return this.#mesh.left;
  }

  /**
   * Hangs up on one peer (by nickname or key); without one, leaves the mesh (still accepting
   * peers that dial in, and dialling again after {@link PeerNode.connect}).
   */
  disconnect(peer?: string): void {
    this.#act((mesh, now) => {
      mesh.disconnect(now, peer);
    });
  }

  /** Every transfer kept, oldest first. */
  get transfers(): TransferSummary[] {
    return this.#files.list();
  }

  /** The offer of a transfer kept. */
  offerOf(transfer: string): TransferOffer {
    return this.#files.offerOf(transfer);
  }

  /**
   * Offers the file at `path` to a connected peer (by nickname), straight over the link between
   * the two. Resolves with the transfer's id; `transfer-*` events follow, and the transfer
   * resumes by itself if the link drops and comes back.
   */
  async sendFile(
    to: string,
    path: string,
    options: { readonly name?: string } = {},
  ): Promise<string> {
    if (this.#stopped) throw new InvalidStateError('the peer has stopped');
    checkNickname(to);
    const transfer = await this.#files.sendFile(to, path, options.name);
    this.#scheduleFlush();
    return transfer;
  }

  /** Accepts an offered file into `directory`: see `ChatTcpClient.acceptFile`. */
  async acceptFile(
    transfer: string,
    directory: string,
  ): Promise<{ name: string } | { refused: string }> {
    const result = await this.#files.acceptFile(transfer, directory);
    this.#scheduleFlush();
    return result;
  }

  /** Refuses an offered file. */
  rejectFile(transfer: string, message = 'the receiver declined the file'): void {
    this.#files.reject(transfer, message);
    this.#scheduleFlush();
  }

  /** Stops a transfer either way; the other side is told. */
  cancelTransfer(transfer: string): void {
    this.#files.cancel(transfer);
    this.#scheduleFlush();
  }

  /**
   * Leaves the mesh and stops: every peer is told, transfers are cancelled, the listener closes.
   * Resolves once every link has closed (at most `endTimeout` later).
   */
  close(): Promise<void> {
    if (this.#stopped) return this.#stoppedPromise;
    this.#files.cancelAll('the other side left');
    this.#pumpTransfers(Date.now());
    this.#mesh.disconnect(Date.now());
    this.#server?.close();
    this.#flush();
    if (this.#sockets.size === 0) {
      this.#stop('closed');
    } else {
      const timer = setTimeout(() => {
        this.#stop('closed');
      }, this.#endTimeout);
      void this.#allClosed().then(() => {
        clearTimeout(timer);
        this.#stop('closed');
      });
    }
    return this.#stoppedPromise;
  }

  /** Stops at once: every link is reset, without a goodbye. */
  destroy(): void {
    this.#stop('destroyed');
  }

  // ---------------------------------------------------------------------------------------------

  /** Whether the peer has stopped (a method, so that checks after an await are not narrowed). */
  #isStopped(): boolean {
    return this.#stopped;
  }

  #act<Result>(action: (mesh: PeerMesh, now: number) => Result): Result {
    if (this.#stopped) throw new InvalidStateError('the peer has stopped');
    const result = action(this.#mesh, Date.now());
    this.#scheduleFlush();
    return result;
  }

  #emit(event: PeerNodeEvent): void {
    this.#options.onEvent(event);
  }

  #accepted(socket: Socket): void {
    if (this.#stopped) {
      socket.destroy();
      return;
    }
    const link = this.#mesh.accept(Date.now(), {
      host: plainAddress(socket.remoteAddress ?? 'unknown'),
      ...(socket.remotePort === undefined ? {} : { port: socket.remotePort }),
    });
    if (link === undefined) {
      socket.destroy();
      return;
    }
    this.#wire(link, socket);
    this.#scheduleFlush();
  }

  #dial(link: number, host: string, port: number): void {
    const socket = createConnection({ host, port });
    this.#wire(link, socket);
    socket.once('connect', () => {
      this.#scheduleFlush();
    });
  }

  #wire(link: number, socket: Socket): void {
    this.#sockets.set(link, socket);
    socket.setNoDelay(true);
    let failure: Error | undefined;
    socket.on('data', (data: Buffer) => {
      this.#mesh.receive(link, data, Date.now());
      this.#scheduleFlush();
    });
    socket.on('end', () => {
      this.#mesh.receiveEnd(link, Date.now());
      this.#flush();
    });
    socket.on('drain', () => {
      this.#scheduleFlush();
    });
    socket.on('error', (error) => {
      failure = error;
      this.#emit({ type: 'socket-error', link, error });
    });
    socket.once('close', () => {
      this.#sockets.delete(link);
      this.#closedWaiters.get(link)?.();
      this.#closedWaiters.delete(link);
      this.#mesh.linkClosed(link, Date.now(), failure?.message);
      if (!this.#stopped) this.#flush();
    });
  }

  #allClosed(): Promise<void> {
    return Promise.all(
      [...this.#sockets.keys()].map(
        (link) =>
          new Promise<void>((resolve) => {
            this.#closedWaiters.set(link, resolve);
          }),
      ),
    ).then(() => undefined);
  }

  #scheduleFlush(): void {
    if (this.#stopped) return;
    this.#flushScheduled ??= setImmediate(() => {
      this.#flushScheduled = undefined;
      this.#flush();
    });
  }

  /** Carries out the mesh's actions, hands its events on, runs transfers, writes, arms the timer. */
  #flush(): void {
    if (this.#stopped) return;
    const mesh = this.#mesh;
    for (let round = 0; round < 8; round++) {
      this.#drainEvents();
      this.#pumpTransfers(Date.now());
      let acted = false;
      for (let action = mesh.nextAction(); action !== undefined; action = mesh.nextAction()) {
        acted = true;
        if (action.type === 'dial') {
          this.#dial(action.link, action.host, action.port);
        } else {
          this.#close(action.link, action.graceful);
        }
      }
      for (const [link, socket] of this.#sockets) this.#write(link, socket);
      if (!acted) break;
    }
    this.#drainEvents();
    this.#armTimer();
  }

  #write(link: number, socket: Socket): void {
    if (socket.connecting || !socket.writable) return;
    socket.cork();
    while (socket.writableLength < WRITE_BATCH_BYTES) {
      const data = this.#mesh.pollTransmit(link);
      if (data === undefined) break;
      socket.write(data);
    }
    socket.uncork();
  }

  #close(link: number, graceful: boolean): void {
    const socket = this.#sockets.get(link);
    if (socket === undefined) {
      this.#mesh.linkClosed(link, Date.now());
      return;
    }
    if (!graceful || socket.connecting) {
      socket.destroy();
      return;
    }
    for (let data = this.#mesh.pollTransmit(link); data !== undefined;) {
      socket.write(data);
      data = this.#mesh.pollTransmit(link);
    }
    socket.end();
    // A peer that never closes its side does not hold the socket.
    const timer = setTimeout(() => socket.destroy(), this.#endTimeout);
    socket.once('close', () => {
      clearTimeout(timer);
    });
  }

  #drainEvents(): void {
    const now = Date.now();
    for (let event = this.#mesh.nextEvent(); event !== undefined; event = this.#mesh.nextEvent()) {
      switch (event.type) {
        case 'transfer-offered':
          this.#files.handleEvent(
            { type: 'transfer-offered', from: event.nick, offer: event.offer },
            now,
          );
          continue;
        case 'transfer-message':
          this.#files.handleEvent({ type: 'transfer-message', message: event.message }, now);
          continue;
        case 'transfer-offer-failed':
          this.#files.handleEvent(
            {
              type: 'transfer-offer-failed',
              transfer: event.transfer,
              code: event.code,
              message: event.message,
            },
            now,
          );
          continue;
        case 'transfer-interrupted':
          this.#files.handleEvent({ type: 'transfer-interrupted', transfer: event.transfer }, now);
          continue;
        case 'peer-connected':
          this.#files.handleEvent({ type: 'user-connected', nick: event.nick }, now);
          break;
        case 'nick-changed':
          this.#files.handleEvent(
            { type: 'nick-changed', old: event.old, nick: event.nick, self: event.self },
            now,
          );
          break;
        default:
          break;
      }
      this.#emit(event);
    }
  }

  /** Puts the transfers' messages into the mesh, file data only as far as the links take it. */
  #pumpTransfers(now: number): void {
    const files = this.#files;
    files.emitEvents();
    const capacity = (): number => {
      let least = Infinity;
      for (const transfer of files.list()) {
        if (transfer.direction !== 'outgoing' || transfer.state !== 'sending') continue;
        least = Math.min(least, this.#mesh.transferCapacity(transfer.peer));
      }
      return least === Infinity ? 0 : least;
    };
    for (let output = files.poll(now, capacity()); output !== undefined;) {
      if (output.to !== undefined) {
        try {
          this.#mesh.offerFile(output.to, output.message, now);
        } catch (error) {
          files.cancel(output.message.transfer, (error as Error).message);
        }
      } else {
        this.#mesh.sendTransfer(output.message, now);
      }
      output = files.poll(now, capacity());
    }
    files.emitEvents();
  }

  #armTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const deadline = Math.min(
      this.#mesh.pollTimeout() ?? Infinity,
      this.#files.pollTimeout() ?? Infinity,
    );
    if (deadline === Infinity) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        if (this.#stopped) return;
        const now = Date.now();
        this.#mesh.handleTimeout(now);
        this.#files.handleTimeout(now);
        this.#flush();
      },
      Math.max(0, deadline - Date.now()),
    );
  }

  #stop(reason: string): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#flushScheduled !== undefined) clearImmediate(this.#flushScheduled);
    this.#flushScheduled = undefined;
    this.#server?.close();
    for (const socket of this.#sockets.values()) socket.destroy();
    const closing = [...this.#sockets.values()].map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.closed) resolve();
          else
            socket.once('close', () => {
              resolve();
            });
        }),
    );
    const serverClosed = new Promise<void>((resolve) => {
      if (this.#server === undefined || !this.#server.listening) resolve();
      else
        this.#server.once('close', () => {
          resolve();
        });
    });
    void Promise.all([...closing, serverClosed, this.#files.closeFiles()]).then(() => {
      this.#emit({ type: 'peer-stopped', reason });
      this.#resolveStopped();
    });
  }
}

/**
 * An IPv4 address as itself, not in the IPv4-mapped IPv6 form a dual-stack listener reports
 * (`::ffff:10.0.0.2`): the form peers pass on to each other and users see.
 */
function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped === null ? address : mapped[1]!;
}

/** A listening server for peers at `host:port` (port default {@link DEFAULT_PEER_PORT}). */
async function bindServer(options: {
  readonly host?: string;
  readonly port?: number;
}): Promise<Server> {
  const port = checkLimit('port', options.port, DEFAULT_PEER_PORT, 0, 65_535);
  const server = createServer({ noDelay: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, ...(options.host === undefined ? {} : { host: options.host }) }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/**
 * Starts a peer of a serverless mesh: it listens for other peers (unless `listen` is false) and
 * dials those it is told of, so that every peer ends up connected to every other.
 *
 * @example Two peers on one machine
 * ```ts
 * import { nodeCryptoProvider } from '@lanchat/core';
 * import { startPeer } from '@lanchat/tcp';
 *
 * const ann = await startPeer({
 *   nick: 'ann',
 *   staticKeyPair: nodeCryptoProvider.generateX25519KeyPair(),
 *   listen: { host: '127.0.0.1', port: 0 },
 *   onEvent(event) {
 *     if (event.type === 'message-received') console.log(`${event.nick}: ${event.text}`);
 *   },
 * });
 * const bob = await startPeer({
 *   nick: 'bob',
 *   staticKeyPair: nodeCryptoProvider.generateX25519KeyPair(),
 *   listen: false,
 *   onEvent(event) {
 *     if (event.type === 'peer-connected') bob.say('lobby', 'hello ann');
 *   },
 * });
 * bob.connect('127.0.0.1', ann.address()!.port);
 * ```
 *
 * @throws (rejects) when the port cannot be bound, or for a bad option.
 */
export async function startPeer(options: PeerNodeOptions): Promise<PeerNode> {
  const listen = options.listen;
  let server: Server | undefined;
  let port: number | undefined;
  if (listen !== false) {
    server = await bindServer(listen ?? {});
    const address = server.address();
    port = typeof address === 'object' && address !== null ? address.port : undefined;
  }
  let node: PeerNode;
  try {
    node = new PeerNode(options, server, port);
  } catch (error) {
    server?.close();
    throw error;
  }
  const address = node.address();
  if (address !== undefined) options.onEvent({ type: 'listening', ...address });
  return node;
}
