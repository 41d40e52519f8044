/**
 * Handshake MACs and cookies for datagram transports (docs/protocol.md, section 7.1), after
 * WireGuard's: every handshake datagram a client sends to a server ends with two 16-byte MACs.
 *
 * - `mac1` is keyed by the server's static public key. Only a sender that knows the key can make
 *   it, and the server checks it before any Diffie-Hellman or allocation: a datagram without a
 *   valid mac1 costs the server one HMAC and is dropped.
 * - `mac2` is keyed by a cookie the server gave this source address. When the server is under load
 *   it answers a handshake whose mac1 is valid but whose mac2 is not with a cookie reply instead
 *   of processing it: small, stateless, and sent only to the address the datagram came from, so a
 *   forged source address gets nothing processed and at most one small reply.
 *
 * A cookie is an HMAC of the source address under a secret that changes every two minutes; the
 * reply carries it encrypted under a key derived from the server's public key, with the
 * datagram's mac1 as associated data, so that only the client that sent that datagram (and knows
 * the key) can read it.
 *
 * Sans-I/O: the server's adapter hands {@link CookieChecker} each handshake datagram with its
 * source address (any string that names it, such as `192.0.2.7:40000`) and whether it is under
 * load; the client's {@link CookieJar} keeps the cookie of a reply.
 *
 * @module
 */

import {
  AEAD_NONCE_LENGTH,
  AEAD_TAG_LENGTH,
  type CryptoProvider,
  X25519_KEY_LENGTH,
} from '../crypto/crypto-provider.js';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { encodeDatagramFrame } from '../frame/datagram-frame.js';
import { constantTimeEqual } from '../integrity/digest.js';
import { copyBytes } from '../util/bytes.js';

/** Bytes of each handshake MAC. */
export const HANDSHAKE_MAC_LENGTH = 16;
/** Bytes of a cookie. */
export const COOKIE_LENGTH = 16;
/** How long a cookie secret, and so a cookie, is good for, in ms: 2 minutes. */
export const COOKIE_LIFETIME = 120_000;
/** Datagram frame type of a cookie reply. */
export const COOKIE_REPLY_TYPE = 3;
/** Body of a cookie reply: receiver index, nonce, encrypted cookie and its tag. */
export const COOKIE_REPLY_BODY_LENGTH = 4 + AEAD_NONCE_LENGTH + COOKIE_LENGTH + AEAD_TAG_LENGTH;

const text = new TextEncoder();
const MAC1_LABEL = text.encode('lanchat mac1');
const COOKIE_LABEL = text.encode('lanchat cookie');
const EMPTY = new Uint8Array(0);

function checkKey(serverPublicKey: Uint8Array): void {
  if (!(serverPublicKey instanceof Uint8Array) || serverPublicKey.length !== X25519_KEY_LENGTH) {
    throw new InvalidArgumentError(`a server's public key is ${X25519_KEY_LENGTH} bytes`);
  }
}

/** The mac1 key of a server: SHA-256("lanchat mac1" || its static public key). */
export function mac1Key(serverPublicKey: Uint8Array, crypto = nodeCryptoProvider): Uint8Array {
  checkKey(serverPublicKey);
  return crypto.hash('SHA256', [MAC1_LABEL, serverPublicKey]);
}

/** The key of a server's cookie replies: SHA-256("lanchat cookie" || its static public key). */
export function cookieKey(serverPublicKey: Uint8Array, crypto = nodeCryptoProvider): Uint8Array {
  checkKey(serverPublicKey);
  return crypto.hash('SHA256', [COOKIE_LABEL, serverPublicKey]);
}

function mac(crypto: CryptoProvider, key: Uint8Array, data: Uint8Array): Uint8Array {
  return crypto.hmac('SHA256', key, [data]).subarray(0, HANDSHAKE_MAC_LENGTH);
}

/**
 * Appends mac1 and mac2 to a handshake datagram: mac1 over the datagram, keyed by `mac1Key`;
 * mac2 over the datagram and mac1, keyed by `cookie`, or 16 zero bytes without a cookie.
 */
