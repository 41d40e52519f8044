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
import { listenLoopback } from './lib.mjs';
import { SealedEnd } from './sealed-lines.mjs';

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
  return {
    port: await listenLoopback(server, 'bare relay'),
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
 * The sealed relay, the ceiling (sealed-lines.mjs): the bare relay with every connection
 * encrypted by node:crypto. On each read from a sender, the frames it completes are opened and
 * the complete lines among them cut out; at the end of the turn, every socket is sent the lines
 * of the turn from the others, sealed at once (one frame, split only past a Noise message's
 * size) and written once. Batching per turn as lanchat's server does (a relay sealing per read
 * and recipient pays node:crypto's cost per call many times over when paced), so that the two
 * differ only in what lanchat does beyond encryption.
 *
 * @returns {Promise<Relay>}
 */
export async function startSealedRelay() {
  /** @type {Map<import('node:net').Socket, SealedEnd>} */
  const ends = new Map();
  let linesRelayed = 0;
  let socketErrors = 0;
  let sealErrors = 0;
  /** The lines read in this turn, each with its sender. */
  /** @type {{ from: import('node:net').Socket, lines: Buffer }[]} */
  let turn = [];
  /** @type {NodeJS.Immediate | undefined} */
  let scheduled;
  const flush = () => {
    scheduled = undefined;
    const batch = turn;
    turn = [];
    for (const [socket, end] of ends) {
      const parts = batch.filter((entry) => entry.from !== socket).map((entry) => entry.lines);
      if (parts.length > 0) {
        const lines = parts.length === 1 ? /** @type {Buffer} */ (parts[0]) : Buffer.concat(parts);
        socket.write(end.seal(lines));
      }
    }
  };
  const server = createServer({ noDelay: true }, (socket) => {
    const end = new SealedEnd('server');
    ends.set(socket, end);
    socket.write(end.seal(WELCOME));
    /** @type {Buffer | undefined} */
    let pending;
    socket.on('data', (chunk) => {
      /** @type {Buffer | undefined} */
      let opened;
      try {
        opened = end.open(chunk);
      } catch {
        sealErrors++;
        socket.destroy();
        return;
      }
      if (opened === undefined) return;
      const data = pending === undefined ? opened : Buffer.concat([pending, opened]);
      const last = data.lastIndexOf(10);
      if (last < 0) {
        pending = data;
        return;
      }
      const lines = last === data.length - 1 ? data : data.subarray(0, last + 1);
      pending = last === data.length - 1 ? undefined : data.subarray(last + 1);
      for (let at = lines.indexOf(10); at >= 0; at = lines.indexOf(10, at + 1)) linesRelayed++;
      turn.push({ from: socket, lines });
      scheduled ??= setImmediate(flush);
    });
    socket.on('error', () => {
      socketErrors++;
    });
    socket.on('close', () => {
      ends.delete(socket);
    });
  });
  return {
    port: await listenLoopback(server, 'sealed relay'),
    close: () =>
      new Promise((resolve) => {
        if (scheduled !== undefined) clearImmediate(scheduled);
        for (const socket of ends.keys()) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
    statistics: () => ({ linesRelayed, sockets: ends.size, socketErrors, sealErrors }),
  };
}

/**
 * @param {string} kind
 * @returns {Promise<Relay>}
 */
export function startRelay(kind) {
  if (kind === 'lanchat') return startLanchatRelay();
  if (kind === 'bare') return startBareRelay();
  if (kind === 'sealed') return startSealedRelay();
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
