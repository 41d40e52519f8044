// @ts-check
/**
 * Handshake benchmark: full Noise XX handshakes per second in one process (lanchat's
 * HandshakeState, both sides, three messages, both split), against the floor: the same number of
 * raw node:crypto X25519 key generations and Diffie-Hellman operations an XX handshake needs, on
 * KeyObjects, and nothing else. A second, instrumented measurement tells where the time of one
 * handshake goes.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
} from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DEFAULT_NOISE_PROTOCOL, HandshakeState, nodeCryptoProvider } from '@lanchat/core';
import {
  bytesEqual,
  collectGarbage,
  formatRate,
  formatTable,
  measureInterleaved,
  median,
  printToStdout,
  roundSignificant,
  roundTo,
} from './lib.mjs';

/** @typedef {import('@lanchat/core').CryptoProvider} CryptoProvider */
/** @typedef {import('@lanchat/core').X25519KeyPair} X25519KeyPair */
/** @typedef {import('node:crypto').KeyObject} KeyObject */
/** @typedef {import('./lib.mjs').Contender<Tally>} HandshakeContender */

/**
 * What a pass did: how many handshakes, and on how many both sides agreed (the same handshake
 * hash for ours, the same three shared secrets for the floor).
 *
 * @typedef {{ handshakes: number, agreed: number }} Tally
 */

const ROUNDS = 5;
/** Handshakes per pass: about 0.4 s for the floor on this machine. */
const HANDSHAKES = 1000;
/** lanchat's handshakes per second, as a multiple of the floor's. */
const TARGET = 0.7;
/** Per XX handshake: one ephemeral key pair per side. */
const KEY_GENERATIONS = 2;
/** Per XX handshake: ee, es, se on each side. */
const DH_OPERATIONS = 6;
/** Handshakes per instrumented pass, and passes (after one warm-up). */
const BREAKDOWN_HANDSHAKES = 500;
const BREAKDOWN_ROUNDS = 3;
/** Operations per pass when timing one raw node:crypto operation alone. */
const UNIT_OPERATIONS = 1000;

const EMPTY = new Uint8Array(0);
const PROBE = new TextEncoder().encode('transport keys agree');
// The fixed DER prefix of an SPKI X25519 public key: what @lanchat/core's provider wraps a raw
// public key in before createPublicKey (at the time of writing).
const SPKI_X25519_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00,
]);

/**
 * Ours, as the channel drives it: a fresh HandshakeState per side (ephemeral keys generated inside,
 * as in real use), the three XX messages, then split() on both sides.
 *
 * @param {X25519KeyPair} initiatorStatic
 * @param {X25519KeyPair} responderStatic
 * @param {number} count
 * @param {CryptoProvider} [crypto] default the package's own default (node:crypto)
 * @returns {Tally}
 */
function runLanchat(initiatorStatic, responderStatic, count, crypto) {
  const extra = crypto === undefined ? {} : { crypto };
  let agreed = 0;
  for (let i = 0; i < count; i++) {
    const initiator = new HandshakeState({
      initiator: true,
      staticKeyPair: initiatorStatic,
      ...extra,
    });
    const responder = new HandshakeState({
      initiator: false,
      staticKeyPair: responderStatic,
      ...extra,
    });
    responder.readMessage(initiator.writeMessage()); // -> e
    initiator.readMessage(responder.writeMessage()); // <- e, ee, s, es
    responder.readMessage(initiator.writeMessage()); // -> s, se
    const initiatorResult = initiator.split();
    const responderResult = responder.split();
    if (bytesEqual(initiatorResult.handshakeHash, responderResult.handshakeHash)) agreed++;
    if (i === count - 1) {
      // Once per pass, the deeper check: each side learnt the other's static key, and the
      // transport keys of the two sides fit together.
      const sealed = initiatorResult.send.encryptWithAd(EMPTY, PROBE);
      const opened = responderResult.receive.decryptWithAd(EMPTY, sealed);
      if (
        !bytesEqual(opened, PROBE) ||
        !bytesEqual(initiatorResult.remoteStaticKey ?? EMPTY, responderStatic.publicKey) ||
        !bytesEqual(responderResult.remoteStaticKey ?? EMPTY, initiatorStatic.publicKey)
      ) {
        throw new Error('lanchat handshake: the two sides do not agree on keys');
      }
    }
  }
  return { handshakes: count, agreed };
}