export function appendHandshakeMacs(
  datagram: Uint8Array,
  key1: Uint8Array,
  cookie: Uint8Array | undefined,
  crypto: CryptoProvider = nodeCryptoProvider,
): Uint8Array {
  const output = new Uint8Array(datagram.length + 2 * HANDSHAKE_MAC_LENGTH);
  output.set(datagram, 0);
  output.set(mac(crypto, key1, datagram), datagram.length);
  if (cookie !== undefined) {
    const covered = output.subarray(0, datagram.length + HANDSHAKE_MAC_LENGTH);
    output.set(mac(crypto, cookie, covered), datagram.length + HANDSHAKE_MAC_LENGTH);
  }
  return output;
}

/** What {@link CookieChecker.check} decided about a handshake datagram. */
export type HandshakeMacVerdict =
  /** Process it (mac1 valid, and mac2 valid or not needed). Strip the MACs first. */
  | 'accept'
  /** Drop it silently: mac1 is wrong or missing. */
  | 'drop'
  /** Under load, without a valid mac2: answer with {@link CookieChecker.cookieReply} instead. */
  | 'send-cookie';

/** Options of a {@link CookieChecker}. */
export interface CookieCheckerOptions {
  /** The server's static public key. */
  readonly staticPublicKey: Uint8Array;
  readonly now: number;
  readonly crypto?: CryptoProvider;
}

/** The server's side: checks the MACs of handshake datagrams and makes cookie replies. */
export class CookieChecker {
  readonly #crypto: CryptoProvider;
  readonly #key1: Uint8Array;
  readonly #replyKey: Uint8Array;
  #secret: Uint8Array;
  #secretSince: number;

  /** @throws `InvalidArgumentError` for a key that is not 32 bytes. */
  constructor(options: CookieCheckerOptions) {
    this.#crypto = options.crypto ?? nodeCryptoProvider;
    this.#key1 = mac1Key(options.staticPublicKey, this.#crypto);
    this.#replyKey = cookieKey(options.staticPublicKey, this.#crypto);
    this.#secret = this.#crypto.randomBytes(32);
    this.#secretSince = options.now;
  }

