/**
 * The chat over WebSocket, for browsers: a transport of the chat server that takes the HTTP
 * connections of its TCP listener, serves the web page on them, and carries the lanchat stream
 * (preamble, Noise handshake, sealed frames: protocol sections 1, 5 and 6) in binary WebSocket
 * messages.
 *
 * @module
 */

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import {
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
  createServer,
} from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import {
  type ChatServer,
  InvalidStateError,
  type ServerTransport,
  checkLimit,
} from '@lanchat/core';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';

/** The path of the WebSocket endpoint: `ws://SERVER:PORT/lanchat`. */
export const DEFAULT_WEBSOCKET_PATH = '/lanchat';

/**
 * Default largest WebSocket message taken, in bytes: 256 KiB. A browser sends each write of its
 * stream (at most a few sealed frames of 64 KiB) as one message.
 */
export const DEFAULT_MAX_WEBSOCKET_MESSAGE = 256 * 1024;

/**
 * Bytes waiting in a WebSocket connection past which the server stops writing to it (as to a TCP
 * socket whose buffer is full): 1 MiB. Its output waits in the chat server, within its backlog.
 */
export const WEBSOCKET_HIGH_WATER = 1024 * 1024;

/** Options of {@link webSocketTransport}. */
export interface WebSocketTransportOptions {
  /** The WebSocket endpoint's path. Default {@link DEFAULT_WEBSOCKET_PATH}. */
  readonly path?: string;
  /**
   * The folder of the web page, served at `/` (its `index.html`) and below. Default: a one-line
   * page that says the web client is not installed.
   */
  readonly page?: string;
  /** Default {@link DEFAULT_MAX_WEBSOCKET_MESSAGE}. */
  readonly maxMessageBytes?: number;
}

/** The chat over WebSocket, as a transport of `listenChat`. */
export interface WebSocketTransport extends ServerTransport {
  /**
   * Takes a TCP connection whose first bytes are HTTP, with those bytes: give it to
   * `listenChat`'s `http` option.
   */
  readonly http: (socket: Socket, head: Buffer) => void;
}

interface Entry {
  readonly ws: WebSocket;
  /** Bytes handed to the WebSocket and not yet written. */
  pending: number;
  writable: boolean;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // The page talks to this server only: its own files, and the WebSocket endpoint.
  'Content-Security-Policy':
    "default-src 'self'; connect-src 'self' ws: wss: blob:; img-src 'self' data: blob:; frame-ancestors 'none'",
  'Cache-Control': 'no-cache',
};

const PLACEHOLDER =
  '<!doctype html><meta charset="utf-8"><title>lanchat</title>' +
  '<p>This lanchat server has no web page installed. Connect with the lanchat client: ' +
  '<code>lanchat connect HOST[:PORT]</code></p>\n';

