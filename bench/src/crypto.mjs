// @ts-check
/**
 * Crypto provider benchmark: the browser provider (`@lanchat/core/browser-crypto`, the noble
 * libraries) against node:crypto (`nodeCryptoProvider`), on the same inputs, for what the
 * protocol does: a full Noise XX handshake, sealing a 64,000-byte file chunk with each AEAD, and
 * SHA-256 of 1 MB (a file's digest). WebCrypto (`crypto.subtle`) is timed beside them for SHA-256
 * and AES-GCM, the operations it has: it answers with promises, which the synchronous protocol
 * machines cannot wait for, so it can only serve hashing a whole file before an offer.
 *
 * @module
 */

import { webcrypto } from 'node:crypto';
import { DEFAULT_NOISE_PROTOCOL, HandshakeState, nodeCryptoProvider } from '@lanchat/core';
import { browserCryptoProvider } from '@lanchat/core/browser-crypto';
import { bytesEqual, formatTable, measureInterleaved, median, roundSignificant } from './lib.mjs';

/** @typedef {import('@lanchat/core').CryptoProvider} CryptoProvider */

const ROUNDS = 5;
const HANDSHAKES = 100;
const CHUNK = 64_000;
const SEALS = 200;
const HASHED = 1_000_000;
const HASHES = 20;
/** @type {Uint8Array} */
const EMPTY = new Uint8Array(0);

/**
 * @param {CryptoProvider} crypto
 * @returns {Uint8Array} the last handshake hash
 */
function handshakes(crypto) {
  const initiatorStatic = crypto.generateX25519KeyPair();
  const responderStatic = crypto.generateX25519KeyPair();
  let hash = EMPTY;
  for (let index = 0; index < HANDSHAKES; index++) {
    const initiator = new HandshakeState({
      initiator: true,
      protocolName: DEFAULT_NOISE_PROTOCOL,
      staticKeyPair: initiatorStatic,
      crypto,
    });
    const responder = new HandshakeState({
      initiator: false,
      protocolName: DEFAULT_NOISE_PROTOCOL,
      staticKeyPair: responderStatic,
      crypto,
    });
    responder.readMessage(initiator.writeMessage());
    initiator.readMessage(responder.writeMessage());
    responder.readMessage(initiator.writeMessage());
    const left = initiator.split();
    const right = responder.split();
    if (!bytesEqual(left.handshakeHash, right.handshakeHash)) throw new Error('handshake differs');
    hash = left.handshakeHash;
  }
  return hash;
}

/**
 * @param {CryptoProvider} crypto
 * @param {'ChaChaPoly' | 'AESGCM'} cipher
 * @param {Uint8Array} chunk
 */
function seals(crypto, cipher, chunk) {
  const aead = crypto.aead(cipher, new Uint8Array(32).fill(1));
  const nonce = new Uint8Array(12);
  let sealed = EMPTY;
  for (let index = 0; index < SEALS; index++) sealed = aead.seal(nonce, EMPTY, chunk);
  return sealed.length;
}

/**
 * @param {CryptoProvider} crypto
 * @param {Uint8Array} data
 */
function hashes(crypto, data) {
  let digest = EMPTY;
  for (let index = 0; index < HASHES; index++) digest = crypto.hash('SHA256', [data]);
  return digest.length;
}

