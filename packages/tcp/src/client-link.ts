/**
 * What carries a client's session: a TCP connection by default, a UDP socket with @lanchat/udp.
 * {@link ChatTcpClient} drives a {@link ClientLink} that a {@link ClientTransport} opens, and
 * knows nothing else of the socket under it, so that reconnection, key checking and files work
 * the same on every transport.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import { connect } from 'node:net';
import type { ChatClientOptions } from '@lanchat/core';

/** What a link reports to the client that drives it. Each is called at most once after `close`. */
export interface ClientLinkHandlers {
  /** Data may be written now (the TCP connection is up; the UDP socket is connected). */
  readonly open: () => void;
  /**
   * Bytes arrived: a piece of the stream, or one whole datagram. They are valid during the call
   * only: the transport may read into the same memory once it returns (copy what you keep).
   */
  readonly data: (bytes: Uint8Array) => void;
  /** The other side ended the stream gracefully (streams only). */
  readonly end: () => void;
  /** Writes may go on: what waited to leave has left. */
  readonly drain: () => void;
  /** An error, reported as a `connection-error`; `close` follows when it ends the link. */
  readonly error: (error: Error) => void;
  /** The link is closed for good. Called once; nothing is reported after it. */
  readonly close: () => void;
}

/** One connection of a client, opened by a {@link ClientTransport}. */
export interface ClientLink {
  /** Whether data may be written now: open, and neither ending nor closed. */
  readonly writable: boolean;
  /** Bytes written and not yet handed to the system: the client stops writing past a bound. */
  readonly pendingBytes: number;
  /** Writes one unit of the session's output (a piece of the stream, or one datagram). */
  write(data: Uint8Array): void;
  /** Writes until {@link uncork} leave together where the transport can batch them. */
  cork(): void;
  uncork(): void;
  /** Closes after what was written has left (graceful). */
  end(): void;
  /** Closes at once; `error`, if given, is reported first. */
  destroy(error?: Error): void;
}

/** How a client reaches its server: opens a {@link ClientLink} per connection attempt. */
export interface ClientTransport {
  /** The transport's name, for people and events: `tcp`, `udp`. */
  readonly name: string;
  /**
   * What the session over this transport needs: `transport: 'datagram'` and the server's key for
   * UDP. A server that proves another key than `serverKey` is refused before any credential.
   */
  readonly session?: Pick<ChatClientOptions, 'transport' | 'serverKey'>;
  /** Opens a connection to `host` and `port`, reporting to `handlers`. Must not throw. */
  open(host: string, port: number, handlers: ClientLinkHandlers): ClientLink;
}

/** Bytes of the buffer every TCP client link of the process reads into: 256 KiB. */
const CLIENT_READ_BUFFER_BYTES = 256 * 1024;

/**
 * The buffer every TCP client link of the process reads into, allocated on first use. One is
 * enough: node hands each read to its callback before it reads again, and the callback is done
 * with the bytes when it returns (the session consumes them at once: it keeps copies, never
 * views). A 256 KiB read instead of node's 64 KiB ones, into memory already there, saved the
 * receiver of a 1 GiB file about 10% of its CPU (`pnpm bench transfer`).
 */
function sharedReadBuffer(): Uint8Array {
  readBuffer ??= Buffer.allocUnsafeSlow(CLIENT_READ_BUFFER_BYTES);
  return readBuffer;
}
let readBuffer: Uint8Array | undefined;

/** The default transport: a TCP connection with Nagle's delay off (node:net). */
export function tcpClientTransport(): ClientTransport {
  return {
    name: 'tcp',
    open(host, port, handlers) {
      const socket = connect({
        host,
        port,
        noDelay: true,
        // Reads land in one buffer, reused: no allocation per read, and up to 256 KiB a read.
        onread: {
          buffer: sharedReadBuffer,
          callback: (bytes: number, buffer: Uint8Array) => {
            handlers.data(buffer.subarray(0, bytes));
            return true;
          },
        },
      });
      socket.once('connect', handlers.open);
      socket.on('end', handlers.end);
      socket.on('drain', handlers.drain);
      socket.on('error', handlers.error);
      socket.once('close', () => {
        socket.removeAllListeners();
        handlers.close();
      });
      return {
        get writable() {
          return !socket.connecting && socket.writable;
        },
        get pendingBytes() {
          return socket.writableLength;
        },
        write(data) {
          socket.write(data);
        },
        cork() {
          socket.cork();
        },
        uncork() {
          socket.uncork();
        },
        end() {
          socket.end();
        },
        destroy(error) {
          socket.destroy(error);
        },
      };
    },
  };
}
