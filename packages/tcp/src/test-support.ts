/**
 * Helpers of the loopback tests: events collected with a way to wait for one (with a deadline,
 * never a fixed sleep), and servers and clients that are cleaned up after each test.
 *
 * @module
 */

import { nodeCryptoProvider } from '@lanchat/core';
import { type ChatTcpClient, type TcpClientEvent, connectChat } from './chat-tcp-client.js';
import {
  type ChatTcpServer,
  type ChatTcpServerOptions,
  type TcpServerEvent,
  listenChat,
} from './chat-tcp-server.js';

export const serverKeyPair = nodeCryptoProvider.generateX25519KeyPair();

/** Collected events with a way to wait for one, with a deadline (never a fixed sleep). */
export class Events<Event extends { readonly type: string }> {
  readonly all: Event[] = [];
  readonly #waiters = new Set<() => void>();

  push = (event: Event): void => {
    this.all.push(event);
    for (const waiter of this.#waiters) waiter();
  };

  ofType<Type extends Event['type']>(type: Type): Extract<Event, { type: Type }>[] {
    return this.all.filter((event): event is Extract<Event, { type: Type }> => event.type === type);
  }

  /** Resolves with the first event (already seen or to come) that matches. */
  waitFor<Type extends Event['type']>(
    type: Type,
    predicate: (event: Extract<Event, { type: Type }>) => boolean = () => true,
    timeout = 10_000,
  ): Promise<Extract<Event, { type: Type }>> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.ofType(type).find(predicate);
        if (found === undefined) return false;
        this.#waiters.delete(waiter);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const waiter = (): void => {
        check();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(
            `no ${type} event within ${timeout} ms; saw ${this.all.map((event) => event.type).join(', ')}`,
          ),
        );
      }, timeout);
      this.#waiters.add(waiter);
      check();
    });
  }
}

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
