/**
 * The WebSocket adapter of lanchat: the encrypted chat for browsers on the chat server's own TCP
 * port (the listener tells a lanchat client, an HTTP request and a WebSocket upgrade apart), and
 * the web page served there too.
 *
 * @packageDocumentation
 */

export {
  DEFAULT_MAX_WEBSOCKET_MESSAGE,
  DEFAULT_WEBSOCKET_PATH,
  WEBSOCKET_HIGH_WATER,
  type WebSocketTransport,
  type WebSocketTransportOptions,
  webSocketTransport,
} from './web-socket-transport.js';