function bytesOf(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

/** `address:port` as the chat server's events name a connection. */
function describe(request: IncomingMessage): { address: string; host: string } {
  const host = request.socket.remoteAddress ?? 'unknown';
  const port = String(request.socket.remotePort);
  return { address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`, host };
}

class Transport implements WebSocketTransport {
  readonly #path: string;
  readonly #page: string | undefined;
  readonly #maxMessageBytes: number;
  readonly #entries = new Map<number, Entry>();
  readonly #sockets = new Set<Socket>();
  #chat: ChatServer | undefined;
  #changed: () => void = () => undefined;
  #httpServer: HttpServer | undefined;
  #wss: WebSocketServer | undefined;
  #closed = false;

  constructor(options: WebSocketTransportOptions) {
    this.#path = options.path ?? DEFAULT_WEBSOCKET_PATH;
    if (!this.#path.startsWith('/')) {
      throw new InvalidStateError(`a WebSocket path starts with "/", got ${this.#path}`);
    }
    this.#page = options.page === undefined ? undefined : path.resolve(options.page);
    this.#maxMessageBytes = checkLimit(
      'maxMessageBytes',
      options.maxMessageBytes,
      DEFAULT_MAX_WEBSOCKET_MESSAGE,
      1024,
      64 * 1024 * 1024,
    );
  }

  readonly http = (socket: Socket, head: Buffer): void => {
    const server = this.#httpServer;
    if (server === undefined || this.#closed) {
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
    });
    socket.unshift(head);
    server.emit('connection', socket);
    socket.resume();
  };

  start(chat: ChatServer, changed: () => void): Promise<void> {
    this.#chat = chat;
    this.#changed = changed;
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.#maxMessageBytes,
      perMessageDeflate: false,
    });
    const server = createServer((request, response) => {
      void this.#serve(request, response);
    });
    server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
      const pathname = new URL(request.url ?? '/', 'http://lanchat').pathname;
      if (pathname !== this.#path || this.#closed) {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => {
        this.#opened(ws, request);
      });
    });
    server.on('clientError', (_error, socket) => {
      socket.destroy();
    });
    this.#httpServer = server;
    this.#wss = wss;
    return Promise.resolve();
  }

  owns(connection: number): boolean {
    return this.#entries.has(connection);
  }

  send(connection: number, data: Uint8Array): void {
    const entry = this.#entries.get(connection);
    if (entry === undefined) return;
    const length = data.length;
    entry.pending += length;
    entry.ws.send(data, { binary: true }, () => {
      entry.pending -= length;
      if (!entry.writable && entry.pending < WEBSOCKET_HIGH_WATER / 2) {
        entry.writable = true;
        if (this.#entries.get(connection) === entry) {
          this.#chat?.setWritable(connection, true);
          this.#changed();
        }
      }
    });
    if (entry.writable && entry.pending >= WEBSOCKET_HIGH_WATER) {
      entry.writable = false;
      this.#chat?.setWritable(connection, false);
    }
  }

  end(connection: number): void {
    const entry = this.#entries.get(connection);
    if (entry === undefined) return;
    this.#entries.delete(connection);
    // What was sent before goes first; then the closing handshake.
    entry.ws.close(1000);
  }

  notify(): void {
    // Nothing of the server's events concerns WebSocket connections beyond what `end` says.
  }

  close(): Promise<void> {
    this.#closed = true;
    for (const entry of this.#entries.values()) entry.ws.terminate();
    this.#entries.clear();
    for (const socket of this.#sockets) socket.destroy();
    const wss = this.#wss;
    const server = this.#httpServer;
    return new Promise((resolve) => {
      if (wss === undefined) {
        resolve();
        return;
      }
      wss.close(() => {
        server?.close();
        resolve();
      });
    });
  }

  #opened(ws: WebSocket, request: IncomingMessage): void {
    const chat = this.#chat;
    if (chat === undefined || this.#closed) {
      ws.terminate();
      return;
    }
    const { address, host } = describe(request);
    const id = chat.accept(Date.now(), address, host, 'stream');
    if (id === undefined) {
      ws.close(1013, 'the server is full');
      this.#changed();
      return;
    }
    const entry: Entry = { ws, pending: 0, writable: true };
    this.#entries.set(id, entry);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        // The stream is bytes; text frames are not lanchat's.
        ws.close(1003, 'lanchat speaks binary messages');
        return;
      }
      chat.receive(id, bytesOf(data), Date.now());
      this.#changed();
    });
    ws.on('error', () => undefined);
    ws.once('close', () => {
      if (this.#entries.get(id) === entry) this.#entries.delete(id);
      chat.connectionClosed(id, Date.now());
      this.#changed();
    });
    this.#changed();
  }

  async #serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const reply = (status: number, text: string): void => {
      response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...HEADERS });
      response.end(`${text}\n`);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      reply(405, 'only GET and HEAD');
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://lanchat').pathname);
    } catch {
      reply(400, 'bad path');
      return;
    }
    if (pathname === this.#path) {
      response.setHeader('Upgrade', 'websocket');
      reply(426, 'this is the WebSocket endpoint of lanchat');
      return;
    }
    const page = this.#page;
    if (page === undefined) {
      if (pathname !== '/') {
        reply(404, 'not found');
        return;
      }
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', ...HEADERS });
      response.end(request.method === 'HEAD' ? undefined : PLACEHOLDER);
      return;
    }
    // Nothing from the request becomes a path outside the page's folder.
    if (pathname.includes('\0') || pathname.includes('\\')) {
      reply(400, 'bad path');
      return;
    }
    let file = path.resolve(page, `.${pathname}`);
    if (file !== page && !file.startsWith(page + path.sep)) {
      reply(404, 'not found');
      return;
    }
    try {
      let info = await stat(file);
      if (info.isDirectory()) {
        file = path.join(file, 'index.html');
        info = await stat(file);
      }
      if (!info.isFile()) throw new Error('not a file');
      response.writeHead(200, {
        'Content-Type':
          CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': String(info.size),
        ...HEADERS,
      });
      if (request.method === 'HEAD') {
        response.end();
        return;
      }
      createReadStream(file)
        .on('error', () => response.destroy())
        .pipe(response);
    } catch {
      reply(404, 'not found');
    }
  }
}

/**
 * The chat over WebSocket on the chat server's own port, with the web page. Give it to
 * `listenChat` twice: as a transport, and as the handler of HTTP connections.
 *
 * @example
 * ```ts
 * import { listenChat } from '@lanchat/tcp';
 * import { webSocketTransport } from '@lanchat/ws';
 *
 * const web = webSocketTransport({ page: './web/dist' });
 * const server = await listenChat({ staticKeyPair, port: 9999, transports: [web], http: web.http });
 * // http://SERVER:9999/ serves the page; ws://SERVER:9999/lanchat carries its chat.
 * ```
 */
export function webSocketTransport(options: WebSocketTransportOptions = {}): WebSocketTransport {
  return new Transport(options);
}
