import fc from 'fast-check';
import { LOW_ORDER_POINTS } from '../../test/low-order-points.js';
import { describe, expect, it } from 'vitest';
import type { CryptoProvider, X25519KeyPair } from '../crypto/crypto-provider.js';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import { TamperedError } from '../errors/integrity-errors.js';
import {
  InvalidArgumentError,
  InvalidStateError,
  RemoteProtocolError,
} from '../errors/lanchat-error.js';
import {
  LowOrderPublicKeyError,
  MalformedHandshakeError,
  NonceExhaustedError,
  NoiseMessageTooLargeError,
} from '../errors/noise-errors.js';
import { CipherState, MAX_NONCE } from './cipher-state.js';
import {
  HandshakeState,
  type HandshakeOptions,
  parseNoiseProtocolName,
} from './handshake-state.js';

const crypto = nodeCryptoProvider;
const EMPTY = new Uint8Array(0);

/** A provider that records every key pair it generates, to check that they get wiped. */
function recordingProvider(): { provider: CryptoProvider; generated: X25519KeyPair[] } {
  const generated: X25519KeyPair[] = [];
  return {
    generated,
    provider: {
      ...crypto,
      generateX25519KeyPair() {
        const pair = crypto.generateX25519KeyPair();
        generated.push(pair);
        return pair;
      },
    },
  };
}

function xxPair(overrides: Partial<HandshakeOptions> = {}) {
  const initiator = new HandshakeState({
    initiator: true,
    staticKeyPair: crypto.generateX25519KeyPair(),
    ...overrides,
  });
  const responder = new HandshakeState({
    initiator: false,
    staticKeyPair: crypto.generateX25519KeyPair(),
    ...overrides,
  });
  return { initiator, responder };
}

/** Runs a whole handshake between two states; returns what each side split into. */
function runHandshake(initiator: HandshakeState, responder: HandshakeState) {
  let [writer, reader] = [initiator, responder];
  while (!writer.complete) {
    reader.readMessage(writer.writeMessage());
    [writer, reader] = [reader, writer];
  }
  return { initiator: initiator.split(), responder: responder.split() };
}

