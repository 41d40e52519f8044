/**
 * The TCP adapter of lanchat: runs the chat session of `@lanchat/core` over node:net sockets.
 *
 * - {@link listenChat} starts a server ({@link ChatTcpServer}): TCP_NODELAY, one coalesced write
 *   per connection per event-loop turn, a bounded backlog per connection (a client that stops
 *   reading is disconnected as too slow), graceful shutdown that tells every client, AbortSignal
 *   support, and no listener or timer left behind.
 * - {@link connectChat} connects a client ({@link ChatTcpClient}): server-key check before any
 *   credential is sent, keepalive, and reconnection with backoff after a lost connection, logging
 *   in again and rejoining the same rooms, and files sent and received beside the chat. Another
 *   {@link ClientTransport} carries the same client over something else (UDP, with
 *   `@lanchat/udp`).
 *
 * @example A server and a client in one process
 * ```ts
 * import { nodeCryptoProvider } from '@lanchat/core';
 * import { connectChat, listenChat } from '@lanchat/tcp';
 *
 * const server = await listenChat({
 *   staticKeyPair: nodeCryptoProvider.generateX25519KeyPair(),
 *   host: '127.0.0.1',
 *   port: 0,
 * });
 * const client = connectChat({
 *   host: '127.0.0.1',
 *   port: server.address().port,
 *   login: { nick: 'alice' },
 *   onEvent(event) {
 *     if (event.type === 'login-succeeded') void client.bye();
 *   },
 * });
 * await client.stopped;
 * await server.close();
 * ```
 *
 * @packageDocumentation
 */

export {
  ChatTcpServer,
  type ChatTcpServerOptions,
  DEFAULT_END_TIMEOUT,
  DEFAULT_PORT,
  type LoginVerifier,
  type SocketErrorEvent,
  type TcpServerEvent,
  WRITE_BATCH_BYTES,
  listenChat,
  sniffHttp,
} from './chat-tcp-server.js';
export {
  type ChatTcpClientOptions,
  ChatTcpClient,
  type ClientStoppedEvent,
  type ConnectingEvent,
  type ConnectionErrorEvent,
  type FileEvent,
  type ReconnectOptions,
  type ReconnectScheduledEvent,
  type ReconnectedEvent,
  type ServerKeyRejectedEvent,
  type SessionTransferEvent,
  type TcpClientEvent,
  connectChat,
} from './chat-tcp-client.js';
export {
  type ClientLink,
  type ClientLinkHandlers,
  type ClientTransport,
  tcpClientTransport,
} from './client-link.js';
export {
  DEFAULT_PEER_PORT,
  type MeshTransferEvent,
  PeerNode,
  type PeerListeningEvent,
  type PeerNodeEvent,
  type PeerNodeOptions,
  type PeerSocketErrorEvent,
  type PeerStoppedEvent,
  startPeer,
} from './peer-node.js';
