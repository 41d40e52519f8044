// @ts-check
/**
 * The lanchat processes of the transfer benchmark (`node transfer-lanchat.mjs ROLE [PORT]
 * LIFETIME`), each in a process of its own so that every one has its own event loop and CPU
 * figure, as on a real network:
 *
 * - `server`: `listenChat` of @lanchat/tcp with its defaults (a generated key, 127.0.0.1, port 0).
 *   Says `{ type: 'listening', port }`, answers `{ type: 'cpu' }` with its CPU time and statistics.
 * - `sender`: a `connectChat` client `sender`. On `{ type: 'send', path }` it calls
 *   `sendFile('receiver', path)` (which hashes the file, then offers it), says `accepted` when the
 *   receiver has accepted, and `sent` with its timings when the transfer has completed.
 * - `receiver`: a `connectChat` client `receiver`. On `{ type: 'receive', directory }` it says
 *   `expecting`, accepts the next offer into `directory` and says `received` once the file is
 *   saved (lanchat has then checked its SHA-256), with its size on disk and the hash the sender
 *   announced.
 * - `chat`: two chat-only `connectChat` clients, `pinger` and `ponger`, timing private-message
 *   round trips through the server on `ping-start` until `ping-stop` (runChatPings of
 *   child-support.mjs), in this one process, apart from the sender and the receiver: what is
 *   measured is how long the server, busy relaying the file, takes to pass a chat line on, with
 *   the machine's two cores shared by every process.
 *
 * Times are taken with performance.now() in the process where they happen, CPU times with
 * process.cpuUsage() (every thread of the process: the file reads and writes of libuv's pool
 * count too).
 *
 * Every client is made with `reconnect: false`: a dropped connection fails the run instead of
 * being hidden by a reconnection; so does a `connection-error`.
 *
 * What this shares with udp-lanchat.mjs (the parent's messages, the clients' events, the sender
 * and the receiver of one file at a time, the pinger and the ponger, the server's `cpu` answer)
 * is in child-support.mjs.
 *
 * @module
 */

import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { nodeCryptoProvider } from '@lanchat/core';
import { connectChat, listenChat } from '@lanchat/tcp';
import {
  answerCpu,
  childSide,
  runChatPings,
  runFileReceiver,
  runFileSender,
  senderTimes,
} from './child-support.mjs';
import { guardChild, isMainModule, tellParent } from './children.mjs';
import { cpuMilliseconds, systemCpuMilliseconds } from './transfer-raw.mjs';

const HOST = '127.0.0.1';

// Over TCP a `connection-error` ends the connection, so it fails the run like any other end.
const side = childSide({ name: 'transfer child', notices: [] });

/**
 * Connects a client and logs it in as `nick`; `handle` gets every event.
 *
 * @param {number} port
 * @param {string} nick
 * @param {(event: import('./child-support.mjs').ClientEvent) => void} handle
 * @returns {{ client: import('@lanchat/tcp').ChatTcpClient, online: Promise<void> }}
 */
function connectClient(port, nick, handle) {
  const { onEvent, online } = side.watchClient(nick, handle);
  const client = connectChat({ host: HOST, port, login: { nick }, reconnect: false, onEvent });
  return { client, online };
}

async function runServer() {
  let socketErrors = 0;
  let slowDropped = 0;
  const server = await listenChat({
    staticKeyPair: nodeCryptoProvider.generateX25519KeyPair(),
    host: HOST,
    port: 0,
    onEvent: (event) => {
      if (event.type === 'socket-error') socketErrors++;
      else if (event.type === 'connection-ending' && event.reason === 'too-slow') slowDropped++;
    },
  });
  answerCpu(side, server, () => {
    const statistics = server.statistics;
    return {
      messagesRelayed: statistics.messagesRelayed,
      slowConsumersDropped: statistics.slowConsumersDropped,
      protocolErrors: statistics.protocolErrors,
      socketErrors,
      slowDropped,
    };
  });
  tellParent({ type: 'listening', port: server.address().port });
}

/**
 * @typedef {object} Sending one file on its way, in the sender's clock (performance.now, ms)
 * @property {string | undefined} transfer its id, once sendFile has resolved
 * @property {number} startedAt
 * @property {number} cpuAtStart
 * @property {number} hashedAt when sendFile resolved: the file was hashed and the offer queued
 * @property {number} cpuAtHashed
 * @property {number} acceptedAt
 * @property {number} cpuAtAccepted
 * @property {number} systemCpuAtAccepted
 * @property {number} progressEvents
 */

