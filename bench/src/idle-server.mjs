// @ts-check
/**
 * The server process of the idle-connections benchmark (`node --expose-gc idle-server.mjs
 * lanchat|bare LIFETIME`), alone in its process so that its memory can be read:
 *
 * - lanchat: `listenChat` of @lanchat/tcp with its default options (but a longer idle timeout);
 * - bare: a plain node:net server that keeps each socket in a Set with a `data` listener and
 *   writes `welcome` to each new one (so that its client knows it is counted), nothing else.
 *
 * Says `{ type: 'listening', port }`; answers `{ type: 'measure' }` with process.memoryUsage()
 * after full garbage collections, and `{ type: 'count' }` with its sockets and users; exits on
 * `{ type: 'stop' }`.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import { createServer } from 'node:net';
import process from 'node:process';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { nodeCryptoProvider } from '@lanchat/core';
import { listenChat } from '@lanchat/tcp';
import { guardChild, isMainModule, tellParent } from './children.mjs';

/**
 * @typedef {object} IdleServer
 * @property {number} port
 * @property {() => { sockets: number, users: number }} count
 * @property {() => Promise<void>} close
 */

const WELCOME = Buffer.from('welcome\n');

/**
 * The lanchat server, with its default options but one: the idle timeout is raised from 90 s to
 * 10 min, because the benchmark's clients stop talking once logged in (no keepalives) and logging
 * in 2,000 of them can take most of a minute on a busy machine.
 *
 * @returns {Promise<IdleServer>}
 */
async function startLanchat() {
  const server = await listenChat({
    staticKeyPair: nodeCryptoProvider.generateX25519KeyPair(),
    host: '127.0.0.1',
    port: 0,
    idleTimeout: 600_000,
  });
  return {
    port: server.address().port,
    count: () => ({ sockets: server.socketCount, users: server.statistics.users }),
    close: () => server.close(),
  };
}

/** @returns {Promise<IdleServer>} */
async function startBare() {
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();
  let lines = 0;
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.write(WELCOME);
    socket.on('data', () => {
      lines++;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      resolve(undefined);
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('bare server: no port');
  return {
    port: address.port,
    count: () => ({ sockets: sockets.size, users: lines > 0 ? sockets.size : 0 }),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** process.memoryUsage() after full collections (a few turns apart, so finalizers run too). */
async function measure() {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') throw new Error('the idle server needs --expose-gc');
  for (let pass = 0; pass < 4; pass++) {
    gc();
    await nextTurn();
  }
  return process.memoryUsage();
}

if (isMainModule(import.meta.url)) {
  guardChild(Number(process.argv[3] ?? 300_000));
  const kind = process.argv[2];
  const server = kind === 'lanchat' ? await startLanchat() : await startBare();
  process.on('message', (message) => {
    const type = /** @type {{ type: string }} */ (message).type;
    if (type === 'measure') {
      void measure().then((memory) => {
        tellParent({ type: 'memory', ...memory, ...server.count() });
      });
    } else if (type === 'count') {
      tellParent({ type: 'count', ...server.count() });
    } else if (type === 'stop') {
      void server.close().then(() => {
        process.disconnect();
        process.exit(0);
      });
      setTimeout(() => process.exit(0), 2000).unref();
    }
  });
  tellParent({ type: 'listening', port: server.port });
}