/** @param {(line: string) => void} print */
export async function runCrypto(print) {
  const chunk = new Uint8Array(CHUNK).fill(7);
  const data = new Uint8Array(HASHED).fill(9);
  const subtle = webcrypto.subtle;
  const aesKey = await subtle.importKey('raw', new Uint8Array(32).fill(1), 'AES-GCM', false, [
    'encrypt',
  ]);
  /** @type {{ key: string, label: string, count: number, unit: string, run: () => unknown }[]} */
  const contenders = [
    {
      key: 'handshakeNode',
      label: 'XX handshake, node:crypto',
      count: HANDSHAKES,
      unit: 'handshakes',
      run: () => handshakes(nodeCryptoProvider),
    },
    {
      key: 'handshakeBrowser',
      label: 'XX handshake, noble',
      count: HANDSHAKES,
      unit: 'handshakes',
      run: () => handshakes(browserCryptoProvider),
    },
    {
      key: 'chachaNode',
      label: 'ChaChaPoly seal 64 KB, node:crypto',
      count: SEALS * CHUNK,
      unit: 'B',
      run: () => seals(nodeCryptoProvider, 'ChaChaPoly', chunk),
    },
    {
      key: 'chachaBrowser',
      label: 'ChaChaPoly seal 64 KB, noble',
      count: SEALS * CHUNK,
      unit: 'B',
      run: () => seals(browserCryptoProvider, 'ChaChaPoly', chunk),
    },
    {
      key: 'aesNode',
      label: 'AES-GCM seal 64 KB, node:crypto',
      count: SEALS * CHUNK,
      unit: 'B',
      run: () => seals(nodeCryptoProvider, 'AESGCM', chunk),
    },
    {
      key: 'aesBrowser',
      label: 'AES-GCM seal 64 KB, noble',
      count: SEALS * CHUNK,
      unit: 'B',
      run: () => seals(browserCryptoProvider, 'AESGCM', chunk),
    },
    {
      key: 'aesWebCrypto',
      label: 'AES-GCM seal 64 KB, WebCrypto (async)',
      count: SEALS * CHUNK,
      unit: 'B',
      run: async () => {
        let sealed = 0;
        for (let index = 0; index < SEALS; index++) {
          const iv = new Uint8Array(12);
          sealed = (await subtle.encrypt({ name: 'AES-GCM', iv }, aesKey, chunk)).byteLength;
        }
        return sealed;
      },
    },
    {
      key: 'sha256Node',
      label: 'SHA-256 of 1 MB, node:crypto',
      count: HASHES * HASHED,
      unit: 'B',
      run: () => hashes(nodeCryptoProvider, data),
    },
    {
      key: 'sha256Browser',
      label: 'SHA-256 of 1 MB, noble',
      count: HASHES * HASHED,
      unit: 'B',
      run: () => hashes(browserCryptoProvider, data),
    },
    {
      key: 'sha256WebCrypto',
      label: 'SHA-256 of 1 MB, WebCrypto (async)',
      count: HASHES * HASHED,
      unit: 'B',
      run: async () => {
        let length = 0;
        for (let index = 0; index < HASHES; index++) {
          length = (await subtle.digest('SHA-256', data)).byteLength;
        }
        return length;
      },
    },
  ];
  const times = await measureInterleaved(contenders, ROUNDS, () => undefined);
  /** @type {Record<string, number>} */
  const perSecond = {};
  for (const contender of contenders) {
    perSecond[contender.key] = (contender.count * 1000) / median(times.get(contender.key) ?? []);
  }
  /** @param {string} mine @param {string} theirs */
  const ratio = (mine, theirs) =>
    roundSignificant((perSecond[mine] ?? 0) / (perSecond[theirs] ?? 1), 3);
  const rate = (/** @type {string} */ key, /** @type {string} */ unit) =>
    unit === 'B'
      ? `${roundSignificant((perSecond[key] ?? 0) / 1e6, 3)} MB/s`
      : `${roundSignificant(perSecond[key] ?? 0, 3)}/s`;
  print('crypto providers: noble (the browser provider) against node:crypto, medians of 5 rounds');
  const table = formatTable([
    ['operation', 'rate', 'of node:crypto'],
    ...contenders.map((contender) => {
      const base = contender.key.replace(/(Browser|WebCrypto|Node)$/, 'Node');
      return [
        contender.label,
        rate(contender.key, contender.unit),
        `${ratio(contender.key, base)}x`,
      ];
    }),
  ]);
  for (const line of table) print(line);
  return {
    perSecond: Object.fromEntries(
      Object.entries(perSecond).map(([key, value]) => [key, roundSignificant(value, 4)]),
    ),
    ratios: {
      handshake: ratio('handshakeBrowser', 'handshakeNode'),
      chacha: ratio('chachaBrowser', 'chachaNode'),
      aes: ratio('aesBrowser', 'aesNode'),
      aesWebCrypto: ratio('aesWebCrypto', 'aesNode'),
      sha256: ratio('sha256Browser', 'sha256Node'),
      sha256WebCrypto: ratio('sha256WebCrypto', 'sha256Node'),
    },
  };
}
