// @ts-check
/**
 * The client process of the idle-connections benchmark (`node idle-load.mjs lanchat|bare PORT
 * LIFETIME`): opens connections on command and keeps them open and silent.
 *
 * - lanchat: a @lanchat/core ChatClient per raw node:net socket, driven until `login-succeeded`;
 *   after that the client is idle and what the server still sends it (others joining) is read and
 *   dropped undecoded: the server's side is what is measured, and it cannot tell.
 * - bare: a raw socket that waits for the server's `welcome` line and sends one line of its own.
 *
 * Commands: `{ type: 'connect', count, wave }` opens `count` more connections, `wave` at a time
 * (each wave logged in before the next starts: the server admits at most 256 connections still in
 * their handshake or login), answers `connected`; `{ type: 'disconnect' }` closes every
 * connection, answers `disconnected`; `stop`.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { ChatClient } from '@lanchat/core';
import { guardChild, isMainModule, tellParent } from './children.mjs';

/** @type {import('node:net').Socket[]} */
let sockets = [];
let closing = false;
let nextNick = 0;

/** @param {Error} error */
function fail(error) {
  if (closing) return;
  tellParent({ type: 'error', message: error.stack ?? error.message });
  setTimeout(() => process.exit(1), 100).unref();
}

/**
 * The soft limit on open files of this process, from /proc (Linux), or undefined.
 *
 * @returns {number | undefined}
 */
export function openFileLimit() {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((text) => text.startsWith('Max open files'));
    const soft = line?.split(/\s+/)[3];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/**
 * One lanchat client, resolved once logged in.
 *
 * @param {number} port
 * @returns {Promise<void>}
 */
function connectLanchat(port) {
  return new Promise((resolve, reject) => {
    const core = new ChatClient({ now: Date.now() });
    const nick = `idle${String(nextNick++)}`;
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    sockets.push(socket);
    let online = false;
    const flush = () => {
      for (let out = core.pollTransmit(); out !== undefined; out = core.pollTransmit()) {
        socket.write(out);
      }
    };
    socket.on('data', (chunk) => {
      if (online) return;
      core.receive(chunk, Date.now());
      for (let event = core.nextEvent(); event !== undefined; event = core.nextEvent()) {
        if (event.type === 'server-identified') {
          core.login({ nick }, Date.now());
        } else if (event.type === 'login-succeeded') {
          online = true;
          resolve();
        } else if (event.type === 'login-failed' || event.type === 'session-closed') {
          reject(new Error(`${nick}: ${JSON.stringify(event)}`));
        }
      }
      flush();
    });
    socket.on('error', (error) => {
      if (!closing) reject(error);
    });
    socket.on('close', () => {
      if (!closing) fail(new Error(`${nick}: the server closed the connection`));
    });
    flush();
  });
}

/**
 * One bare client, resolved once the server has welcomed it.
 *
 * @param {number} port
 * @returns {Promise<void>}
 */
function connectBare(port) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    sockets.push(socket);
    let welcomed = false;
    socket.on('data', () => {
      if (welcomed) return;
      welcomed = true;
      socket.write(`hello idle${String(nextNick++)}\n`);
      resolve();
    });
    socket.on('error', (error) => {
      if (!closing) reject(error);
    });
    socket.on('close', () => {
      if (!closing) fail(new Error('bare client: the server closed the connection'));
    });
  });
}

if (isMainModule(import.meta.url)) {
  const [kind = '', portText = '', lifetimeText = ''] = process.argv.slice(2);
  guardChild(Number(lifetimeText));
  const port = Number(portText);
  const open = kind === 'lanchat' ? connectLanchat : connectBare;
  process.on('message', (raw) => {
    const message = /** @type {{ type: string, [key: string]: unknown }} */ (raw);
    const run = async () => {
      switch (message.type) {
        case 'connect': {
          const count = Number(message['count'] ?? 0);
          const wave = Number(message['wave'] ?? count);
          const limit = openFileLimit();
          if (limit !== undefined && sockets.length + count + 64 > limit) {
            throw new Error(
              `${sockets.length + count} sockets need a higher open-file limit than ${limit}: ` +
                'raise it (ulimit -n 8192) before running the benchmark',
            );
          }
          const start = performance.now();
          for (let done = 0; done < count; done += wave) {
            const batch = [];
            for (let index = done; index < Math.min(count, done + wave); index++) {
              batch.push(open(port));
            }
            await Promise.all(batch);
          }
          tellParent({
            type: 'connected',
            total: sockets.length,
            milliseconds: performance.now() - start,
            openFileLimit: limit ?? -1,
          });
          break;
        }
        case 'disconnect': {
          closing = true;
          await Promise.all(
            sockets.map(
              (socket) =>
                new Promise((resolve) => {
                  socket.once('close', resolve);
                  socket.destroy();
                }),
            ),
          );
          sockets = [];
          closing = false;
          tellParent({ type: 'disconnected' });
          break;
        }
        case 'stop':
          closing = true;
          for (const socket of sockets) socket.destroy();
          process.disconnect();
          break;
        default:
          break;
      }
    };
    run().catch((/** @type {unknown} */ error) => {
      fail(error instanceof Error ? error : new Error(String(error)));
    });
  });
  tellParent({ type: 'ready' });
}
