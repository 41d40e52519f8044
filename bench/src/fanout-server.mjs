// @ts-check
/**
 * The two relays of the fan-out benchmark, usable in-process or as a child process
 * (`node fanout-server.mjs lanchat|bare`):
 *
 * - lanchat: `listenChat` of @lanchat/tcp, as a real server runs it (Noise transport, session
 *   protocol, one room).
 * - bare: the limit, node:net with nothing on top: newline-delimited text, no crypto, no framing
 *   beyond the newline. On each read from a sender, the complete lines it holds are cut out as one
 *   buffer and written once to every other socket (the corked-per-read relay, with the lines
 *   already contiguous). The first line each socket gets is `welcome`, so that a client knows the
 *   relay counts it in.
 *
 * As a child it says `{ type: 'listening', port }`, answers `{ type: 'cpu' }` with its CPU time
 * so far, and exits on `{ type: 'stop' }`.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import { createServer } from 'node:net';
import process from 'node:process';
import { nodeCryptoProvider } from '@lanchat/core';
import { listenChat } from '@lanchat/tcp';
import { guardChild, isMainModule, tellParent } from './children.mjs';

/**
 * @typedef {object} Relay
 * @property {number} port
 * @property {() => Promise<void>} close
 * @property {() => Record<string, number>} statistics
 */

/** Bytes of output the lanchat server lets wait for one client; see startLanchatRelay. */
export const LANCHAT_BACKLOG_BYTES = 64 * 1024 * 1024;

const WELCOME = Buffer.from('welcome\n');

/**
 * The lanchat server. Its per-client backlog bound is raised from the default 1 MiB to
 * {@link LANCHAT_BACKLOG_BYTES}: in the blast every client is sent 19,800 messages (about 2.8 MB
 * sealed) at once, faster than the load process reads them, and with the default the server drops
 * clients as too slow (as designed); the bare relay (node's unbounded write buffers) has no bound.
 *
 * @returns {Promise<Relay>}
 */
export async function startLanchatRelay() {
  let socketErrors = 0;
  let slowDropped = 0;
  const server = await listenChat({
    staticKeyPair: nodeCryptoProvider.generateX25519KeyPair(),
    host: '127.0.0.1',
    port: 0,
    maxBacklogBytes: LANCHAT_BACKLOG_BYTES,
    onEvent: (event) => {
      if (event.type === 'socket-error') socketErrors++;
      else if (event.type === 'connection-ending' && event.reason === 'too-slow') slowDropped++;
    },
  });
  return {
    port: server.address().port,
    close: () => server.close(),
    statistics: () => ({
      messagesRelayed: server.statistics.messagesRelayed,
      users: server.statistics.users,
      slowConsumersDropped: server.statistics.slowConsumersDropped,
      protocolErrors: server.statistics.protocolErrors,
      socketErrors,
      slowDropped,
    }),
  };
}

/**
 * The bare node:net relay.
 *
 * @returns {Promise<Relay>}
 */
export async function startBareRelay() {
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();
  let linesRelayed = 0;
  let socketErrors = 0;
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.write(WELCOME);
    /** @type {Buffer | undefined} */
    let pending;
    socket.on('data', (chunk) => {
      const data = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      const end = data.lastIndexOf(10);
      if (end < 0) {
        pending = data;
        return;
      }
      const lines = end === data.length - 1 ? data : data.subarray(0, end + 1);
      pending = end === data.length - 1 ? undefined : data.subarray(end + 1);
      for (let at = lines.indexOf(10); at >= 0; at = lines.indexOf(10, at + 1)) linesRelayed++;
      for (const other of sockets) {
        if (other !== socket) other.write(lines);
      }
    });
    socket.on('error', () => {
      socketErrors++;
    });
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
  if (address === null || typeof address === 'string') throw new Error('bare relay: no port');
  return {
    port: address.port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
    statistics: () => ({ linesRelayed, sockets: sockets.size, socketErrors }),
  };
}

/**
 * @param {string} kind
 * @returns {Promise<Relay>}
 */
export function startRelay(kind) {
  if (kind === 'lanchat') return startLanchatRelay();
  if (kind === 'bare') return startBareRelay();
  throw new Error(`unknown relay ${kind}`);
}

/** CPU time of this process so far, in ms. */
export function cpuMilliseconds() {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

if (isMainModule(import.meta.url)) {
  guardChild(Number(process.argv[3] ?? 300_000));
  const relay = await startRelay(process.argv[2] ?? '');
  process.on('message', (message) => {
    const type = /** @type {{ type: string }} */ (message).type;
    if (type === 'cpu') {
      tellParent({ type: 'cpu', milliseconds: cpuMilliseconds(), statistics: relay.statistics() });
    } else if (type === 'stop') {
      void relay.close().then(() => {
        process.disconnect();
        process.exit(0);
      });
      setTimeout(() => process.exit(0), 2000).unref();
    }
  });
  tellParent({ type: 'listening', port: relay.port });
}
