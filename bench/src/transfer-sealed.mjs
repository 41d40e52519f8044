// @ts-check
/**
 * The ceiling of the transfer benchmark: the limit's plain copy (transfer-raw.mjs), but through a
 * relay process and encrypted on each hop with node:crypto (the stream frames of
 * sealed-lines.mjs, ChaCha20-Poly1305, 64,000 bytes of the file in each): the sender seals, the
 * relay opens and seals again, the receiver opens and writes the file. That is the work any
 * relay of encrypted connections does to a file, and nothing else: no session, no transfer
 * protocol, no hashing, no fsync in the window (as the limit).
 *
 * - `node transfer-sealed.mjs receive TARGET LIFETIME`: as transfer-raw's receiver, opening what
 *   it reads; says `listening`, then `received` (closedAt, bytes, CPU) and, outside the window,
 *   the SHA-256 of the file written.
 * - `node transfer-sealed.mjs relay PORT LIFETIME`: listens, takes one connection, connects to
 *   PORT, and passes what it reads on, opened and sealed again; says `listening`, and answers
 *   `{ type: 'cpu' }` with its CPU time so far.
 * - `node transfer-sealed.mjs send SOURCE PORT LIFETIME`: reads SOURCE in 1 MiB blocks, seals
 *   them in 64,000-byte pieces and writes them, waiting for `drain` when the socket's buffer is
 *   full; says `sent` (startedAt, bytes, CPU) once the socket has closed.
 *
 * @module
 */

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
  hashFile,
  systemCpuMilliseconds,
} from './transfer-raw.mjs';

/** File bytes per sealed frame: lanchat's chunk size. */
const PIECE = 64_000;

/**
 * Opens what `input` carries and hands each plaintext to `take`, pausing `input` while `take`
 * says its output is full (false) until `drained` fires on `output`.
 *
 * @param {import('node:net').Socket} input
 * @param {SealedEnd} end
 * @param {(plaintext: Buffer) => boolean} take
 * @param {import('node:events').EventEmitter} output
 */
function pass(input, end, take, output) {
  input.on('data', (chunk) => {
    const plaintext = end.open(chunk);
    if (plaintext === undefined) return;
    if (!take(plaintext)) {
      input.pause();
      output.once('drain', () => input.resume());
    }
  });
}

/** @param {string} target */
async function receive(target) {
  const socket = await acceptOne('sealed receiver');
  const end = new SealedEnd('server');
  const cpuBefore = cpuMilliseconds();
  const systemBefore = systemCpuMilliseconds();
  const file = createWriteStream(target, { highWaterMark: WRITE_BUFFER });
  pass(socket, end, (plaintext) => file.write(plaintext), file);
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
    sha256: await hashFile(target),
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
  const fromSender = new SealedEnd('server');
  const toReceiver = new SealedEnd('client');
  pass(
    inbound,
    fromSender,
    (plaintext) => {
      let room = true;
      for (let at = 0; at < plaintext.length; at += PIECE) {
        room = outbound.write(toReceiver.seal(plaintext.subarray(at, at + PIECE)));
      }
      return room;
    },
    outbound,
  );
  inbound.once('end', () => outbound.end());
}

/**
 * @param {string} source
 * @param {number} port
 */
async function send(source, port) {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  const end = new SealedEnd('client');
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
