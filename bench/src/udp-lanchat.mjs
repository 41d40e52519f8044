// @ts-check
/**
 * The lanchat processes of the UDP benchmark (`node udp-lanchat.mjs ROLE [ARGS...] LIFETIME`),
 * each in a process of its own, as on a real network:
 *
 * - `server`: `listenChatUdp` of @lanchat/udp on 127.0.0.1 (port 0) with a key pair made here.
 *   Says `{ type: 'listening', port, publicKey }` (the key in hex, for the clients to pin) and
 *   answers `{ type: 'cpu' }` with its CPU time and counters.
 * - `relay TARGET_PORT LOSS DUPLICATION REORDERING HOLD_MS SEED`: `startLossyRelay` of
 *   @lanchat/udp/testing in front of the server. Says `{ type: 'listening', port }` and answers
 *   `{ type: 'statistics' }` with its counters both ways and its CPU time.
 * - `sender PORT KEY`: a `connectChatUdp` client `sender`. On `{ type: 'send', path }` it calls
 *   `sendFile('receiver', path)` (which hashes the file, then offers it), says `accepted` when the
 *   receiver has accepted, and `sent` with its timings when the transfer has completed.
 * - `receiver PORT KEY`: a `connectChatUdp` client `receiver`. On `{ type: 'receive', directory }`
 *   it says `expecting`, accepts the next offer into `directory` and, once the file is saved
 *   (lanchat has then checked the SHA-256 the sender announced), hashes the file on disk itself,
 *   after its timings are taken, and says `received` with that hash.
 * - `chat PORT KEY`: two chat-only `connectChatUdp` clients, `pinger` and `ponger`, timing
 *   private-message round trips through the server (and the relay, when PORT is the relay's) on
 *   `ping-start` until `ping-stop`: runChatPings of child-support.mjs, as in transfer-lanchat.mjs.
 *
 * Times are taken with performance.now() in the process where they happen, CPU times with
 * process.cpuUsage() (every thread of the process).
 *
 * Every client is made with `reconnect: false`: a lost session fails the run instead of being
 * hidden by a reconnection. A `connection-error` event, which over UDP reports a failed send
 * (ENOBUFS...) and does not end the session, is counted and reported, not fatal; so is a
 * `transfer-interrupted`.
 *
 * What this shares with transfer-lanchat.mjs (the parent's messages, the clients' events, the
 * sender and the receiver of one file at a time, the pinger and the ponger, the server's `cpu`
 * answer) is in child-support.mjs.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { nodeCryptoProvider } from '@lanchat/core';
import { connectChatUdp, listenChatUdp } from '@lanchat/udp';
import { startLossyRelay } from '@lanchat/udp/testing';
import {
  answerCpu,
  childSide,
  runChatPings,
  runFileReceiver,
  runFileSender,
  senderTimes,
} from './child-support.mjs';
import { guardChild, isMainModule, tellParent } from './children.mjs';
import { cpuMilliseconds, hashFile, systemCpuMilliseconds } from './transfer-raw.mjs';

const HOST = '127.0.0.1';

// Over UDP a `connection-error` is a failed send (ENOBUFS...), which does not end the session.
const side = childSide({
  name: 'udp child',
  notices: ['connection-error', 'transfer-interrupted'],
});

/**
 * Connects a client and logs it in as `nick`; `handle` gets every event.
 *
 * @param {number} port
 * @param {Uint8Array} serverKey
 * @param {string} nick
 * @param {(event: import('./child-support.mjs').ClientEvent) => void} handle
 * @returns {{ client: import('@lanchat/udp').ChatUdpClient, online: Promise<void> }}
 */
function connectClient(port, serverKey, nick, handle) {
  const { onEvent, online } = side.watchClient(nick, handle);
  const client = connectChatUdp({
    host: HOST,
    port,
    serverKey,
    login: { nick },
    reconnect: false,
    onEvent,
  });
  return { client, online };
}

async function runServer() {
  const keyPair = nodeCryptoProvider.generateX25519KeyPair();
  let sendErrors = 0;
  const server = await listenChatUdp({
    staticKeyPair: keyPair,
    host: HOST,
    port: 0,
    onEvent: (event) => {
      if (event.type === 'send-error') sendErrors++;
    },
  });
  answerCpu(side, server, () => {
    const statistics = server.statistics;
    return {
      messagesRelayed: statistics.messagesRelayed,
      protocolErrors: statistics.protocolErrors,
      sendErrors,
      ...server.udpStatistics,
    };
  });
  tellParent({
    type: 'listening',
    port: server.address().port,
    publicKey: Buffer.from(keyPair.publicKey).toString('hex'),
  });
}

/**
 * @param {number} targetPort
 * @param {{ loss: number, duplication: number, reordering: number, holdMs: number,
 *   seed: number }} rates
 */
async function runRelay(targetPort, rates) {
  const relay = await startLossyRelay({ target: { host: HOST, port: targetPort }, ...rates });
  side.onParentMessage(
    (message) => {
      if (message.type !== 'statistics') return;
      tellParent({
        type: 'statistics',
        milliseconds: cpuMilliseconds(),
        systemMilliseconds: systemCpuMilliseconds(),
        toServer: { ...relay.statistics.toServer },
        toClient: { ...relay.statistics.toClient },
      });
    },
    () => relay.close(),
  );
  tellParent({ type: 'listening', port: relay.port });
}

