import type { CryptoProvider, X25519KeyPair } from '../src/crypto/crypto-provider.js';

/**
 * A crypto provider that hands out the given key pairs, in order, instead of fresh ones (ephemeral
 * keys from test vectors); everything else comes from `base`. Throws when it runs out, so that a
 * test notices an unexpected key generation.
 */
export function fixedKeysProvider(
  base: CryptoProvider,
  privateKeys: readonly Uint8Array[],
): CryptoProvider {
  const queue = [...privateKeys];
  return {
    ...base,
    name: `${base.name} with fixed keys`,
    generateX25519KeyPair(): X25519KeyPair {
      const privateKey = queue.shift();
      if (privateKey === undefined) throw new Error('fixedKeysProvider: no fixed key left');
      const copy = privateKey.slice();
      return { privateKey: copy, publicKey: base.x25519PublicKey(copy) };
    },
  };
}
