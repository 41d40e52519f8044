// @ts-check
/**
 * The sealed line protocol of the fan-out benchmark's ceiling contender: the bare relay's
 * newline-delimited text, but every write is one frame (a 4-byte big-endian length, then the
 * text's ChaCha20-Poly1305 ciphertext and tag under a counter nonce), sealed and opened with
 * node:crypto. Each connection has its own pair of cipher states, so the relay opens once per
 * read and seals once per recipient per read, as any relay with per-connection encryption must.
 *
 * It is no protocol: no handshake (fixed keys, the same on every connection, which costs the
 * same as keys of their own), no session layer, no acknowledgements, no records. It is what
 * node:crypto costs a relay that encrypts each connection, and nothing else: the most any
 * lanchat server could get from node:crypto on this machine.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import { createCipheriv, createDecipheriv } from 'node:crypto';

/** Largest plaintext of one frame, as in a Noise transport message. */
export const MAX_SEALED_PLAINTEXT = 65_535 - 16;

const TAG = 16;
/** Fixed keys: the ceiling has no handshake. Not secret, not for anything but this benchmark. */
const CLIENT_TO_SERVER = Buffer.alloc(32, 0x5a);
const SERVER_TO_CLIENT = Buffer.alloc(32, 0xa5);

/** One direction's cipher state: a key and a counter nonce. */
class Direction {
  /** @param {Buffer} key */
  constructor(key) {
    this.key = key;
    this.counter = 0;
    this.nonce = Buffer.alloc(12);
  }

  next() {
    this.nonce.writeUInt32LE(this.counter++ >>> 0, 4);
    return this.nonce;
  }
}

/**
 * Seals `plaintext` into one frame (length prefix, ciphertext, tag).
 *
 * @param {Direction} direction
 * @param {Uint8Array} plaintext
 * @returns {Buffer}
 */
function sealFrame(direction, plaintext) {
  const cipher = createCipheriv('chacha20-poly1305', direction.key, direction.next(), {
    authTagLength: TAG,
  });
  const frame = Buffer.allocUnsafe(4 + plaintext.length + TAG);
  frame.writeUInt32BE(plaintext.length + TAG, 0);
  cipher.update(plaintext).copy(frame, 4);
  cipher.final();
  cipher.getAuthTag().copy(frame, 4 + plaintext.length);
  return frame;
}

/**
 * One end of a sealed connection: seals what it sends, opens what it reads.
 */
export class SealedEnd {
  /** @param {'client' | 'server'} side */
  constructor(side) {
    this.out = new Direction(side === 'client' ? CLIENT_TO_SERVER : SERVER_TO_CLIENT);
    this.in = new Direction(side === 'client' ? SERVER_TO_CLIENT : CLIENT_TO_SERVER);
    /** @type {Buffer | undefined} */
    this.pending = undefined;
  }

  /**
   * Frames for `plaintext`, split at {@link MAX_SEALED_PLAINTEXT}; joined into one buffer to
   * write.
   *
   * @param {Uint8Array} plaintext
   * @returns {Buffer}
   */
  seal(plaintext) {
    if (plaintext.length <= MAX_SEALED_PLAINTEXT) return sealFrame(this.out, plaintext);
    /** @type {Buffer[]} */
    const frames = [];
    for (let at = 0; at < plaintext.length; at += MAX_SEALED_PLAINTEXT) {
      frames.push(sealFrame(this.out, plaintext.subarray(at, at + MAX_SEALED_PLAINTEXT)));
    }
    return Buffer.concat(frames);
  }

  /**
   * Opens the complete frames in what was read so far (keeping a partial one for the next
   * read), and returns their plaintexts joined.
   *
   * @param {Buffer} chunk
   * @returns {Buffer | undefined} undefined when no frame is complete yet
   * @throws when a frame fails authentication
   */
  open(chunk) {
    const data = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    /** @type {Buffer[]} */
    const plaintexts = [];
    let at = 0;
    while (data.length - at >= 4) {
      const length = data.readUInt32BE(at);
      if (data.length - at - 4 < length) break;
      const body = data.subarray(at + 4, at + 4 + length - TAG);
      const decipher = createDecipheriv('chacha20-poly1305', this.in.key, this.in.next(), {
        authTagLength: TAG,
      });
      decipher.setAuthTag(data.subarray(at + 4 + length - TAG, at + 4 + length));
      const plaintext = decipher.update(body);
      decipher.final();
      plaintexts.push(plaintext);
      at += 4 + length;
    }
    this.pending = at === data.length ? undefined : data.subarray(at);
    if (plaintexts.length === 0) return undefined;
    return plaintexts.length === 1 ? plaintexts[0] : Buffer.concat(plaintexts);
  }
}
