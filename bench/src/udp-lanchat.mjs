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
 *
 * Times are taken with performance.now() in the process where they happen, CPU times with
 * process.cpuUsage() (every thread of the process).
 *
 * Every client is made with `reconnect: false`: a lost session fails the run instead of being
 * hidden by a reconnection. A `connection-error` event, which over UDP reports a failed send
 * (ENOBUFS...) and does not end the session, is counted and reported, not fatal; so is a
 * `transfer-interrupted`.
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
import { guardChild, isMainModule, tellParent } from './children.mjs';
import { cpuMilliseconds, hashFile, systemCpuMilliseconds } from './transfer-raw.mjs';

const HOST = '127.0.0.1';

/** Set when the parent says `stop`: the clients' ends are then expected, not failures. */
let closing = false;

/** Events that do not end a session, by type, counted in this process. */
/** @type {Record<string, number>} */
const notices = {};

/** @param {unknown} error */
function fail(error) {
  if (closing) return;
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`udp child ${process.pid}: ${message}\n`);
  tellParent({ type: 'error', message });
  setTimeout(() => process.exit(1), 100).unref();
}

/**
 * Connects a client and logs it in as `nick`; `handle` gets every event.
 *
 * @param {number} port
 * @param {Uint8Array} serverKey
 * @param {string} nick
 * @param {(event: import('@lanchat/tcp').TcpClientEvent) => void} handle
 * @returns {{ client: import('@lanchat/udp').ChatUdpClient, online: Promise<void> }}
 */
function connectClient(port, serverKey, nick, handle) {
  /** @type {() => void} */
  let resolveOnline = () => undefined;
  /** @type {Promise<void>} */
  const online = new Promise((resolve) => {
    resolveOnline = resolve;
  });
  const client = connectChatUdp({
    host: HOST,
    port,
    serverKey,
    login: { nick },
    reconnect: false,
    onEvent: (event) => {
      switch (event.type) {
        case 'login-succeeded':
          resolveOnline();
          break;
        case 'login-failed':
          fail(new Error(`${nick}: login failed: ${event.code} ${event.message}`));
          break;
        case 'server-key-rejected':
          fail(new Error(`${nick}: the server's key was rejected`));
          break;
        case 'client-stopped':
          fail(new Error(`${nick}: the client stopped: ${event.reason}`));
          break;
        case 'transfer-failed':
          fail(new Error(`${nick}: transfer failed: ${event.code} ${event.message}`));
          break;
        case 'connection-error':
        case 'transfer-interrupted':
          notices[event.type] = (notices[event.type] ?? 0) + 1;
          break;
        default:
          break;
      }
      try {
        handle(event);
      } catch (error) {
        fail(error);
      }
    },
  });
  return { client, online };
}

/**
 * Handles the parent's messages with `handler`; `stop` ends the process after `close`.
 *
 * @param {(message: { type: string, [key: string]: unknown }) => void | Promise<void>} handler
 * @param {() => Promise<unknown>} close
 */