describe('Noise protocol names', () => {
  it('parses the supported names and refuses others', () => {
    expect(parseNoiseProtocolName('Noise_XX_25519_ChaChaPoly_SHA256')).toMatchObject({
      cipher: 'ChaChaPoly',
      hash: 'SHA256',
    });
    expect(parseNoiseProtocolName('Noise_IKpsk2_25519_AESGCM_BLAKE2b').pattern.name).toBe('IKpsk2');
    for (const name of [
      'Noise_XX_448_ChaChaPoly_SHA256',
      'Noise_KN_25519_ChaChaPoly_SHA256',
      'Noise_XX_25519_AESGCM_SHA512',
      'XX',
    ]) {
      expect(() => parseNoiseProtocolName(name)).toThrow(InvalidArgumentError);
    }
  });

  it('refuses missing keys and wrong pre-shared key counts', () => {
    expect(() => new HandshakeState({ initiator: true })).toThrow(
      /needs this side's static key pair/,
    );
    expect(
      () =>
        new HandshakeState({ initiator: true, protocolName: 'Noise_NK_25519_ChaChaPoly_SHA256' }),
    ).toThrow(/needs the peer's static public key/);
    expect(
      () =>
        new HandshakeState({
          initiator: true,
          protocolName: 'Noise_NNpsk0_25519_ChaChaPoly_SHA256',
        }),
    ).toThrow(/needs 1 pre-shared keys, got 0/);
    expect(
      () =>
        new HandshakeState({
          initiator: true,
          protocolName: 'Noise_NNpsk0_25519_ChaChaPoly_SHA256',
          preSharedKeys: [new Uint8Array(16)],
        }),
    ).toThrow(InvalidArgumentError);
    expect(
      () =>
        new HandshakeState({ initiator: true, protocolName: 'Noise_NN_25519_ChaChaPoly_SHA256' }),
    ).not.toThrow();
  });
});

describe('HandshakeState', () => {
  it('runs XX to the end: same hash, each side learns the other static key, transport works', () => {
    const initiatorStatic = crypto.generateX25519KeyPair();
    const responderStatic = crypto.generateX25519KeyPair();
    const result = runHandshake(
      new HandshakeState({ initiator: true, staticKeyPair: initiatorStatic }),
      new HandshakeState({ initiator: false, staticKeyPair: responderStatic }),
    );
    expect(result.initiator.handshakeHash).toEqual(result.responder.handshakeHash);
    expect(result.initiator.remoteStaticKey).toEqual(responderStatic.publicKey);
    expect(result.responder.remoteStaticKey).toEqual(initiatorStatic.publicKey);
    const sealed = result.initiator.send.encryptWithAd(EMPTY, new TextEncoder().encode('hi'));
    expect(new TextDecoder().decode(result.responder.receive.decryptWithAd(EMPTY, sealed))).toBe(
      'hi',
    );
  });

  it('keeps copies of keys and messages it gets as node Buffers, which callers may reuse', () => {
    // Buffer#slice() is a view, not a copy: a caller that refills its buffer must not change
    // the keys a handshake kept (the peer's ephemeral and static keys, a known server key).
    const responderStatic = crypto.generateX25519KeyPair();
    const knownKey = Buffer.from(responderStatic.publicKey);
    const initiator = new HandshakeState({
      protocolName: 'Noise_IK_25519_ChaChaPoly_SHA256',
      initiator: true,
      staticKeyPair: crypto.generateX25519KeyPair(),
      remoteStaticKey: knownKey,
    });
    const responder = new HandshakeState({
      protocolName: 'Noise_IK_25519_ChaChaPoly_SHA256',
      initiator: false,
      staticKeyPair: responderStatic,
    });
    knownKey.fill(0);
    const reused = Buffer.alloc(1024);
    let [writer, reader] = [initiator, responder];
    while (!writer.complete) {
      const message = writer.writeMessage();
      reused.set(message);
      reader.readMessage(reused.subarray(0, message.length));
      reused.fill(0xee);
      [writer, reader] = [reader, writer];
    }
    const result = { initiator: initiator.split(), responder: responder.split() };
    expect(result.initiator.handshakeHash).toEqual(result.responder.handshakeHash);
    expect(result.initiator.remoteStaticKey).toEqual(responderStatic.publicKey);
    const sealed = result.responder.send.encryptWithAd(EMPTY, Uint8Array.of(1, 2, 3));
    expect(result.initiator.receive.decryptWithAd(EMPTY, sealed)).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('does not mistake a reused public-key buffer for the key it held before', () => {
    const ours = crypto.generateX25519KeyPair();
    const [first, second] = [crypto.generateX25519KeyPair(), crypto.generateX25519KeyPair()];
    const buffer = Buffer.from(first.publicKey);
    expect(crypto.x25519(ours.privateKey, buffer)).toEqual(
      crypto.x25519(first.privateKey, ours.publicKey),
    );
    buffer.set(second.publicKey);
    expect(crypto.x25519(ours.privateKey, buffer)).toEqual(
      crypto.x25519(second.privateKey, ours.publicKey),
    );
  });

  it('enforces turns and refuses split before the end', () => {
    const { initiator, responder } = xxPair();
    expect(() => responder.writeMessage()).toThrow(InvalidStateError);
    expect(() => initiator.readMessage(new Uint8Array(32))).toThrow(InvalidStateError);
    expect(() => initiator.split()).toThrow(InvalidStateError);
    // A usage error does not break the handshake.
    runHandshake(initiator, responder);
  });

  it('refuses to write a message over 65535 bytes, and stays usable', () => {
    const { initiator, responder } = xxPair();
    expect(() => initiator.writeMessage(new Uint8Array(65_535 - 32 + 1))).toThrow(
      NoiseMessageTooLargeError,
    );
    const largest = initiator.writeMessage(new Uint8Array(65_535 - 32));
    expect(largest.length).toBe(65_535);
    expect(responder.readMessage(largest).length).toBe(65_535 - 32);
    // In the second message the payload is encrypted: 32 + 32 + 16 + 16 bytes of overhead.
    expect(() => responder.writeMessage(new Uint8Array(65_535 - 96 + 1))).toThrow(
      NoiseMessageTooLargeError,
    );
    expect(responder.writeMessage(new Uint8Array(65_535 - 96)).length).toBe(65_535);
  });

  it('refuses a handshake message over 65535 bytes or too short for its keys, and stays failed', () => {
    const tooLong = xxPair();
    let error: unknown;
    try {
      tooLong.responder.readMessage(new Uint8Array(65_536));
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ name: 'MalformedHandshakeError', reason: 'too-long' });
    expect(() => tooLong.responder.writeMessage()).toThrow(error);

    const tooShort = xxPair();
    tooShort.responder.readMessage(tooShort.initiator.writeMessage());
    expect(() => tooShort.initiator.readMessage(new Uint8Array(95))).toThrow(
      MalformedHandshakeError,
    );
  });

  it.each(LOW_ORDER_POINTS.map((point, index) => [index, point] as const))(
    'refuses low-order public key %i as an ephemeral key',
    (_index, point) => {
      const { responder } = xxPair();
      const message = new Uint8Array(32);
      message.set(point);
      responder.readMessage(message); // -> e carries no DH yet
      expect(() => responder.writeMessage()).toThrow(LowOrderPublicKeyError);
      expect(() => responder.writeMessage()).toThrow(LowOrderPublicKeyError);
    },
  );

  it.each(LOW_ORDER_POINTS.map((point, index) => [index, point] as const))(
    'x25519 refuses low-order point %i',
    (_index, point) => {
      const error = (() => {
        try {
          crypto.x25519(crypto.generateX25519KeyPair().privateKey, point);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(LowOrderPublicKeyError.isInstance(error)).toBe(true);
      expect(RemoteProtocolError.isInstance(error)).toBe(true);
    },
  );

  it('detects a wrong pre-shared key as tampering', () => {
    const protocolName = 'Noise_NNpsk0_25519_ChaChaPoly_SHA256';
    const initiator = new HandshakeState({
      initiator: true,
      protocolName,
      preSharedKeys: [new Uint8Array(32).fill(1)],
    });
    const responder = new HandshakeState({
      initiator: false,
      protocolName,
      preSharedKeys: [new Uint8Array(32).fill(2)],
    });
    expect(() => responder.readMessage(initiator.writeMessage())).toThrow(TamperedError);
  });

  it('wipes ephemeral private keys after split', () => {
    const one = recordingProvider();
    const two = recordingProvider();
    runHandshake(
      new HandshakeState({
        initiator: true,
        staticKeyPair: crypto.generateX25519KeyPair(),
        crypto: one.provider,
      }),
      new HandshakeState({
        initiator: false,
        staticKeyPair: crypto.generateX25519KeyPair(),
        crypto: two.provider,
      }),
    );
    for (const pair of [...one.generated, ...two.generated]) {
      expect(pair.privateKey.every((byte) => byte === 0)).toBe(true);
    }
    expect(one.generated.length + two.generated.length).toBe(2);
  });
});

describe('CipherState', () => {
  const key = new Uint8Array(32).fill(7);

  it('refuses the reserved nonce 2^64 - 1: nonce exhaustion is an explicit error', () => {
    const state = new CipherState(crypto, 'ChaChaPoly', key);
    state.setNonce(MAX_NONCE - 1n);
    state.encryptWithAd(EMPTY, EMPTY);
    expect(state.nonce).toBe(MAX_NONCE);
    expect(() => state.encryptWithAd(EMPTY, EMPTY)).toThrow(NonceExhaustedError);
    expect(() => state.decryptWithAd(EMPTY, new Uint8Array(16))).toThrow(NonceExhaustedError);
    expect(() => state.setNonce(MAX_NONCE + 1n)).toThrow(InvalidArgumentError);
  });

  it('does not advance the nonce when decryption fails', () => {
    const sender = new CipherState(crypto, 'AESGCM', key);
    const receiver = new CipherState(crypto, 'AESGCM', key);
    const sealed = sender.encryptWithAd(EMPTY, Uint8Array.of(1, 2, 3));
    const altered = sealed.slice();
    altered[0]! ^= 1;
    expect(() => receiver.decryptWithAd(EMPTY, altered)).toThrow(TamperedError);
    expect(receiver.nonce).toBe(0n);
    expect(receiver.decryptWithAd(EMPTY, sealed)).toEqual(Uint8Array.of(1, 2, 3));
  });

  it.each(['ChaChaPoly', 'AESGCM'] as const)(
    'rekeys %s: both sides keep talking, the old key no longer opens',
    (cipher) => {
      const sender = new CipherState(crypto, cipher, key);
      const receiver = new CipherState(crypto, cipher, key);
      const stale = new CipherState(crypto, cipher, key);
      sender.rekey();
      receiver.rekey();
      const sealed = sender.encryptWithAd(EMPTY, Uint8Array.of(9));
      expect(receiver.decryptWithAd(EMPTY, sealed)).toEqual(Uint8Array.of(9));
      expect(() => stale.decryptWithAd(EMPTY, sealed)).toThrow(TamperedError);
      expect(sender.nonce).toBe(1n);
    },
  );
});

describe('HandshakeState properties', () => {
  it('garbage in place of any handshake message gives a RemoteProtocolError, never a crash or a silent success', () => {
    const staticKeys = [crypto.generateX25519KeyPair(), crypto.generateX25519KeyPair()] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(
          'Noise_XX_25519_ChaChaPoly_SHA256',
          'Noise_NN_25519_AESGCM_BLAKE2b',
          'Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b',
        ),
        fc.nat(2),
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.tuple(fc.nat(), fc.nat(7)).map(([where, bit]) => ({ where, bit })),
        ),
        (protocolName, corruptIndex, corruption) => {
          const psk = protocolName.includes('psk')
            ? { preSharedKeys: [new Uint8Array(32).fill(3)] }
            : {};
          const initiator = new HandshakeState({
            initiator: true,
            protocolName,
            staticKeyPair: staticKeys[0],
            ...psk,
          });
          const responder = new HandshakeState({
            initiator: false,
            protocolName,
            staticKeyPair: staticKeys[1],
            ...psk,
          });
          let [writer, reader] = [initiator, responder];
          try {
            for (let index = 0; !writer.complete; index++) {
              let message = writer.writeMessage(Uint8Array.of(index));
              if (index === corruptIndex) {
                if (corruption instanceof Uint8Array) {
                  message = corruption;
                } else {
                  message = message.slice();
                  message[corruption.where % message.length]! ^= 1 << corruption.bit;
                }
              }
              reader.readMessage(message);
              [writer, reader] = [reader, writer];
            }
          } catch (error) {
            expect(RemoteProtocolError.isInstance(error)).toBe(true);
            return;
          }
          // Corrupting the last message, or one the pattern does not authenticate (a bare `e`),
          // may let the handshake finish; then the two sides must not share keys.
          const a = initiator.split();
          const b = responder.split();
          const corruptedSomething = corruptIndex < initiator.protocol.pattern.messages.length;
          if (corruptedSomething) {
            const sealed = a.send.encryptWithAd(EMPTY, Uint8Array.of(42));
            expect(() => b.receive.decryptWithAd(EMPTY, sealed)).toThrow(TamperedError);
          }
        },
      ),
    );
  });
});