/**
 * The floor: exactly the asymmetric operations of an XX handshake on KeyObjects, nothing else: two
 * ephemeral key generations and the six DH operations (ee, es, se on each side). Static key pairs
 * are made once, outside, as for ours.
 *
 * @param {{ privateKey: KeyObject, publicKey: KeyObject }} initiatorStatic
 * @param {{ privateKey: KeyObject, publicKey: KeyObject }} responderStatic
 * @param {number} count
 * @returns {Tally}
 */
function runFloor(initiatorStatic, responderStatic, count) {
  let agreed = 0;
  for (let i = 0; i < count; i++) {
    if (floorHandshake(initiatorStatic, responderStatic)) agreed++;
  }
  return { handshakes: count, agreed };
}

/**
 * The floor's work for one handshake: two ephemeral key generations and the six DH operations.
 *
 * @param {{ privateKey: KeyObject, publicKey: KeyObject }} initiatorStatic
 * @param {{ privateKey: KeyObject, publicKey: KeyObject }} responderStatic
 * @returns {boolean} whether both sides got the same three secrets
 */
function floorHandshake(initiatorStatic, responderStatic) {
  const initiatorEphemeral = generateKeyPairSync('x25519');
  const responderEphemeral = generateKeyPairSync('x25519');
  // Initiator: ee, es, se.
  const ee1 = diffieHellman({
    privateKey: initiatorEphemeral.privateKey,
    publicKey: responderEphemeral.publicKey,
  });
  const es1 = diffieHellman({
    privateKey: initiatorEphemeral.privateKey,
    publicKey: responderStatic.publicKey,
  });
  const se1 = diffieHellman({
    privateKey: initiatorStatic.privateKey,
    publicKey: responderEphemeral.publicKey,
  });
  // Responder: ee, es, se.
  const ee2 = diffieHellman({
    privateKey: responderEphemeral.privateKey,
    publicKey: initiatorEphemeral.publicKey,
  });
  const es2 = diffieHellman({
    privateKey: responderStatic.privateKey,
    publicKey: initiatorEphemeral.publicKey,
  });
  const se2 = diffieHellman({
    privateKey: responderEphemeral.privateKey,
    publicKey: initiatorStatic.publicKey,
  });
  return bytesEqual(ee1, ee2) && bytesEqual(es1, es2) && bytesEqual(se1, se2);
}

/**
 * One node:crypto call of a lanchat handshake besides X25519, with the sizes of its inputs.
 *
 * @typedef {{ kind: 'hash', length: number }
 *   | { kind: 'hmac', keyLength: number, length: number }
 *   | { kind: 'seal' | 'open', adLength: number, length: number }} SymmetricCall
 */

/**
 * The hash, HMAC and AEAD calls one lanchat XX handshake (both sides) makes, in order, as its
 * crypto provider sees them: what the ceiling contender replays.
 *
 * @param {X25519KeyPair} initiatorStatic
 * @param {X25519KeyPair} responderStatic
 * @returns {SymmetricCall[]}
 */
function recordSymmetricCalls(initiatorStatic, responderStatic) {
  /** @type {SymmetricCall[]} */
  const calls = [];
  /** @param {Uint8Array | readonly Uint8Array[]} data */
  const lengthOf = (data) =>
    data instanceof Uint8Array ? data.length : data.reduce((sum, part) => sum + part.length, 0);
  const base = nodeCryptoProvider;
  /** @type {CryptoProvider} */
  const recorder = {
    name: `${base.name} (recorded)`,
    generateX25519KeyPair: () => base.generateX25519KeyPair(),
    x25519PublicKey: (privateKey) => base.x25519PublicKey(privateKey),
    x25519: (privateKey, publicKey) => base.x25519(privateKey, publicKey),
    randomBytes: (length) => base.randomBytes(length),
    hash: (hash, data) => {
      calls.push({ kind: 'hash', length: lengthOf(data) });
      return base.hash(hash, data);
    },
    hmac: (hash, key, data) => {
      calls.push({ kind: 'hmac', keyLength: key.length, length: lengthOf(data) });
      return base.hmac(hash, key, data);
    },
    aead: (cipher, key) => {
      const aead = base.aead(cipher, key);
      return {
        seal: (nonce, associatedData, plaintext, reserve) => {
          calls.push({
            kind: 'seal',
            adLength: associatedData.length,
            length: lengthOf(plaintext),
          });
          return aead.seal(nonce, associatedData, plaintext, reserve);
        },
        open: (nonce, associatedData, ciphertext) => {
          calls.push({ kind: 'open', adLength: associatedData.length, length: ciphertext.length });
          return aead.open(nonce, associatedData, ciphertext);
        },
      };
    },
  };
  const initiator = new HandshakeState({
    initiator: true,
    staticKeyPair: initiatorStatic,
    crypto: recorder,
  });
  const responder = new HandshakeState({
    initiator: false,
    staticKeyPair: responderStatic,
    crypto: recorder,
  });
  responder.readMessage(initiator.writeMessage());
  initiator.readMessage(responder.writeMessage());
  responder.readMessage(initiator.writeMessage());
  initiator.split();
  responder.split();
  return calls;
}

