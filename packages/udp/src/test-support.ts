/**
 * Helpers of the loopback tests of this package: the server's keys, a UDP chat server and
 * clients that are cleaned up after each test, each client's events collected with a way to wait
 * for one (with a deadline, never a fixed sleep).
 *
 * @module
 */

import { nodeCryptoProvider } from '@lanchat/core';
import type { TcpClientEvent } from '@lanchat/tcp';
import { Events } from '@lanchat/tcp/testing';
import {
  type ChatUdpClient,
  type ChatUdpClientOptions,
  type ChatUdpServer,
  type ChatUdpServerOptions,
  connectChatUdp,
  listenChatUdp,
} from './chat-udp.js';

export const serverKeys = nodeCryptoProvider.generateX25519KeyPair();

export const cleanups: (() => Promise<unknown>)[] = [];

/** Runs and forgets the cleanups of the test that ended (give it to `afterEach`). */
export async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

/** A UDP chat server on 127.0.0.1, any free port, with {@link serverKeys}. */
export async function startServer(
  options: Partial<ChatUdpServerOptions> = {},
): Promise<ChatUdpServer> {
  const server = await listenChatUdp({
    staticKeyPair: serverKeys,
    host: '127.0.0.1',
    port: 0,
    ...options,
  });
  cleanups.push(() => server.close());
  return server;
}

/** A client on UDP, without reconnection unless asked. `errors` has its send errors' codes. */
export function startClient(
  port: number,
  nick: string,
  options: Partial<ChatUdpClientOptions> = {},
): { client: ChatUdpClient; events: Events<TcpClientEvent>; errors: string[] } {
  const events = new Events<TcpClientEvent>();
  const errors: string[] = [];
  const client = connectChatUdp({
    host: '127.0.0.1',
    port,
    serverKey: serverKeys.publicKey,
    login: { nick },
    reconnect: false,
    onEvent: (event) => {
      events.push(event);
      if (event.type === 'connection-error') {
        errors.push((event.error as NodeJS.ErrnoException).code ?? event.error.message);
      }
    },
    ...options,
  });
  cleanups.push(() => {
    client.destroy();
    return client.stopped;
  });
  return { client, events, errors };
}
