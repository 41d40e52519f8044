/**
 * A transport that an adapter's server drives beside its own, on the same `ChatServer`: UDP
 * beside TCP, so that users of both meet in the same rooms.
 *
 * @module
 */

import type { ChatServer, ServerEvent } from './chat-server.js';

/** A transport sharing a server's `ChatServer` with the adapter that hosts it. */
export interface ServerTransport {
  /**
   * Starts (binds its socket). From then on it feeds `chat` what arrives, and calls `changed`
   * after each input, so that the host polls the server's output and events. `host` says where
   * the host listens, for a transport that takes the same address and port number by default.
   */
  start(
    chat: ChatServer,
    changed: () => void,
    host?: { readonly address: string; readonly port: number },
  ): Promise<void>;
  /** Whether the connection is one of this transport's. */
  owns(connection: number): boolean;
  /** Sends output the server gave for one of this transport's connections. */
  send(connection: number, data: Uint8Array): void;
  /** The server is ending one of its connections: send what is left for it, then forget it. */
  end(connection: number): void;
  /** Told of every server event, after the host acted on it. */
  notify(event: ServerEvent): void;
  /** Stops: closes the socket, removes every listener and timer of its own. */
  close(): Promise<void>;
}
