/**
 * Helpers of the loopback tests: servers and clients that are cleaned up after each test, their
 * events collected ({@link Events}).
 *
 * @module
 */

import { nodeCryptoProvider } from '@lanchat/core';
import { Events } from './events.js';
import { type ChatTcpClient, type TcpClientEvent, connectChat } from './chat-tcp-client.js';
import {
  type ChatTcpServer,
  type ChatTcpServerOptions,
  type TcpServerEvent,
  listenChat,
} from './chat-tcp-server.js';

export { Events };

export const serverKeyPair = nodeCryptoProvider.generateX25519KeyPair();

export const cleanups: (() => Promise<void> | void)[] = [];

/** Runs and forgets the cleanups of the test that ended (give it to `afterEach`). */
export async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

export async function startServer(
  options: Partial<ChatTcpServerOptions> = {},
): Promise<{ server: ChatTcpServer; events: Events<TcpServerEvent>; port: number }> {
  const events = new Events<TcpServerEvent>();
  const server = await listenChat({
    staticKeyPair: serverKeyPair,
    host: '127.0.0.1',
    port: 0,
    onEvent: events.push,
    ...options,
  });
  cleanups.push(() => server.close());
  return { server, events, port: server.address().port };
}

export async function startClient(
  port: number,
  nick: string,
  options: Partial<Parameters<typeof connectChat>[0]> = {},
): Promise<{ client: ChatTcpClient; events: Events<TcpClientEvent> }> {
  const events = new Events<TcpClientEvent>();
  const client = connectChat({
    host: '127.0.0.1',
    port,
    login: { nick },
    reconnect: { initialDelay: 20, maxDelay: 200 },
    onEvent: events.push,
    ...options,
  });
  cleanups.push(() => {
    client.destroy();
    return client.stopped;
  });
  await events.waitFor('login-succeeded');
  return { client, events };
}