/**
 * The ceiling of any XX handshake built on node:crypto: the floor's X25519 work, plus the calls
 * no implementation can skip, made straight on node:crypto with nothing around them: the 4 public
 * key imports (each side receives the other's ephemeral and static key as 32 bytes, and
 * node:crypto computes only on KeyObjects) and every hash, HMAC and AEAD call of a lanchat
 * handshake, replayed with the same input sizes (`calls`, from {@link recordSymmetricCalls}). No
 * state machine, no key bookkeeping, no copies: lanchat can only be slower than this.
 *
 * @param {{ privateKey: KeyObject, publicKey: KeyObject }} initiatorStatic
 * @param {{ privateKey: KeyObject, publicKey: KeyObject }} responderStatic
 * @param {readonly SymmetricCall[]} calls
 * @param {number} count
 * @returns {() => Tally}
 */
function nodeCeiling(initiatorStatic, responderStatic, calls, count) {
  const key = randomBytes(32);
  const nonce = Buffer.alloc(12);
  const longest = Math.max(64, ...calls.map((call) => call.length));
  const input = randomBytes(longest);
  const associated = randomBytes(64);
  const jwk = { kty: 'OKP', crv: 'X25519', x: randomBytes(32).toString('base64url') };
  /**
   * Ciphertexts for the replayed opens, sealed beforehand under the same key, nonce and
   * associated data, so that each open checks a genuine tag.
   */
  const sealed = calls.map((call) => {
    if (call.kind !== 'open') return Buffer.alloc(0);
    const plaintextLength = call.length - 16;
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    if (call.adLength > 0) {
      cipher.setAAD(associated.subarray(0, call.adLength), { plaintextLength });
    }
    const body = cipher.update(input.subarray(0, plaintextLength));
    cipher.final();
    return Buffer.concat([body, cipher.getAuthTag()]);
  });
  const opens = calls.filter((call) => call.kind === 'open').length;
  return () => {
    let agreed = 0;
    for (let i = 0; i < count; i++) {
      const secretsAgree = floorHandshake(initiatorStatic, responderStatic);
      for (let imported = 0; imported < 4; imported++) createPublicKey({ key: jwk, format: 'jwk' });
      let opened = 0;
      for (const [index, call] of calls.entries()) {
        switch (call.kind) {
          case 'hash':
            createHash('sha256').update(input.subarray(0, call.length)).digest();
            break;
          case 'hmac':
            createHmac('sha256', key.subarray(0, call.keyLength))
              .update(input.subarray(0, call.length))
              .digest();
            break;
          case 'seal': {
            const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
            if (call.adLength > 0) {
              cipher.setAAD(associated.subarray(0, call.adLength), {
                plaintextLength: call.length,
              });
            }
            const body = cipher.update(input.subarray(0, call.length));
            cipher.final();
            Buffer.concat([body, cipher.getAuthTag()]);
            break;
          }
          case 'open': {
            const ciphertext = /** @type {Buffer} */ (sealed[index]);
            const length = ciphertext.length - 16;
            const decipher = createDecipheriv('chacha20-poly1305', key, nonce, {
              authTagLength: 16,
            });
            decipher.setAuthTag(ciphertext.subarray(length));
            if (call.adLength > 0) {
              decipher.setAAD(associated.subarray(0, call.adLength), { plaintextLength: length });
            }
            decipher.update(ciphertext.subarray(0, length));
            decipher.final(); // throws on a bad tag
            opened++;
            break;
          }
        }
      }
      if (secretsAgree && opened === opens) agreed++;
    }
    return { handshakes: count, agreed };
  };
}

