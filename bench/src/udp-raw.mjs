// @ts-check
/**
 * The limit of the UDP benchmark: raw node:dgram throughput on loopback between two processes,
 * datagrams of {@link DATAGRAM_BYTES} bytes (the largest datagram of a lanchat UDP session), nothing
 * on top (no sequence numbers, no acknowledgements, no crypto, no resends).
 *
 * - `node udp-raw.mjs receive LIFETIME`: binds 127.0.0.1 (port 0) with {@link SOCKET_BUFFER_BYTES}
 *   socket buffers, says `{ type: 'listening', port, receiveBufferBytes }` and counts the datagrams
 *   that come in, timing the first and the last. An empty datagram is the sender's end mark: on the
 *   first one it says `received` with the count, the bytes, the span from the first to the last
 *   data datagram (its own clock) and its CPU time over that span.
 * - `node udp-raw.mjs send SOURCE PORT DEADLINE LIFETIME`: reads SOURCE into memory (outside the
 *   measured window), connects a socket with the same buffers and sends the file in
 *   {@link DATAGRAM_BYTES}-byte datagrams as fast as the kernel takes them, with at most
 *   {@link SENDS_OUTSTANDING} sends whose callback has not come yet: node then neither queues
 *   megabytes in user space nor spins on `ENOBUFS`/`EAGAIN`. A send that fails is counted and tried
 *   again, at most {@link MAX_SEND_ERRORS} times in all; sending stops at DEADLINE ms whatever
 *   happens. Once every datagram has been handed to the kernel it says `sent` and sends end marks:
 *   one at once, then one every {@link MARK_INTERVAL_MS} ms (at most {@link MAX_MARKS}), for the
 *   first may be dropped like any datagram when the receiver's buffer is full. The kernel keeps the
 *   order of the datagrams of one socket pair on loopback, so the first mark that arrives comes
 *   after every data datagram that was not dropped.
 *
 * With `sealed` (before LIFETIME) both ends seal and open each datagram (sealed-lines.mjs), the
 * sender putting 1,176 file bytes in each, and `node udp-raw.mjs relay PORT LIFETIME` sits between
 * them: it opens each datagram and seals it again for the receiver at PORT (the benchmark's
 * ceiling).
 *
 * On loopback a datagram the receiver has no room for is dropped by the kernel at once (counted
 * in `netstat -su` as a receive buffer error): the sender is never slowed down by the receiver, so
 * the figure is what one node process can read, and the datagrams it could not are the loss share.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { guardChild, isMainModule, tellParent } from './children.mjs';
import { DATAGRAM_KEYS, DATAGRAM_OVERHEAD, openDatagram, sealDatagram } from './sealed-lines.mjs';
import { cpuMilliseconds, systemCpuMilliseconds } from './transfer-raw.mjs';

/** Bytes of every datagram but the last: the largest datagram of a lanchat UDP session. */
export const DATAGRAM_BYTES = 1200;
/** Socket buffers asked for, both ways (lanchat's; the system caps them at net.core.rmem_max). */
export const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** Sends handed to node whose callback has not come yet, at most. */
const SENDS_OUTSTANDING = 64;
/** Failed sends (ENOBUFS, EAGAIN...) tolerated in all before the sender gives up. */
const MAX_SEND_ERRORS = 100_000;
const MARK_INTERVAL_MS = 10;
const MAX_MARKS = 500;
const HOST = '127.0.0.1';

const socketOptions = /** @type {const} */ ({
  type: 'udp4',
  recvBufferSize: SOCKET_BUFFER_BYTES,
  sendBufferSize: SOCKET_BUFFER_BYTES,
});

/**
 * A socket bound to 127.0.0.1 on a port the system picks; an error on it later throws (the
 * benchmark fails rather than measuring a broken run).
 *
 * @returns {Promise<import('node:dgram').Socket>}
 */
async function bindLoopback() {
  const socket = createSocket(socketOptions);
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, HOST, () => {
      socket.off('error', reject);
      resolve(undefined);
    });
  });
  socket.on('error', (error) => {
    throw error;
  });
  return socket;
}

/**
 * @param {boolean} sealed each datagram is sealed (sealed-lines.mjs): open it, count its payload
 */
async function receive(sealed) {
  const socket = await bindLoopback();
  let datagrams = 0;
  let bytes = 0;
  let rejected = 0;
  let firstAt = NaN;
  let lastAt = NaN;
  let cpuAtFirst = NaN;
  let systemCpuAtFirst = NaN;
  let done = false;
  socket.on('message', (datagram) => {
    if (done) return;
    if (datagram.length === 0) {
      done = true;
      tellParent({
        type: 'received',
        datagrams,
        bytes,
        rejected,
        milliseconds: lastAt - firstAt,
        // Up to the mark: the receiver is idle between the last datagram and the mark.
        cpuMilliseconds: cpuMilliseconds() - cpuAtFirst,
        systemCpuMilliseconds: systemCpuMilliseconds() - systemCpuAtFirst,
      });
      socket.close();
      return;
    }
    const now = performance.now();
    if (datagrams === 0) {
      firstAt = now;
      cpuAtFirst = cpuMilliseconds();
      systemCpuAtFirst = systemCpuMilliseconds();
    }
    lastAt = now;
    datagrams++;
    if (sealed) {
      const payload = openDatagram(DATAGRAM_KEYS.toReceiver, datagram);
      if (payload === undefined) rejected++;
      else bytes += payload.length;
    } else {
      bytes += datagram.length;
    }
  });
  tellParent({
    type: 'listening',
    port: socket.address().port,
    receiveBufferBytes: socket.getRecvBufferSize(),
  });
}