  /**
   * Judges a handshake datagram (MACs included) from `source`. Cheap: one or two HMACs, no state
   * kept for the source.
   */
  check(
    datagram: Uint8Array,
    source: string,
    underLoad: boolean,
    now: number,
  ): HandshakeMacVerdict {
    if (datagram.length < 2 * HANDSHAKE_MAC_LENGTH) return 'drop';
    const end1 = datagram.length - 2 * HANDSHAKE_MAC_LENGTH;
    const end2 = datagram.length - HANDSHAKE_MAC_LENGTH;
    const expected1 = mac(this.#crypto, this.#key1, datagram.subarray(0, end1));
    if (!constantTimeEqual(expected1, datagram.subarray(end1, end2))) return 'drop';
    if (!underLoad) return 'accept';
    const expected2 = mac(this.#crypto, this.#cookie(source, now), datagram.subarray(0, end2));
    return constantTimeEqual(expected2, datagram.subarray(end2)) ? 'accept' : 'send-cookie';
  }

  /**
   * A cookie reply to a handshake datagram from `source` whose sender index is `senderIndex`:
   * a datagram frame of type {@link COOKIE_REPLY_TYPE}, to send back to `source` only.
   */
  cookieReply(datagram: Uint8Array, source: string, senderIndex: number, now: number): Uint8Array {
    if (!Number.isInteger(senderIndex) || senderIndex < 0 || senderIndex > 0xffff_ffff) {
      throw new InvalidArgumentError('a session index is a 32-bit unsigned integer');
    }
    if (datagram.length < 2 * HANDSHAKE_MAC_LENGTH) {
      throw new InvalidArgumentError('a handshake datagram ends with its two MACs');
    }
    const mac1 = datagram.subarray(
      datagram.length - 2 * HANDSHAKE_MAC_LENGTH,
      datagram.length - HANDSHAKE_MAC_LENGTH,
    );
    const nonce = this.#crypto.randomBytes(AEAD_NONCE_LENGTH);
    const sealed = this.#crypto
      .aead('ChaChaPoly', this.#replyKey)
      .seal(nonce, mac1, this.#cookie(source, now));
    const body = new Uint8Array(COOKIE_REPLY_BODY_LENGTH);
    new DataView(body.buffer).setUint32(0, senderIndex);
    body.set(nonce, 4);
    body.set(sealed, 4 + AEAD_NONCE_LENGTH);
    return encodeDatagramFrame({ type: COOKIE_REPLY_TYPE, body });
  }

  #cookie(source: string, now: number): Uint8Array {
    if (now - this.#secretSince >= COOKIE_LIFETIME) {
      this.#secret.fill(0);
      this.#secret = this.#crypto.randomBytes(32);
      this.#secretSince = now;
    }
    return mac(this.#crypto, this.#secret, text.encode(source));
  }
}

/**
 * The client's side: the mac1 key of the server, and the cookie of the last valid reply, kept for
 * {@link COOKIE_LIFETIME} less a margin.
 */
export class CookieJar {
  readonly #crypto: CryptoProvider;
  readonly #key1: Uint8Array;
  readonly #replyKey: Uint8Array;
  #cookie: Uint8Array | undefined;
  #cookieAt = 0;

  /** @throws `InvalidArgumentError` for a key that is not 32 bytes. */
  constructor(serverPublicKey: Uint8Array, crypto: CryptoProvider = nodeCryptoProvider) {
    this.#crypto = crypto;
    this.#key1 = mac1Key(serverPublicKey, crypto);
    this.#replyKey = cookieKey(serverPublicKey, crypto);
  }

  /** Appends mac1, and mac2 if a fresh cookie is held, to a handshake datagram. */
  seal(datagram: Uint8Array, now: number): Uint8Array {
    const fresh =
      this.#cookie !== undefined && now - this.#cookieAt < COOKIE_LIFETIME - COOKIE_LIFETIME / 12;
    return appendHandshakeMacs(
      datagram,
      this.#key1,
      fresh ? this.#cookie : undefined,
      this.#crypto,
    );
  }

  /**
   * Takes the body of a cookie reply to `sent` (the handshake datagram this side last sent, MACs
   * included). Returns true if it held a valid cookie, now kept; false (and nothing kept) for a
   * reply that does not decrypt under this server's key and that datagram's mac1.
   */
  receiveReply(body: Uint8Array, sent: Uint8Array, now: number): boolean {
    if (body.length !== COOKIE_REPLY_BODY_LENGTH || sent.length < 2 * HANDSHAKE_MAC_LENGTH) {
      return false;
    }
    const mac1 = sent.subarray(
      sent.length - 2 * HANDSHAKE_MAC_LENGTH,
      sent.length - HANDSHAKE_MAC_LENGTH,
    );
    const cookie = this.#crypto
      .aead('ChaChaPoly', this.#replyKey)
      .open(body.subarray(4, 4 + AEAD_NONCE_LENGTH), mac1, body.subarray(4 + AEAD_NONCE_LENGTH));
    if (cookie?.length !== COOKIE_LENGTH) return false;
    this.#cookie = copyBytes(cookie);
    this.#cookieAt = now;
    return true;
  }

  /** Forgets the cookie. */
  clear(): void {
    this.#cookie?.fill(0);
    this.#cookie = undefined;
  }
}

/** The receiver index a cookie reply names (its first 4 body bytes), or `undefined` if too short. */
export function cookieReplyIndex(body: Uint8Array): number | undefined {
  if (body.length !== COOKIE_REPLY_BODY_LENGTH) return undefined;
  return new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0);
}

/** The datagram without its two MACs. */
export function stripHandshakeMacs(datagram: Uint8Array): Uint8Array {
  return datagram.length < 2 * HANDSHAKE_MAC_LENGTH
    ? EMPTY
    : datagram.subarray(0, datagram.length - 2 * HANDSHAKE_MAC_LENGTH);
}