/**
 * @param {HandshakeContender} contender
 * @param {Tally} tally
 * @param {number} expected
 */
function verify(contender, tally, expected) {
  if (tally.handshakes !== expected || tally.agreed !== expected) {
    throw new Error(
      `${contender.label} FAILED: ${tally.agreed} of ${tally.handshakes} handshakes agreed, ` +
        `expected ${expected} of ${expected}`,
    );
  }
}

/**
 * A provider that forwards to `base` and adds the wall time of every call to `totals`, by method.
 * The timer costs well under a microsecond per call, against tens per call timed.
 *
 * @param {CryptoProvider} base
 * @param {Map<string, { calls: number, milliseconds: number }>} totals
 * @returns {CryptoProvider}
 */
function timingProvider(base, totals) {
  /**
   * @template T
   * @param {string} name
   * @param {() => T} call
   * @returns {T}
   */
  const timed = (name, call) => {
    const start = performance.now();
    try {
      return call();
    } finally {
      const total = totals.get(name) ?? { calls: 0, milliseconds: 0 };
      total.calls++;
      total.milliseconds += performance.now() - start;
      totals.set(name, total);
    }
  };
  return {
    name: `${base.name} (timed)`,
    generateX25519KeyPair: () => timed('generateX25519KeyPair', () => base.generateX25519KeyPair()),
    x25519PublicKey: (privateKey) =>
      timed('x25519PublicKey', () => base.x25519PublicKey(privateKey)),
    x25519: (privateKey, publicKey) => timed('x25519', () => base.x25519(privateKey, publicKey)),
    aead: (cipher, key) => {
      const aead = timed('aead', () => base.aead(cipher, key));
      return {
        seal: (nonce, associatedData, plaintext, reserve) =>
          timed('seal', () => aead.seal(nonce, associatedData, plaintext, reserve)),
        open: (nonce, associatedData, ciphertext) =>
          timed('open', () => aead.open(nonce, associatedData, ciphertext)),
      };
    },
    hash: (hash, data) => timed('hash', () => base.hash(hash, data)),
    hmac: (hash, key, data) => timed('hmac', () => base.hmac(hash, key, data)),
    randomBytes: (length) => timed('randomBytes', () => base.randomBytes(length)),
  };
}

/**
 * Microseconds per call of `operation`, the median of three passes after a warm-up.
 *
 * @param {() => unknown} operation
 * @returns {number}
 */
function unitMicroseconds(operation) {
  /** @type {number[]} */
  const passes = [];
  for (let pass = 0; pass < 4; pass++) {
    collectGarbage();
    const start = performance.now();
    for (let i = 0; i < UNIT_OPERATIONS; i++) operation();
    if (pass > 0) passes.push(((performance.now() - start) * 1000) / UNIT_OPERATIONS);
  }
  return median(passes);
}

/** Provider methods in the order the breakdown lists them, with what each one is for. */
const METHOD_NOTES = /** @type {const} */ ([
  ['x25519', 'DH: peer key import (JWK) + diffieHellman'],
  ['generateX25519KeyPair', 'ephemeral key: random bytes, JWK import, public key export'],
  ['hmac', 'HKDF: 3 HMAC-SHA256 per MixKey and Split (cheaper than one hkdfSync call)'],
  ['hash', 'MixHash: SHA-256'],
  ['aead', 'cipher key setup per MixKey and Split'],
  ['seal', 'EncryptAndHash: ChaCha20-Poly1305'],
  ['open', 'DecryptAndHash: ChaCha20-Poly1305'],
  ['randomBytes', ''],
  ['x25519PublicKey', ''],
]);

/**
 * Where the time of one lanchat handshake goes: every provider call timed, the rest is the state
 * machine's own JavaScript and garbage collection. Unit costs of the raw node:crypto operations
 * say how much of the provider's X25519 time is the floor's work and how much is key format
 * conversion.
 *
 * @param {X25519KeyPair} initiatorStatic
 * @param {X25519KeyPair} responderStatic
 * @param {number} floorMicroseconds the floor's median time per handshake
 */