/**
 * @param {string} source
 * @param {number} port
 * @param {number} deadlineMs
 * @param {boolean} sealed seal each datagram (sealed-lines.mjs): as many file bytes as leave a
 *   sealed datagram at {@link DATAGRAM_BYTES}
 */
async function send(source, port, deadlineMs, sealed) {
  const file = await readFile(source);
  const socket = createSocket(socketOptions);
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, HOST, () => {
      socket.off('error', reject);
      resolve(undefined);
    });
  });
  const payloadBytes = sealed ? DATAGRAM_BYTES - DATAGRAM_OVERHEAD : DATAGRAM_BYTES;
  const total = Math.ceil(file.length / payloadBytes);
  const startedAt = performance.now();
  const deadline = startedAt + deadlineMs;
  const cpuBefore = cpuMilliseconds();
  const systemBefore = systemCpuMilliseconds();
  let next = 0;
  let outstanding = 0;
  let confirmed = 0;
  let errors = 0;
  /** Datagrams to send again after an error, by index. */
  /** @type {number[]} */
  const again = [];
  /** @type {(value: boolean) => void} */
  let finish = () => undefined;
  /** @type {Promise<boolean>} true when every datagram went out before the deadline */
  const finished = new Promise((resolve) => {
    finish = resolve;
  });
  let over = false;

  /** @param {number} index */
  const sendOne = (index) => {
    outstanding++;
    const start = index * payloadBytes;
    const payload = file.subarray(start, Math.min(file.length, start + payloadBytes));
    // The counter is the datagram's index: a resent datagram has the same nonce and contents.
    const datagram = sealed ? sealDatagram(DATAGRAM_KEYS.toRelay, index, payload) : payload;
    socket.send(datagram, (error) => {
      outstanding--;
      if (error) {
        errors++;
        again.push(index);
      } else {
        confirmed++;
      }
      pump();
    });
  };
  const pump = () => {
    if (over) return;
    if (confirmed === total) {
      over = true;
      finish(true);
      return;
    }
    if (errors > MAX_SEND_ERRORS || performance.now() > deadline) {
      over = true;
      finish(false);
      return;
    }
    while (outstanding < SENDS_OUTSTANDING) {
      const index = again.length > 0 ? again.shift() : next < total ? next++ : undefined;
      if (index === undefined) break;
      sendOne(index);
    }
  };
  pump();
  const complete = await finished;
  const milliseconds = performance.now() - startedAt;
  tellParent({
    type: 'sent',
    complete,
    datagrams: confirmed,
    bytes: Math.min(file.length, confirmed * payloadBytes),
    sendErrors: errors,
    milliseconds,
    cpuMilliseconds: cpuMilliseconds() - cpuBefore,
    systemCpuMilliseconds: systemCpuMilliseconds() - systemBefore,
  });
  let marks = 0;
  const mark = () => {
    if (marks++ >= MAX_MARKS) {
      clearInterval(ticker);
      return;
    }
    // A failed mark is no matter: the next one follows.
    socket.send(Buffer.alloc(0), () => undefined);
  };
  const ticker = setInterval(mark, MARK_INTERVAL_MS);
  mark();
}

/**
 * The sealed relay between a sealed sender and a sealed receiver: opens each datagram and seals it
 * again for the receiver at `port`, as a server relaying between two encrypted sessions must. An
 * empty datagram (the sender's end mark) passes as it is. Past {@link SENDS_OUTSTANDING} sends
 * whose callback has not come, a datagram is dropped (a router's full queue) and counted.
 *
 * @param {number} port
 */
async function relay(port) {
  const socket = await bindLoopback();
  let counter = 0;
  let outstanding = 0;
  let forwarded = 0;
  let rejected = 0;
  let dropped = 0;
  let sendErrors = 0;
  const done = () => {
    outstanding--;
  };
  socket.on('message', (datagram) => {
    if (datagram.length === 0) {
      socket.send(datagram, port, HOST, () => undefined);
      return;
    }
    const payload = openDatagram(DATAGRAM_KEYS.toRelay, datagram);
    if (payload === undefined) {
      rejected++;
      return;
    }
    if (outstanding >= SENDS_OUTSTANDING) {
      dropped++;
      return;
    }
    outstanding++;
    forwarded++;
    socket.send(sealDatagram(DATAGRAM_KEYS.toReceiver, counter++, payload), port, HOST, (error) => {
      if (error) sendErrors++;
      done();
    });
  });
  process.on('message', (message) => {
    if (/** @type {{ type: string }} */ (message).type === 'counts') {
      tellParent({
        type: 'counts',
        forwarded,
        rejected,
        dropped,
        sendErrors,
        cpuMilliseconds: cpuMilliseconds(),
      });
    }
  });
  tellParent({ type: 'listening', port: socket.address().port });
}

if (isMainModule(import.meta.url)) {
  const [role = '', ...rest] = process.argv.slice(2);
  guardChild(Number(rest.at(-1)));
  process.on('message', (message) => {
    if (/** @type {{ type: string }} */ (message).type === 'stop') process.exit(0);
  });
  const sealed = rest.includes('sealed');
  if (role === 'receive') await receive(sealed);
  else if (role === 'send') await send(rest[0] ?? '', Number(rest[1]), Number(rest[2]), sealed);
  else if (role === 'relay') await relay(Number(rest[0]));
  else throw new Error(`udp-raw: unknown role ${role}`);
  // The IPC channel keeps the process up until the parent says `stop` (or goes away).
}
