import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { caught } from '../../test/caught.js';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import { TamperedError } from '../errors/integrity-errors.js';
import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { MalformedSessionMessageError } from '../errors/session-errors.js';
import type { CryptoProvider } from '../crypto/crypto-provider.js';
import {
  SEALED_TRANSFER_DATA_HEADER_LENGTH,
  TRANSFER_CIPHER,
  openTransferData,
  readSealedTransferData,
  sealTransferData,
} from './transfer-data.js';
import { MAX_TRANSFER_KEYS, TransferKeys } from './transfer-keys.js';

const crypto = nodeCryptoProvider;
const transfer = '00112233445566778899aabbccddeeff';
const join = (head: Uint8Array, tail: Uint8Array) => new Uint8Array(Buffer.concat([head, tail]));

describe('sealed file data', () => {
  it('lays out the header as the protocol document shows, and seals the chunk under the counter', () => {
    const aead = crypto.aead(TRANSFER_CIPHER, new Uint8Array(32).fill(7));
    const { head, tail } = sealTransferData(
      { type: 'data', transfer, offset: 65_536, bytes: Uint8Array.of(0x68, 0x69) },
      aead,
      3,
    );
    expect(Buffer.from(head).toString('hex')).toBe(
      '05' + transfer + '0000000000010000' + '0000000000000003',
    );
    expect(tail).toHaveLength(2 + 16);
    // AES-256-GCM, nonce 4 zero bytes and the counter, the header as associated data.
    const nonce = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3);
    expect(aead.open(nonce, head, tail)).toEqual(Uint8Array.of(0x68, 0x69));
  });

  it('property: any chunk at any offset and counter opens to itself, and the server reads its header without the key', () => {
    const aead = crypto.aead(TRANSFER_CIPHER, crypto.randomBytes(32));
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 70_000 }),
        fc.maxSafeNat(),
        fc.maxSafeNat(),
        (bytes, offset, counter) => {
          const { head, tail } = sealTransferData(
            { type: 'data', transfer, offset, bytes },
            aead,
            counter,
          );
          const sealed = readSealedTransferData(join(head, tail));
          expect(sealed).toMatchObject({ transfer, offset, counter, fileBytes: bytes.length });
          expect(openTransferData(sealed, aead)).toEqual({ type: 'data', transfer, offset, bytes });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('property: a change to any byte, header or chunk, or another key, is TamperedError', () => {
    const aead = crypto.aead(TRANSFER_CIPHER, crypto.randomBytes(32));
    const other = crypto.aead(TRANSFER_CIPHER, crypto.randomBytes(32));
    const { head, tail } = sealTransferData(
      { type: 'data', transfer, offset: 1_000, bytes: crypto.randomBytes(300) },
      aead,
      9,
    );
    const message = join(head, tail);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: message.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (at, flip) => {
          const changed = message.slice();
          changed[at] = changed[at]! ^ flip;
          let error: unknown;
          try {
            openTransferData(readSealedTransferData(changed), aead);
          } catch (thrown) {
            error = thrown;
          }
          // An offset or counter changed to 2^53 or more is malformed before it is opened.
          expect(
            TamperedError.isInstance(error) || MalformedSessionMessageError.isInstance(error),
          ).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
    expect(
      TamperedError.isInstance(
        caught(() => openTransferData(readSealedTransferData(message), other)),
      ),
    ).toBe(true);
  });

  it('refuses what is not sealed file data, and checks what it seals', () => {
    const aead = crypto.aead(TRANSFER_CIPHER, crypto.randomBytes(32));
    const short = new Uint8Array(SEALED_TRANSFER_DATA_HEADER_LENGTH + 15);
    short[0] = 0x05;
    expect(
      MalformedSessionMessageError.isInstance(caught(() => readSealedTransferData(short))),
    ).toBe(true);
    const huge = new Uint8Array(SEALED_TRANSFER_DATA_HEADER_LENGTH + 16).fill(0xff);
    expect(
      MalformedSessionMessageError.isInstance(caught(() => readSealedTransferData(huge))),
    ).toBe(true);
    for (const [message, counter] of [
      [{ type: 'data', transfer: 'nope', offset: 0, bytes: new Uint8Array(1) }, 0],
      [{ type: 'data', transfer, offset: -1, bytes: new Uint8Array(1) }, 0],
      [{ type: 'data', transfer, offset: 0, bytes: new Uint8Array(1) }, 2 ** 53],
    ] as const) {
      expect(
        InvalidArgumentError.isInstance(caught(() => sealTransferData(message, aead, counter))),
      ).toBe(true);
    }
  });
});

describe('TransferKeys', () => {
  const data = (bytes: Uint8Array) => ({ type: 'data' as const, transfer, offset: 0, bytes });

  it('seals only once the receiver agreed, under a fresh key per offer, never reusing a nonce', () => {
    const sender = new TransferKeys(crypto);
    const receiver = new TransferKeys(crypto);
    expect(sender.seal(data(Uint8Array.of(1)))).toBeUndefined();
    const key = sender.offerKey(transfer);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    receiver.offered(transfer, key);
    expect(receiver.sealsIncoming(transfer)).toBe(true);
    expect(sender.seal(data(Uint8Array.of(1)))).toBeUndefined();
    sender.answered(transfer, true);
    const first = sender.seal(data(Uint8Array.of(1)))!;
    const second = sender.seal(data(Uint8Array.of(1)))!;
    expect(readSealedTransferData(join(first.head, first.tail)).counter).toBe(0);
    expect(readSealedTransferData(join(second.head, second.tail)).counter).toBe(1);
    expect(Buffer.compare(first.tail, second.tail)).not.toBe(0);
    expect(receiver.open(readSealedTransferData(join(second.head, second.tail))).bytes).toEqual(
      Uint8Array.of(1),
    );
    // Offered again (a resumed transfer): a new key, counters from 0, and the old key is useless.
    const again = sender.offerKey(transfer);
    expect(again).not.toBe(key);
    sender.answered(transfer, true);
    const resumed = sender.seal(data(Uint8Array.of(2)))!;
    expect(readSealedTransferData(join(resumed.head, resumed.tail)).counter).toBe(0);
    expect(
      TamperedError.isInstance(
        caught(() => receiver.open(readSealedTransferData(join(resumed.head, resumed.tail)))),
      ),
    ).toBe(true);
    receiver.offered(transfer, again);
    expect(receiver.open(readSealedTransferData(join(resumed.head, resumed.tail))).bytes).toEqual(
      Uint8Array.of(2),
    );
    // An offer without a key, and an end, forget the key.
    receiver.offered(transfer, undefined);
    expect(receiver.sealsIncoming(transfer)).toBe(false);
    expect(
      MalformedSessionMessageError.isInstance(
        caught(() => receiver.open(readSealedTransferData(join(resumed.head, resumed.tail)))),
      ),
    ).toBe(true);
    sender.forget(transfer);
    expect(sender.seal(data(Uint8Array.of(3)))).toBeUndefined();
  });

  it(`keeps at most ${MAX_TRANSFER_KEYS} keys each way, wiping the oldest`, () => {
    const wiped: number[] = [];
    let made = 0;
    const counting: CryptoProvider = {
      ...crypto,
      aead: (cipher, key) => {
        const aead = crypto.aead(cipher, key);
        const index = made++;
        return {
          seal: aead.seal.bind(aead),
          open: aead.open.bind(aead),
          wipe: () => wiped.push(index),
        };
      },
    };
    const keys = new TransferKeys(counting);
    const id = (index: number) => index.toString(16).padStart(32, '0');
    for (let index = 0; index <= MAX_TRANSFER_KEYS; index++)
      keys.offered(id(index), '00'.repeat(32));
    expect(wiped).toEqual([0]);
    expect(keys.sealsIncoming(id(0))).toBe(false);
    expect(keys.sealsIncoming(id(MAX_TRANSFER_KEYS))).toBe(true);
    keys.clear();
    expect(wiped).toHaveLength(MAX_TRANSFER_KEYS + 1);
  });
});
