import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixedKeysProvider } from '../../test/fixed-crypto.js';
import { browserCryptoProvider } from '../crypto/browser-crypto-provider.js';
import type { CryptoProvider } from '../crypto/crypto-provider.js';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import type { CipherState } from './cipher-state.js';
import { HandshakeState } from './handshake-state.js';

interface Vector {
  protocol_name: string;
  init_prologue: string;
  resp_prologue: string;
  init_ephemeral: string;
  resp_ephemeral: string;
  init_static?: string;
  resp_static?: string;
  init_remote_static?: string;
  resp_remote_static?: string;
  init_psks?: string[];
  resp_psks?: string[];
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
}

const { vectors } = JSON.parse(
  readFileSync(new URL('../../test/vectors/noise/cacophony.json', import.meta.url), 'utf8'),
) as { vectors: Vector[] };

const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));
const hex = (value: Uint8Array) => Buffer.from(value).toString('hex');

function side(vector: Vector, initiator: boolean, provider: CryptoProvider): HandshakeState {
  const prefix = initiator ? 'init' : 'resp';
  const staticKey = vector[`${prefix}_static`];
  const remoteStatic = vector[`${prefix}_remote_static`];
  return new HandshakeState({
    initiator,
    protocolName: vector.protocol_name,
    prologue: bytes(vector[`${prefix}_prologue`]),
    ...(staticKey === undefined
      ? {}
      : {
          staticKeyPair: {
            privateKey: bytes(staticKey),
            publicKey: provider.x25519PublicKey(bytes(staticKey)),
          },
        }),
    ...(remoteStatic === undefined ? {} : { remoteStaticKey: bytes(remoteStatic) }),
    preSharedKeys: (vector[`${prefix}_psks`] ?? []).map(bytes),
    crypto: fixedKeysProvider(provider, [bytes(vector[`${prefix}_ephemeral`])]),
  });
}

describe.each([nodeCryptoProvider, browserCryptoProvider])(
  'Noise test vectors (cacophony), crypto by $name',
  (provider) => {
    it('covers the 40 protocols: 10 patterns, 2 ciphers, 2 hashes', () => {
      expect(new Set(vectors.map((vector) => vector.protocol_name)).size).toBe(40);
    });

    it.each(vectors)('$protocol_name', (vector) => {
      const initiator = side(vector, true, provider);
      const responder = side(vector, false, provider);
      let transport:
        | { initiator: [CipherState, CipherState]; responder: [CipherState, CipherState] }
        | undefined;

      for (const [index, message] of vector.messages.entries()) {
        const initiatorSends = index % 2 === 0;
        if (transport === undefined) {
          const [writer, reader] = initiatorSends ? [initiator, responder] : [responder, initiator];
          const written = writer.writeMessage(bytes(message.payload));
          expect(hex(written), `handshake message ${index}`).toBe(message.ciphertext);
          expect(hex(reader.readMessage(written)), `payload of message ${index}`).toBe(
            message.payload,
          );
          if (writer.complete) {
            expect(reader.complete).toBe(true);
            expect(hex(initiator.handshakeHash)).toBe(vector.handshake_hash);
            expect(hex(responder.handshakeHash)).toBe(vector.handshake_hash);
            const initiatorResult = initiator.split();
            const responderResult = responder.split();
            expect(hex(initiatorResult.handshakeHash)).toBe(vector.handshake_hash);
            expect(initiatorResult.remoteStaticKey).toEqual(
              vector.resp_static === undefined
                ? undefined
                : provider.x25519PublicKey(bytes(vector.resp_static)),
            );
            transport = {
              initiator: [initiatorResult.send, initiatorResult.receive],
              responder: [responderResult.send, responderResult.receive],
            };
          }
        } else {
          // Transport messages keep alternating: the initiator sends with its send state, and so on.
          const [send] = initiatorSends ? transport.initiator : transport.responder;
          const [, receive] = initiatorSends ? transport.responder : transport.initiator;
          const sealed = send.encryptWithAd(new Uint8Array(0), bytes(message.payload));
          expect(hex(sealed), `transport message ${index}`).toBe(message.ciphertext);
          expect(hex(receive.decryptWithAd(new Uint8Array(0), sealed))).toBe(message.payload);
        }
      }
      expect(transport).toBeDefined();
    });
  },
);