/** @param {number} port */
async function runSender(port) {
  await runFileSender(side, (handle) => connectClient(port, 'sender', handle), {
    /** @returns {Sending} */
    start: () => ({
      transfer: undefined,
      startedAt: performance.now(),
      cpuAtStart: cpuMilliseconds(),
      hashedAt: NaN,
      cpuAtHashed: NaN,
      acceptedAt: NaN,
      cpuAtAccepted: NaN,
      systemCpuAtAccepted: NaN,
      progressEvents: 0,
    }),
    hashed: (sending) => {
      sending.hashedAt = performance.now();
      sending.cpuAtHashed = cpuMilliseconds();
    },
    event: (sending, event) => {
      switch (event.type) {
        case 'transfer-accepted':
          sending.acceptedAt = performance.now();
          sending.cpuAtAccepted = cpuMilliseconds();
          sending.systemCpuAtAccepted = systemCpuMilliseconds();
          tellParent({ type: 'accepted', offset: event.offset });
          break;
        case 'transfer-progress':
          sending.progressEvents++;
          break;
        case 'transfer-completed': {
          const now = performance.now();
          const cpu = cpuMilliseconds();
          tellParent({
            type: 'sent',
            ...senderTimes(sending, now),
            hashCpuMilliseconds: sending.cpuAtHashed - sending.cpuAtStart,
            transferCpuMilliseconds: cpu - sending.cpuAtAccepted,
            transferSystemCpuMilliseconds: systemCpuMilliseconds() - sending.systemCpuAtAccepted,
            progressEvents: sending.progressEvents,
          });
          break;
        }
        default:
          break;
      }
    },
  });
}

/**
 * @typedef {object} Receiving one file coming in, in the receiver's clock
 * @property {string} directory
 * @property {string | undefined} transfer
 * @property {number} size
 * @property {string} sha256 announced in the offer
 * @property {number} offeredAt
 * @property {number} cpuAtOffered
 * @property {number} systemCpuAtOffered
 * @property {number} lastWrittenAt when the last byte was written (before the hash check, the
 *   fsync and the rename)
 * @property {number} progressEvents
 */

/** @param {number} port */
async function runReceiver(port) {
  await runFileReceiver(side, (handle) => connectClient(port, 'receiver', handle), {
    /** @returns {Receiving} */
    start: (directory) => ({
      directory,
      transfer: undefined,
      size: NaN,
      sha256: '',
      offeredAt: NaN,
      cpuAtOffered: NaN,
      systemCpuAtOffered: NaN,
      lastWrittenAt: NaN,
      progressEvents: 0,
    }),
    offered: (receiving, event) => {
      receiving.size = event.size;
      receiving.sha256 = event.sha256;
      receiving.offeredAt = performance.now();
      receiving.cpuAtOffered = cpuMilliseconds();
      receiving.systemCpuAtOffered = systemCpuMilliseconds();
    },
    event: (receiving, event) => {
      if (event.type !== 'transfer-progress') return;
      receiving.progressEvents++;
      if (event.bytes === event.size) receiving.lastWrittenAt = performance.now();
    },
    saved: async (receiving, path) => {
      const completedAt = performance.now();
      const cpu = cpuMilliseconds();
      const systemCpu = systemCpuMilliseconds();
      const bytesOnDisk = (await stat(path)).size;
      tellParent({
        type: 'received',
        path,
        size: receiving.size,
        bytesOnDisk,
        sha256: receiving.sha256,
        milliseconds: completedAt - receiving.offeredAt,
        tailMilliseconds: completedAt - receiving.lastWrittenAt,
        cpuMilliseconds: cpu - receiving.cpuAtOffered,
        systemCpuMilliseconds: systemCpu - receiving.systemCpuAtOffered,
        progressEvents: receiving.progressEvents,
      });
    },
  });
}

if (isMainModule(import.meta.url)) {
  const [role = '', ...rest] = process.argv.slice(2);
  guardChild(Number(rest.at(-1)));
  const port = Number(rest[0]);
  switch (role) {
    case 'server':
      await runServer();
      break;
    case 'sender':
      await runSender(port);
      break;
    case 'receiver':
      await runReceiver(port);
      break;
    case 'chat':
      await runChatPings(side, (nick, handle) => connectClient(port, nick, handle));
      break;
    default:
      throw new Error(`transfer-lanchat: unknown role ${role}`);
  }
}
