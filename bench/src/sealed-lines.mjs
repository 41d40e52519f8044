// @ts-check
/**
 * The sealed contenders: ceilings of what node:crypto allows the benchmarks' relays.
 *
 * - Stream (fan-out benchmark): the bare relay's newline-delimited text, but every write is one
 *   frame (a 4-byte big-endian length, then the text's ChaCha20-Poly1305 ciphertext and tag under
 *   a counter nonce), sealed and opened with node:crypto. Each connection has its own pair of
 *   cipher states, so a relay opens once per read and seals once per recipient per write, as any
 *   relay with per-connection encryption must.
 * - Datagram (UDP benchmark): each datagram sealed on its own under an explicit counter nonce;
 *   a relay opens each and seals it again for the next hop.
 * - Stream, AES-256-GCM (transfer benchmark, transfer-sealed.mjs): the same frames sealed by the
 *   sender and opened by the receiver only, end to end, the relay passing them on as they are.
 *
 * Neither is a protocol: no handshake (fixed keys, which cost the same as keys of their own), no
 * session layer, acknowledgements, resends or records. They are what node:crypto costs a relay
 * that encrypts each hop, and nothing else: the most any lanchat server could get from node:crypto
 * on this machine.
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

/**
 * @typedef {'chacha20-poly1305' | 'aes-256-gcm'} Algorithm the AEAD of a stream's frames:
 *   ChaCha20-Poly1305 (the Noise channel's) or AES-256-GCM (lanchat's file data, sealed end to end)
 */

/** One direction's cipher state: a key and a counter nonce. */
class Direction {
  /**
   * @param {Buffer} key
   * @param {Algorithm} algorithm
   */
  constructor(key, algorithm) {
    this.key = key;
    this.algorithm = algorithm;
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
  // Typed as one name: the overloads of node's types take no union.
  const algorithm = /** @type {'aes-256-gcm'} */ (direction.algorithm);
  const cipher = createCipheriv(algorithm, direction.key, direction.next(), {
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
  /**
   * @param {'client' | 'server'} side
   * @param {Algorithm} [algorithm] default ChaCha20-Poly1305
   * @param {number} [maxPlaintext] the most plaintext in one frame: default
   *   {@link MAX_SEALED_PLAINTEXT}, a Noise message's
   */
  constructor(side, algorithm = 'chacha20-poly1305', maxPlaintext = MAX_SEALED_PLAINTEXT) {
    this.maxPlaintext = maxPlaintext;
    this.out = new Direction(side === 'client' ? CLIENT_TO_SERVER : SERVER_TO_CLIENT, algorithm);
    this.in = new Direction(side === 'client' ? SERVER_TO_CLIENT : CLIENT_TO_SERVER, algorithm);
    /** @type {Buffer | undefined} */
    this.pending = undefined;
  }

  /**
   * Frames for `plaintext`, split at the most plaintext in one frame; joined into one buffer to
   * write.
   *
   * @param {Uint8Array} plaintext
   * @returns {Buffer}
   */
  seal(plaintext) {
    const most = this.maxPlaintext;
    if (plaintext.length <= most) return sealFrame(this.out, plaintext);
    /** @type {Buffer[]} */
    const frames = [];
    for (let at = 0; at < plaintext.length; at += most) {
      frames.push(sealFrame(this.out, plaintext.subarray(at, at + most)));
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
      const algorithm = /** @type {'aes-256-gcm'} */ (this.in.algorithm);
      const decipher = createDecipheriv(algorithm, this.in.key, this.in.next(), {
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

/**
 * The datagram form, for the UDP benchmark's ceiling (udp-raw.mjs): each datagram is an 8-byte
 * big-endian counter (the nonce, explicit, as datagrams may be lost or reordered), then the
 * ChaCha20-Poly1305 ciphertext of the payload and its tag. No replay window: a ceiling, not a
 * protocol.
 */
export const DATAGRAM_OVERHEAD = 8 + TAG;

/** Fixed keys of the two hops (sender to relay, relay to receiver): not secret. */
export const DATAGRAM_KEYS = Object.freeze({
  toRelay: Buffer.alloc(32, 0x3c),
  toReceiver: Buffer.alloc(32, 0xc3),
});

/**
 * Seals `payload` into one datagram under `key` and the counter `counter`.
 *
 * @param {Buffer} key
 * @param {number} counter
 * @param {Uint8Array} payload
 * @returns {Buffer}
 */
export function sealDatagram(key, counter, payload) {
  const datagram = Buffer.allocUnsafe(DATAGRAM_OVERHEAD + payload.length);
  datagram.writeUInt32BE(0, 0);
  datagram.writeUInt32BE(counter >>> 0, 4);
  const nonce = Buffer.alloc(12);
  datagram.copy(nonce, 4, 0, 8);
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
  cipher.update(payload).copy(datagram, 8);
  cipher.final();
  cipher.getAuthTag().copy(datagram, 8 + payload.length);
  return datagram;
}

/**
 * Opens a datagram of {@link sealDatagram}: its payload, or `undefined` if it fails
 * authentication (or is too short).
 *
 * @param {Buffer} key
 * @param {Buffer} datagram
 * @returns {Buffer | undefined}
 */
export function openDatagram(key, datagram) {
  if (datagram.length < DATAGRAM_OVERHEAD) return undefined;
  const nonce = Buffer.alloc(12);
  datagram.copy(nonce, 4, 0, 8);
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
  decipher.setAuthTag(datagram.subarray(datagram.length - TAG));
  const payload = decipher.update(datagram.subarray(8, datagram.length - TAG));
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return payload;
}