function measureBreakdown(initiatorStatic, responderStatic, floorMicroseconds) {
  /** @type {Map<string, number[]>} */
  const perMethod = new Map();
  /** @type {Map<string, number>} */
  const callsPerHandshake = new Map();
  /** @type {number[]} */
  const totals = [];
  for (let pass = 0; pass <= BREAKDOWN_ROUNDS; pass++) {
    /** @type {Map<string, { calls: number, milliseconds: number }>} */
    const methodTotals = new Map();
    const crypto = timingProvider(nodeCryptoProvider, methodTotals);
    collectGarbage();
    const start = performance.now();
    const tally = runLanchat(initiatorStatic, responderStatic, BREAKDOWN_HANDSHAKES, crypto);
    const milliseconds = performance.now() - start;
    if (tally.agreed !== BREAKDOWN_HANDSHAKES) {
      throw new Error('lanchat handshake (instrumented) FAILED: the sides did not agree');
    }
    if (pass === 0) continue; // warm-up
    totals.push((milliseconds * 1000) / BREAKDOWN_HANDSHAKES);
    for (const [name, total] of methodTotals) {
      // The once-per-pass transport check adds one seal and one open; it rounds away.
      callsPerHandshake.set(name, Math.round(total.calls / BREAKDOWN_HANDSHAKES));
      const values = perMethod.get(name) ?? [];
      values.push((total.milliseconds * 1000) / BREAKDOWN_HANDSHAKES);
      perMethod.set(name, values);
    }
  }

  const total = median(totals);
  /** @type {Record<string, { calls: number, microsecondsPerHandshake: number }>} */
  const methods = {};
  let accounted = 0;
  for (const [name] of METHOD_NOTES) {
    const values = perMethod.get(name);
    if (values === undefined) continue;
    const microseconds = median(values);
    accounted += microseconds;
    methods[name] = {
      calls: callsPerHandshake.get(name) ?? 0,
      microsecondsPerHandshake: roundSignificant(microseconds, 3),
    };
  }
  const other = Math.max(0, total - accounted);

  // Raw unit costs, on this machine, now.
  const pair = generateKeyPairSync('x25519');
  const peer = generateKeyPairSync('x25519');
  const rawPublic = new Uint8Array(
    pair.publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519_PREFIX.length),
  );
  const spki = new Uint8Array(SPKI_X25519_PREFIX.length + rawPublic.length);
  spki.set(SPKI_X25519_PREFIX, 0);
  spki.set(rawPublic, SPKI_X25519_PREFIX.length);
  const jwk = { kty: 'OKP', crv: 'X25519', x: Buffer.from(rawPublic).toString('base64url') };
  const unit = {
    generateKeyPair: unitMicroseconds(() => generateKeyPairSync('x25519')),
    diffieHellman: unitMicroseconds(() =>
      diffieHellman({ privateKey: pair.privateKey, publicKey: peer.publicKey }),
    ),
    importPublicDerSpki: unitMicroseconds(() =>
      createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }),
    ),
    // Importing is safe with JWK. Exporting JWK is deliberately not timed: see the report.
    importPublicJwk: unitMicroseconds(() => createPublicKey({ key: jwk, format: 'jwk' })),
    exportPublicDerSpki: unitMicroseconds(() =>
      pair.publicKey.export({ format: 'der', type: 'spki' }),
    ),
    exportPrivateDerPkcs8: unitMicroseconds(() =>
      pair.privateKey.export({ format: 'der', type: 'pkcs8' }),
    ),
  };

  const x25519 = methods['x25519'];
  const keyPairs = methods['generateX25519KeyPair'];
  const dhCalls = x25519?.calls ?? 0;
  const keyPairCalls = keyPairs?.calls ?? 0;
  // What the provider spends beyond the floor's own operations: converting keys between raw bytes
  // and KeyObjects.
  const conversion =
    Math.max(0, (x25519?.microsecondsPerHandshake ?? 0) - dhCalls * unit.diffieHellman) +
    Math.max(0, (keyPairs?.microsecondsPerHandshake ?? 0) - keyPairCalls * unit.generateKeyPair);
  const symmetric = ['hmac', 'hash', 'aead', 'seal', 'open'].reduce(
    (sum, name) => sum + (methods[name]?.microsecondsPerHandshake ?? 0),
    0,
  );
  /** @param {number} microseconds */
  const share = (microseconds) => `${Math.round((microseconds / total) * 100)}%`;
  const explanation =
    `of ${total.toFixed(0)} us per handshake (floor ${floorMicroseconds.toFixed(0)} us), ` +
    `key conversion raw<->KeyObject in the provider takes ${conversion.toFixed(0)} us ` +
    `(${share(conversion)}; the provider imports keys as JWK: ` +
    `${unit.importPublicJwk.toFixed(0)} us per public key, where DER would cost ` +
    `${unit.importPublicDerSpki.toFixed(0)} us, against ${unit.diffieHellman.toFixed(0)} us ` +
    `per DH); HKDF, hash and AEAD ${symmetric.toFixed(0)} us (${share(symmetric)}); ` +
    `JavaScript and GC ${other.toFixed(0)} us (${share(other)})`;

  return {
    handshakes: BREAKDOWN_HANDSHAKES,
    rounds: BREAKDOWN_ROUNDS,
    microsecondsPerHandshake: roundSignificant(total, 3),
    floorMicrosecondsPerHandshake: roundSignificant(floorMicroseconds, 3),
    methods,
    otherMicrosecondsPerHandshake: roundSignificant(other, 3),
    keyConversionMicrosecondsPerHandshake: roundSignificant(conversion, 3),
    symmetricMicrosecondsPerHandshake: roundSignificant(symmetric, 3),
    rawUnitMicroseconds: Object.fromEntries(
      Object.entries(unit).map(([name, value]) => [name, roundSignificant(value, 3)]),
    ),
    explanation,
  };
}

