// @ts-check
/**
 * The limit of the transfer benchmark: a plain copy of a file over one node:net socket on
 * loopback, between two processes, nothing on top (no framing, no crypto, no hashing on the way).
 *
 * - `node transfer-raw.mjs receive TARGET LIFETIME`: listens on 127.0.0.1 (port 0), says
 *   `{ type: 'listening', port }`, takes one connection and pipes it into a write stream on
 *   TARGET; once the file is closed it says `received` with the time of its close (epoch ms, see
 *   {@link epochNow}), the bytes written and its CPU time. Outside the measured window it then
 *   times an fsync of the file (lanchat's receiver syncs its file before reporting success, this
 *   one does not: the figure says what that costs) and hashes the file to check the copy. With
 *   TARGET `-` it writes nothing and only counts the bytes: the socket alone.
 * - `node transfer-raw.mjs send SOURCE PORT LIFETIME`: connects, then pipes a read stream of
 *   SOURCE into the socket (pipe honours backpressure), and says `sent` with the time the first
 *   byte went out and its CPU time once the socket has closed.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { pipeline } from 'node:stream/promises';
import { guardChild, isMainModule, tellParent } from './children.mjs';
import { listenLoopback } from './lib.mjs';

/** Bytes per read of the source file: large reads mean fewer system calls, the best case. */
export const READ_CHUNK = 1024 * 1024;

/**
 * Bytes the receiver's write stream buffers before it pushes back on the socket. With the
 * default (16 KiB) every 64 KiB read from the socket is one write of its own and a pause of the
 * socket; with 1 MiB the reads that come in while a write is under way go out together in one
 * writev: the best plain node does.
 */
export const WRITE_BUFFER = 1024 * 1024;

/**
 * The receiver's target that means: count the bytes and drop them, write no file (the socket
 * alone, for comparison with the copy).
 */
export const DISCARD = '-';

/**
 * Wall-clock time in ms with sub-millisecond resolution, comparable between processes of the
 * same machine (the time origin is the process's start on the system clock): the sender and the
 * receiver each take one end of the measured window.
 *
 * @returns {number}
 */
export function epochNow() {
  return performance.timeOrigin + performance.now();
}

/** @returns {number} CPU time (user + system) of this process so far, in ms */
export function cpuMilliseconds() {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/**
 * The kernel's part of {@link cpuMilliseconds}: system calls, copies into and out of socket
 * buffers and the page cache, page faults. The rest is user space (JavaScript, crypto, hashing).
 *
 * @returns {number} ms
 */
export function systemCpuMilliseconds() {
  return process.cpuUsage().system / 1000;
}

/**
 * SHA-256 of a file, read as a stream.
 *
 * @param {string} path
 * @returns {Promise<string>} hex
 */
export async function hashFile(path) {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: READ_CHUNK }), hash);
  return hash.digest('hex');
}

/**
 * Listens on 127.0.0.1 (port 0), says `{ type: 'listening', port }`, and resolves with the one
 * connection it takes: one copy per process, a second connection would be a bug of the benchmark,
 * not a contender.
 *
 * @param {string} name for errors
 * @returns {Promise<import('node:net').Socket>}
 */
export async function acceptOne(name) {
  /** @type {(socket: import('node:net').Socket) => void} */
  let onSocket = () => undefined;
  /** @type {Promise<import('node:net').Socket>} */
  const accepted = new Promise((resolve) => {
    onSocket = resolve;
  });
  const server = createServer((socket) => {
    server.close();
    onSocket(socket);
  });
  tellParent({ type: 'listening', port: await listenLoopback(server, name) });
  return accepted;
}

/**
 * @param {string} target
 */
async function receive(target) {
  const socket = await acceptOne('raw receiver');
  const cpuBefore = cpuMilliseconds();
  const systemBefore = systemCpuMilliseconds();
  let firstByteAt = NaN;
  socket.once('data', () => {
    firstByteAt = epochNow();
  });
  if (target === DISCARD) {
    let bytes = 0;
    socket.on('data', (chunk) => {
      bytes += chunk.length;
    });
    await new Promise((resolve, reject) => {
      socket.once('end', resolve);
      socket.once('error', reject);
    });
    tellParent({
      type: 'received',
      bytes,
      firstByteAt,
      closedAt: epochNow(),
      cpuMilliseconds: cpuMilliseconds() - cpuBefore,
      systemCpuMilliseconds: systemCpuMilliseconds() - systemBefore,
    });
    return;
  }
  const file = createWriteStream(target, { highWaterMark: WRITE_BUFFER });
  // pipeline resolves once the write stream has finished and closed its descriptor.
  await pipeline(socket, file);
  const closedAt = epochNow();
  const cpu = cpuMilliseconds() - cpuBefore;
  const system = systemCpuMilliseconds() - systemBefore;

  const syncStart = performance.now();
  const handle = await open(target, 'r+');
  await handle.sync();
  await handle.close();
  const fsyncMilliseconds = performance.now() - syncStart;

  tellParent({
    type: 'received',
    bytes: file.bytesWritten,
    firstByteAt,
    closedAt,
    cpuMilliseconds: cpu,
    systemCpuMilliseconds: system,
    fsyncMilliseconds,
    sha256: await hashFile(target),
  });
}

/**
 * @param {string} source
 * @param {number} port
 */
async function send(source, port) {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const cpuBefore = cpuMilliseconds();
  const systemBefore = systemCpuMilliseconds();
  const startedAt = epochNow();
  const file = createReadStream(source, { highWaterMark: READ_CHUNK });
  // pipeline ends the socket after the last byte and resolves once it has finished.
  await pipeline(file, socket);
  tellParent({
    type: 'sent',
    bytes: file.bytesRead,
    startedAt,
    cpuMilliseconds: cpuMilliseconds() - cpuBefore,
    systemCpuMilliseconds: systemCpuMilliseconds() - systemBefore,
  });
}

if (isMainModule(import.meta.url)) {
  const [role = '', ...rest] = process.argv.slice(2);
  guardChild(Number(rest.at(-1)));
  process.on('message', (message) => {
    if (/** @type {{ type: string }} */ (message).type === 'stop') process.exit(0);
  });
  if (role === 'receive') await receive(rest[0] ?? '');
  else if (role === 'send') await send(rest[0] ?? '', Number(rest[1]));
  else throw new Error(`transfer-raw: unknown role ${role}`);
  // The IPC channel keeps the process up until the parent says `stop` (or goes away).
}
