import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LOW_ORDER_POINTS } from '../../test/low-order-points.js';
import { LowOrderPublicKeyError } from '../errors/noise-errors.js';
import { browserCryptoProvider } from './browser-crypto-provider.js';
import type { CipherName, HashName } from './crypto-provider.js';
import { nodeCryptoProvider } from './node-crypto-provider.js';

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const nonce = fc.uint8Array({ minLength: 12, maxLength: 12 });
const data = fc.uint8Array({ maxLength: 300 });
const parts = fc.array(data, { maxLength: 4 });
const cipher = fc.constantFrom<CipherName>('ChaChaPoly', 'AESGCM');
const hash = fc.constantFrom<HashName>('SHA256', 'BLAKE2b');

describe('the browser crypto provider', () => {
  it('property: agrees with node:crypto on X25519', () => {
    fc.assert(
      fc.property(key32, key32, (first, second) => {
        const publicKey = browserCryptoProvider.x25519PublicKey(second);
        expect(publicKey).toEqual(nodeCryptoProvider.x25519PublicKey(second));
        expect(browserCryptoProvider.x25519(first, publicKey)).toEqual(
          nodeCryptoProvider.x25519(first, publicKey),
        );
      }),
      { numRuns: 50 },
    );
  });

  it('property: agrees with node:crypto on both AEADs, and each opens what the other sealed', () => {
    fc.assert(
      fc.property(
        cipher,
        key32,
        nonce,
        data,
        parts,
        fc.nat(8),
        (name, key, iv, ad, text, reserve) => {
          const mine = browserCryptoProvider.aead(name, key);
          const theirs = nodeCryptoProvider.aead(name, key);
          const sealed = mine.seal(iv, ad, text, reserve);
          expect(sealed).toEqual(theirs.seal(iv, ad, text, reserve));
          const body = sealed.subarray(reserve);
          expect(theirs.open(iv, ad, body)).toEqual(mine.open(iv, ad, body));
          expect(Buffer.from(mine.open(iv, ad, body)!)).toEqual(Buffer.concat(text));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('property: agrees with node:crypto on both hashes and HMACs', () => {
    fc.assert(
      fc.property(hash, fc.uint8Array({ maxLength: 200 }), parts, (name, key, text) => {
        expect(browserCryptoProvider.hash(name, text)).toEqual(nodeCryptoProvider.hash(name, text));
        expect(browserCryptoProvider.hmac(name, key, text)).toEqual(
          nodeCryptoProvider.hmac(name, key, text),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a changed byte, a short input and a wiped key', () => {
    for (const name of ['ChaChaPoly', 'AESGCM'] as const) {
      const aead = browserCryptoProvider.aead(name, new Uint8Array(32).fill(7));
      const iv = new Uint8Array(12);
      const sealed = aead.seal(iv, new Uint8Array(0), new Uint8Array([1, 2, 3]));
      for (let index = 0; index < sealed.length; index++) {
        const changed = sealed.slice();
        changed[index]! ^= 1;
        expect(aead.open(iv, new Uint8Array(0), changed)).toBeUndefined();
      }
      expect(aead.open(iv, new Uint8Array([9]), sealed)).toBeUndefined();
      expect(aead.open(iv, new Uint8Array(0), sealed.subarray(0, 15))).toBeUndefined();
      aead.wipe?.();
      expect(() => aead.seal(iv, new Uint8Array(0), new Uint8Array(1))).toThrow(/wiped/);
    }
  });

  it.each(LOW_ORDER_POINTS.map((point, index) => [index, point] as const))(
    'refuses low-order point %i with LowOrderPublicKeyError',
    (_index, point) => {
      const { privateKey } = browserCryptoProvider.generateX25519KeyPair();
      expect(() => browserCryptoProvider.x25519(privateKey, point)).toThrow(LowOrderPublicKeyError);
    },
  );

  it('makes distinct random bytes and key pairs', () => {
    expect(browserCryptoProvider.randomBytes(32)).not.toEqual(
      browserCryptoProvider.randomBytes(32),
    );
    const pair = browserCryptoProvider.generateX25519KeyPair();
    expect(pair.publicKey).toEqual(nodeCryptoProvider.x25519PublicKey(pair.privateKey));
  });
});