/**
 * Runs the handshake benchmark, prints the human-readable report line by line, and returns the
 * result for the final JSON line.
 *
 * @param {(line: string) => void} [print]
 */
export async function runHandshake(print = printToStdout) {
  print(
    `handshake: ${DEFAULT_NOISE_PROTOCOL}, ${HANDSHAKES.toLocaleString('en-US')} full handshakes ` +
      `per pass (both sides, 3 messages, both split), ${ROUNDS} measured rounds after 1 warm-up, ` +
      `interleaved, median reported`,
  );
  print(
    `floor: per handshake ${KEY_GENERATIONS} x generateKeyPairSync('x25519') + ` +
      `${DH_OPERATIONS} x diffieHellman() on KeyObjects, nothing else; static keys made once ` +
      `outside the loop for both`,
  );

  const lanchatInitiator = nodeCryptoProvider.generateX25519KeyPair();
  const lanchatResponder = nodeCryptoProvider.generateX25519KeyPair();
  const floorInitiator = generateKeyPairSync('x25519');
  const floorResponder = generateKeyPairSync('x25519');
  const symmetricCalls = recordSymmetricCalls(lanchatInitiator, lanchatResponder);
  /** @param {SymmetricCall['kind']} kind */
  const callsOf = (kind) => symmetricCalls.filter((call) => call.kind === kind).length;
  print(
    `node:crypto ceiling: the floor, plus 4 X25519 public key imports (JWK) and the ` +
      `${callsOf('hash')} SHA-256, ${callsOf('hmac')} HMAC-SHA256, ${callsOf('seal')} seal and ` +
      `${callsOf('open')} open calls (ChaCha20-Poly1305, key setup included) of one lanchat XX ` +
      `handshake, replayed at the same input sizes straight on node:crypto, with no protocol ` +
      `around them: no XX handshake on node:crypto can be faster`,
  );

  /** @type {readonly HandshakeContender[]} */
  const contenders = [
    {
      key: 'lanchat',
      label: 'lanchat HandshakeState (XX)',
      run: () => runLanchat(lanchatInitiator, lanchatResponder, HANDSHAKES),
    },
    {
      key: 'floor',
      label: 'floor (raw node:crypto X25519)',
      run: () => runFloor(floorInitiator, floorResponder, HANDSHAKES),
    },
    {
      key: 'ceiling',
      label: 'node:crypto ceiling (floor + imports + XX calls)',
      run: nodeCeiling(floorInitiator, floorResponder, symmetricCalls, HANDSHAKES),
    },
  ];
  const milliseconds = await measureInterleaved(contenders, ROUNDS, (contender, tally) => {
    verify(contender, tally, HANDSHAKES);
  });

  /** @param {string} key */
  const secondsOf = (key) => median(milliseconds.get(key) ?? []) / 1000;
  const ratio = secondsOf('floor') / secondsOf('lanchat');
  const ceiling = secondsOf('floor') / secondsOf('ceiling');
  const ofCeiling = secondsOf('ceiling') / secondsOf('lanchat');

  /** @type {Record<string, { handshakesPerSecond: number, microsecondsPerHandshake: number, medianMilliseconds: number, roundMilliseconds: number[] }>} */
  const results = {};
  const rows = [['', 'handshakes/s', 'us/handshake', 'median ms', 'lanchat / this']];
  for (const contender of contenders) {
    const seconds = secondsOf(contender.key);
    results[contender.key] = {
      handshakesPerSecond: roundSignificant(HANDSHAKES / seconds, 3),
      microsecondsPerHandshake: roundSignificant((seconds * 1e6) / HANDSHAKES, 3),
      medianMilliseconds: roundTo(seconds * 1000, 1),
      roundMilliseconds: (milliseconds.get(contender.key) ?? []).map((ms) => roundTo(ms, 1)),
    };
    rows.push([
      contender.label,
      formatRate(HANDSHAKES / seconds),
      ((seconds * 1e6) / HANDSHAKES).toFixed(0),
      (seconds * 1000).toFixed(1),
      `${(secondsOf(contender.key) / secondsOf('lanchat')).toFixed(2)}x`,
    ]);
  }
  for (const line of formatTable(rows)) print(`  ${line}`);
  const met = ratio >= TARGET;
  print(
    `  target: lanchat >= ${TARGET}x the floor: ${ratio.toFixed(2)}x, ` + (met ? 'met' : 'NOT MET'),
  );
  print(
    `  the node:crypto ceiling is ${ceiling.toFixed(2)}x the floor` +
      (ceiling < TARGET ? ` (below the ${TARGET}x target: out of reach on node:crypto)` : '') +
      `; lanchat runs at ${ofCeiling.toFixed(2)}x the ceiling`,
  );

  const breakdown = measureBreakdown(
    lanchatInitiator,
    lanchatResponder,
    (secondsOf('floor') * 1e6) / HANDSHAKES,
  );
  print(
    `  where one lanchat handshake's time goes (every provider call timed, ` +
      `${BREAKDOWN_HANDSHAKES} handshakes x ${BREAKDOWN_ROUNDS} passes of their own, median):`,
  );
  const breakdownRows = [['  provider call', 'calls', 'us/handshake', 'share', 'what']];
  for (const [name, note] of METHOD_NOTES) {
    const method = breakdown.methods[name];
    if (method === undefined) continue;
    breakdownRows.push([
      `  ${name}`,
      String(method.calls),
      method.microsecondsPerHandshake.toFixed(0),
      `${Math.round((method.microsecondsPerHandshake / breakdown.microsecondsPerHandshake) * 100)}%`,
      note,
    ]);
  }
  breakdownRows.push([
    '  (not in the provider)',
    '',
    breakdown.otherMicrosecondsPerHandshake.toFixed(0),
    `${Math.round((breakdown.otherMicrosecondsPerHandshake / breakdown.microsecondsPerHandshake) * 100)}%`,
    'HandshakeState/SymmetricState JavaScript, GC',
  ]);
  breakdownRows.push([
    '  total',
    '',
    breakdown.microsecondsPerHandshake.toFixed(0),
    '100%',
    `the floor: ${breakdown.floorMicrosecondsPerHandshake.toFixed(0)} us`,
  ]);
  for (const line of formatTable(breakdownRows)) print(`  ${line}`);
  const unit = breakdown.rawUnitMicroseconds;
  print(
    `  raw node:crypto unit costs (us): ${Object.entries(unit)
      .map(([name, value]) => `${name} ${value}`)
      .join(', ')}`,
  );
  print(`  bound: ${breakdown.explanation}`);

  return {
    benchmark: 'handshake',
    protocol: DEFAULT_NOISE_PROTOCOL,
    handshakesPerPass: HANDSHAKES,
    rounds: ROUNDS,
    warmupRounds: 1,
    floorOperationsPerHandshake: {
      x25519KeyGenerations: KEY_GENERATIONS,
      diffieHellman: DH_OPERATIONS,
    },
    results,
    ratios: {
      lanchatVsFloor: roundTo(ratio, 2),
      ceilingVsFloor: roundTo(ceiling, 2),
      lanchatVsCeiling: roundTo(ofCeiling, 2),
    },
    symmetricCallsPerHandshake: {
      hash: callsOf('hash'),
      hmac: callsOf('hmac'),
      seal: callsOf('seal'),
      open: callsOf('open'),
    },
    targets: { vsFloor: { target: TARGET, actual: roundTo(ratio, 2), met } },
    breakdown,
  };
}
