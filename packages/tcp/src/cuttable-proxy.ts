/**
 * A TCP relay for tests, in front of a server on loopback, whose connections a test can cut at
 * will: a dropped link (a cable pulled out, a Wi-Fi roam) for code that must reconnect and resume.
 *
 * @module
 */

import { type Server, type Socket, connect, createServer } from 'node:net';

/** A running relay. */
export interface CuttableProxy {
  /** The port clients connect to (on 127.0.0.1). */
  readonly port: number;
  /** Destroys every connection going through it; new ones are still taken. Returns how many. */
  cut(): number;
  /** Cuts every connection and stops listening. */
  close(): Promise<void>;
}

/** Starts a relay on a free loopback port that forwards each connection to `target`. */
export async function startCuttableProxy(target: {
  readonly host?: string;
  readonly port: number;
}): Promise<CuttableProxy> {
  const pairs = new Set<readonly [Socket, Socket]>();
  const server: Server = createServer((inbound) => {
    const outbound = connect({ host: target.host ?? '127.0.0.1', port: target.port });
    const pair = [inbound, outbound] as const;
    pairs.add(pair);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const close = (): void => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', close).on('close', close);
    outbound.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no proxy address');
  const cut = (): number => {
    const count = pairs.size;
    for (const [inbound, outbound] of [...pairs]) {
      inbound.destroy();
      outbound.destroy();
    }
    return count;
  };
  return {
    port: address.port,
    cut,
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => {
          resolve();
        });
      }),
  };
}
