// @ts-check
/**
 * The ceiling of the transfer benchmark: the limit's plain copy (transfer-raw.mjs), but through a
 * relay process and sealed end to end, as lanchat seals file data (docs/protocol.md, section 9.9):
 * the sender seals the file in pieces of 256 KiB (lanchat's sealed chunk) with AES-256-GCM, the
 * relay passes the bytes on as they are, and the receiver opens each piece, takes the file's
 * SHA-256 as it goes (lanchat's receiver must check it: the "the final SHA-256 decides")
 * and writes the file. That is the least work a transfer encrypted through a relay and checked by
 * its hash can do, and nothing else: no session, no hop encryption of the small messages, no
 * transfer protocol, no fsync in the window (as the limit).
 *
 * - `node transfer-sealed.mjs receive TARGET LIFETIME`: as transfer-raw's receiver, opening and
 *   hashing what it reads; says `listening`, then `received` (closedAt, bytes, CPU, the SHA-256 it
 *   took).
 * - `node transfer-sealed.mjs relay PORT LIFETIME`: listens, takes one connection, connects to
 *   PORT, and pipes what it reads there; says `listening`, and answers `{ type: 'cpu' }` with its
 *   CPU time so far.
 * - `node transfer-sealed.mjs send SOURCE PORT LIFETIME`: reads SOURCE in 1 MiB blocks, seals
 *   them in 256 KiB pieces and writes them, waiting for `drain` when the socket's buffer is
 *   full; says `sent` (startedAt, bytes, CPU) once the socket has closed.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import { DEFAULT_SEALED_TRANSFER_CHUNK_SIZE } from '@lanchat/core';
import { createReadStream, createWriteStream } from 'node:fs';
import { connect } from 'node:net';
import process from 'node:process';
import { once } from 'node:events';
import { guardChild, isMainModule, tellParent } from './children.mjs';
import { SealedEnd } from './sealed-lines.mjs';
import {
  READ_CHUNK,
  WRITE_BUFFER,
  acceptOne,
  cpuMilliseconds,
  epochNow,
  systemCpuMilliseconds,
} from './transfer-raw.mjs';

/** File bytes per sealed piece: lanchat's chunk size for data sealed end to end. */
const PIECE = DEFAULT_SEALED_TRANSFER_CHUNK_SIZE;

/** lanchat's cipher for file data. */
const ALGORITHM = 'aes-256-gcm';

/** @param {string} target */
async function receive(target) {
  const socket = await acceptOne('sealed receiver');
  const end = new SealedEnd('server', ALGORITHM, PIECE);
  const hash = createHash('sha256');
  const cpuBefore = cpuMilliseconds();
  const systemBefore = systemCpuMilliseconds();
  const file = createWriteStream(target, { highWaterMark: WRITE_BUFFER });
  socket.on('data', (chunk) => {
    const plaintext = end.open(chunk);
    if (plaintext === undefined) return;
    hash.update(plaintext);
    if (!file.write(plaintext)) {
      socket.pause();
      file.once('drain', () => socket.resume());
    }
  });
  await once(socket, 'end');
  file.end();
  await once(file, 'close');
  const closedAt = epochNow();
  tellParent({
    type: 'received',
    bytes: file.bytesWritten,
    closedAt,
    cpuMilliseconds: cpuMilliseconds() - cpuBefore,
    systemCpuMilliseconds: systemCpuMilliseconds() - systemBefore,
    sha256: hash.digest('hex'),
  });
}

/** @param {number} port */
async function relay(port) {
  process.on('message', (message) => {
    if (/** @type {{ type: string }} */ (message).type === 'cpu') {
      tellParent({ type: 'cpu', milliseconds: cpuMilliseconds() });
    }
  });
  const inbound = await acceptOne('sealed relay');
  const outbound = connect({ host: '127.0.0.1', port });
  await once(outbound, 'connect');
  inbound.pipe(outbound);
}

/**
 * @param {string} source
 * @param {number} port
 */
async function send(source, port) {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  const end = new SealedEnd('client', ALGORITHM, PIECE);
  const cpuBefore = cpuMilliseconds();
  const systemBefore = systemCpuMilliseconds();
  const startedAt = epochNow();
  let bytes = 0;
  for await (const block of createReadStream(source, { highWaterMark: READ_CHUNK })) {
    const data = /** @type {Buffer} */ (block);
    bytes += data.length;
    let room = true;
    for (let at = 0; at < data.length; at += PIECE) {
      room = socket.write(end.seal(data.subarray(at, at + PIECE)));
    }
    if (!room) await once(socket, 'drain');
  }
  socket.end();
  await once(socket, 'close');
  tellParent({
    type: 'sent',
    bytes,
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
  else if (role === 'relay') await relay(Number(rest[0]));
  else if (role === 'send') await send(rest[0] ?? '', Number(rest[1]));
  else throw new Error(`transfer-sealed: unknown role ${role}`);
}