/**
 * @typedef {object} Sending one file on its way, in the sender's clock (performance.now, ms)
 * @property {string | undefined} transfer its id, once sendFile has resolved
 * @property {number} startedAt
 * @property {number} hashedAt when sendFile resolved: the file was hashed and the offer queued
 * @property {number} acceptedAt
 * @property {number} cpuAtAccepted
 * @property {number} systemCpuAtAccepted
 * @property {number} progressEvents
 * @property {number} lastProgressAt
 * @property {number} longestGap the longest wait from acceptance or one progress event to the
 *   next: a stall of the transfer shows here
 */

/**
 * @param {number} port
 * @param {Uint8Array} serverKey
 */
async function runSender(port, serverKey) {
  await runFileSender(side, (handle) => connectClient(port, serverKey, 'sender', handle), {
    /** @returns {Sending} */
    start: () => ({
      transfer: undefined,
      startedAt: performance.now(),
      hashedAt: NaN,
      acceptedAt: NaN,
      cpuAtAccepted: NaN,
      systemCpuAtAccepted: NaN,
      progressEvents: 0,
      lastProgressAt: NaN,
      longestGap: 0,
    }),
    hashed: (sending) => {
      sending.hashedAt = performance.now();
    },
    event: (sending, event) => {
      if (event.type === 'transfer-accepted') {
        sending.acceptedAt = performance.now();
        sending.cpuAtAccepted = cpuMilliseconds();
        sending.systemCpuAtAccepted = systemCpuMilliseconds();
        sending.lastProgressAt = sending.acceptedAt;
        tellParent({ type: 'accepted' });
      } else if (event.type === 'transfer-progress') {
        const now = performance.now();
        sending.progressEvents++;
        sending.longestGap = Math.max(sending.longestGap, now - sending.lastProgressAt);
        sending.lastProgressAt = now;
      } else if (event.type === 'transfer-completed') {
        const now = performance.now();
        tellParent({
          type: 'sent',
          ...senderTimes(sending, now),
          cpuMilliseconds: cpuMilliseconds() - sending.cpuAtAccepted,
          systemCpuMilliseconds: systemCpuMilliseconds() - sending.systemCpuAtAccepted,
          progressEvents: sending.progressEvents,
          longestGapMilliseconds: sending.longestGap,
          // The receiver's SHA-256 check, fsync and rename, and the word of it coming back.
          tailMilliseconds: now - sending.lastProgressAt,
          notices: { ...side.notices },
        });
      }
    },
  });
}

/**
 * @typedef {object} Receiving one file coming in, in the receiver's clock
 * @property {string} directory
 * @property {string | undefined} transfer
 * @property {number} size
 * @property {number} cpuAtOffered
 * @property {number} systemCpuAtOffered
 */

/**
 * @param {number} port
 * @param {Uint8Array} serverKey
 */
async function runReceiver(port, serverKey) {
  await runFileReceiver(side, (handle) => connectClient(port, serverKey, 'receiver', handle), {
    /** @returns {Receiving} */
    start: (directory) => ({
      directory,
      transfer: undefined,
      size: NaN,
      cpuAtOffered: NaN,
      systemCpuAtOffered: NaN,
    }),
    offered: (receiving, event) => {
      receiving.size = event.size;
      receiving.cpuAtOffered = cpuMilliseconds();
      receiving.systemCpuAtOffered = systemCpuMilliseconds();
    },
    saved: async (receiving, path) => {
      const cpu = cpuMilliseconds() - receiving.cpuAtOffered;
      const systemCpu = systemCpuMilliseconds() - receiving.systemCpuAtOffered;
      const bytesOnDisk = (await stat(path)).size;
      tellParent({
        type: 'received',
        size: receiving.size,
        bytesOnDisk,
        sha256: await hashFile(path),
        cpuMilliseconds: cpu,
        systemCpuMilliseconds: systemCpu,
        notices: { ...side.notices },
      });
    },
  });
}

if (isMainModule(import.meta.url)) {
  const [role = '', ...rest] = process.argv.slice(2);
  guardChild(Number(rest.at(-1)));
  const port = Number(rest[0]);
  /** @param {string | undefined} hex */
  const key = (hex) => new Uint8Array(Buffer.from(hex ?? '', 'hex'));
  switch (role) {
    case 'server':
      await runServer();
      break;
    case 'relay':
      await runRelay(port, {
        loss: Number(rest[1]),
        duplication: Number(rest[2]),
        reordering: Number(rest[3]),
        holdMs: Number(rest[4]),
        seed: Number(rest[5]),
      });
      break;
    case 'sender':
      await runSender(port, key(rest[1]));
      break;
    case 'receiver':
      await runReceiver(port, key(rest[1]));
      break;
    case 'chat':
      await runChatPings(side, (nick, handle) => connectClient(port, key(rest[1]), nick, handle));
      break;
    default:
      throw new Error(`udp-lanchat: unknown role ${role}`);
  }
}