function onParentMessage(handler, close) {
  process.on('message', (raw) => {
    const message = /** @type {{ type: string, [key: string]: unknown }} */ (raw);
    if (message.type === 'stop') {
      closing = true;
      setTimeout(() => process.exit(0), 2000).unref();
      void close().finally(() => process.exit(0));
      return;
    }
    Promise.resolve()
      .then(() => handler(message))
      .catch(fail);
  });
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
  onParentMessage(
    (message) => {
      if (message.type !== 'cpu') return;
      const statistics = server.statistics;
      tellParent({
        type: 'cpu',
        milliseconds: cpuMilliseconds(),
        systemMilliseconds: systemCpuMilliseconds(),
        statistics: {
          messagesRelayed: statistics.messagesRelayed,
          protocolErrors: statistics.protocolErrors,
          sendErrors,
          ...server.udpStatistics,
        },
      });
    },
    () => server.close(),
  );
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
  onParentMessage(
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
  /** @type {Sending | undefined} */
  let sending;
  const { client, online } = connectClient(port, serverKey, 'sender', (event) => {
    if (sending === undefined || !('transfer' in event) || event.transfer !== sending.transfer) {
      return;
    }
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
      const done = sending;
      sending = undefined;
      tellParent({
        type: 'sent',
        hashMilliseconds: done.hashedAt - done.startedAt,
        offerMilliseconds: done.acceptedAt - done.hashedAt,
        transferMilliseconds: now - done.acceptedAt,
        endToEndMilliseconds: now - done.startedAt,
        cpuMilliseconds: cpuMilliseconds() - done.cpuAtAccepted,
        systemCpuMilliseconds: systemCpuMilliseconds() - done.systemCpuAtAccepted,
        progressEvents: done.progressEvents,
        longestGapMilliseconds: done.longestGap,
        // The receiver's SHA-256 check, fsync and rename, and the word of it coming back.
        tailMilliseconds: now - done.lastProgressAt,
        notices: { ...notices },
      });
    }
  });
  await online;
  onParentMessage(
    async (message) => {
      if (message.type !== 'send') return;
      if (sending !== undefined) throw new Error('sender: a transfer is already going');
      /** @type {Sending} */
      const state = {
        transfer: undefined,
        startedAt: performance.now(),
        hashedAt: NaN,
        acceptedAt: NaN,
        cpuAtAccepted: NaN,
        systemCpuAtAccepted: NaN,
        progressEvents: 0,
        lastProgressAt: NaN,
        longestGap: 0,
      };
      sending = state;
      // The offer goes out on the client's next turn, so no event of this transfer can come
      // before its id is known here.
      state.transfer = await client.sendFile('receiver', String(message['path']));
      state.hashedAt = performance.now();
    },
    () => client.bye(),
  );
  tellParent({ type: 'ready' });
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
  /** @type {Receiving | undefined} */
  let receiving;
  /** @param {Receiving} state */
  const accept = async (state) => {
    const transfer = /** @type {string} */ (state.transfer);
    const result = await client.acceptFile(transfer, state.directory);
    if ('refused' in result) throw new Error(`receiver: acceptFile refused: ${result.refused}`);
  };
  /**
   * @param {Receiving} state
   * @param {string} path
   */
  const report = async (state, path) => {
    const cpu = cpuMilliseconds() - state.cpuAtOffered;
    const systemCpu = systemCpuMilliseconds() - state.systemCpuAtOffered;
    const bytesOnDisk = (await stat(path)).size;
    tellParent({
      type: 'received',
      size: state.size,
      bytesOnDisk,
      sha256: await hashFile(path),
      cpuMilliseconds: cpu,
      systemCpuMilliseconds: systemCpu,
      notices: { ...notices },
    });
  };
  const { client, online } = connectClient(port, serverKey, 'receiver', (event) => {
    if (event.type === 'transfer-offered') {
      if (receiving === undefined || receiving.transfer !== undefined) {
        throw new Error(`receiver: an offer it did not expect, from ${event.peer}`);
      }
      receiving.transfer = event.transfer;
      receiving.size = event.size;
      receiving.cpuAtOffered = cpuMilliseconds();
      receiving.systemCpuAtOffered = systemCpuMilliseconds();
      accept(receiving).catch(fail);
      return;
    }
    if (
      receiving === undefined ||
      !('transfer' in event) ||
      event.transfer !== receiving.transfer ||
      event.type !== 'transfer-completed'
    ) {
      return;
    }
    const done = receiving;
    receiving = undefined;
    if (event.path === undefined) throw new Error('receiver: completed without a path');
    report(done, event.path).catch(fail);
  });
  await online;
  onParentMessage(
    (message) => {
      if (message.type !== 'receive') return;
      if (receiving !== undefined) throw new Error('receiver: a transfer is already expected');
      receiving = {
        directory: String(message['directory']),
        transfer: undefined,
        size: NaN,
        cpuAtOffered: NaN,
        systemCpuAtOffered: NaN,
      };
      tellParent({ type: 'expecting' });
    },
    () => client.bye(),
  );
  tellParent({ type: 'ready' });
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
    default:
      throw new Error(`udp-lanchat: unknown role ${role}`);
  }
}
