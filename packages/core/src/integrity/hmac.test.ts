import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbitraryCuts, cutAt } from '../../test/chunking.js';
import { TamperedError } from '../errors/integrity-errors.js';
import { InvalidArgumentError, InvalidStateError } from '../errors/lanchat-error.js';
import { HMAC_SHA256_LENGTH, createHmacSha256, hmacSha256, verifyHmacSha256 } from './hmac.js';

const fromHex = (value: string) => new Uint8Array(Buffer.from(value, 'hex'));
const ascii = (value: string) => new TextEncoder().encode(value);
const repeat = (byte: number, count: number) => new Uint8Array(count).fill(byte);

// RFC 4231, section 4: HMAC-SHA-256 test cases 1 to 7. Case 5 specifies an output truncated to
// 128 bits; the full tag's first 16 bytes are compared.
const rfc4231 = [
  {
    name: 'case 1',
    key: repeat(0x0b, 20),
    data: ascii('Hi There'),
    tag: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
  },
  {
    name: 'case 2: key shorter than the output',
    key: ascii('Jefe'),
    data: ascii('what do ya want for nothing?'),
    tag: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  },
  {
    name: 'case 3: 50 bytes of 0xdd',
    key: repeat(0xaa, 20),
    data: repeat(0xdd, 50),
    tag: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe',
  },
  {
    name: 'case 4: 25-byte key',
    key: fromHex('0102030405060708090a0b0c0d0e0f10111213141516171819'),
    data: repeat(0xcd, 50),
    tag: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
  },
  {
    name: 'case 5: truncated to 128 bits',
    key: repeat(0x0c, 20),
    data: ascii('Test With Truncation'),
    tag: 'a3b6167473100ee06e0c796c2955552b',
  },
  {
    name: 'case 6: key larger than the block size',
    key: repeat(0xaa, 131),
    data: ascii('Test Using Larger Than Block-Size Key - Hash Key First'),
    tag: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  },
  {
    name: 'case 7: key and data larger than the block size',
    key: repeat(0xaa, 131),
    data: ascii(
      'This is a test using a larger than block-size key and a larger than block-size data. ' +
        'The key needs to be hashed before being used by the HMAC algorithm.',
    ),
    tag: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
  },
];

describe('HMAC-SHA256 (RFC 4231 test cases)', () => {
  it.each(rfc4231)('$name, one-shot', ({ key, data, tag }) => {
    const expected = fromHex(tag);
    const computed = hmacSha256(key, data);
    expect(computed.length).toBe(HMAC_SHA256_LENGTH);
    expect(computed.subarray(0, expected.length)).toEqual(expected);
    if (expected.length === HMAC_SHA256_LENGTH) verifyHmacSha256(key, data, expected);
  });

  it.each(rfc4231)('$name, streamed in 7-byte chunks', ({ key, data, tag }) => {
    const digest = createHmacSha256(key);
    for (let offset = 0; offset < data.length; offset += 7)
      digest.update(data.subarray(offset, offset + 7));
    const expected = fromHex(tag);
    expect(digest.digest().subarray(0, expected.length)).toEqual(expected);
  });
});

describe('HMAC-SHA256 verification', () => {
  const key = repeat(0x42, 32);
  const data = ascii('meet at 10');
  const tag = hmacSha256(key, data);

  it('throws TamperedError for changed data, another key, or a truncated tag', () => {
    expect(() => verifyHmacSha256(key, ascii('meet at 20'), tag)).toThrow(TamperedError);
    expect(() => verifyHmacSha256(repeat(0x43, 32), data, tag)).toThrow(TamperedError);
    // A truncated tag is refused: accepting one would let a forger guess far fewer bits.
    expect(() => verifyHmacSha256(key, data, tag.subarray(0, 16))).toThrow(TamperedError);
    expect(() => verifyHmacSha256(key, data, new Uint8Array(0))).toThrow(TamperedError);
    expect(() => createHmacSha256(key).update(ascii('meet at 20')).verify(tag)).toThrow(
      TamperedError,
    );
    try {
      verifyHmacSha256(key, ascii('meet at 20'), tag);
    } catch (error) {
      expect(error).toMatchObject({ name: 'TamperedError' });
      expect((error as Error).message).toMatch(/tampered/);
    }
  });

  it('refuses an empty key and a tag that is not bytes', () => {
    expect(() => hmacSha256(new Uint8Array(0), data)).toThrow(InvalidArgumentError);
    expect(() => createHmacSha256(new Uint8Array(0))).toThrow(InvalidArgumentError);
    expect(() =>
      verifyHmacSha256(key, data, Buffer.from(tag).toString('hex') as unknown as Uint8Array),
    ).toThrow(InvalidArgumentError);
  });

  it('finishes after verify', () => {
    const digest = createHmacSha256(key).update(data);
    digest.verify(tag);
    expect(() => digest.verify(tag)).toThrow(InvalidStateError);
  });

  it('streaming equals one-shot for any key, data and chunking', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 100 }),
        fc.uint8Array({ maxLength: 512 }),
        arbitraryCuts,
        (anyKey, anyData, cuts) => {
          const digest = createHmacSha256(anyKey);
          for (const chunk of cutAt(anyData, cuts)) digest.update(chunk);
          expect(Buffer.compare(digest.digest(), hmacSha256(anyKey, anyData))).toBe(0);
        },
      ),
    );
  });

  it('any single-bit flip in the data or the tag is detected', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 256 }),
        fc.boolean(),
        fc.nat(),
        fc.nat(7),
        (anyData, inTag, where, bit) => {
          const goodTag = hmacSha256(key, anyData);
          const target = inTag ? goodTag.slice() : anyData.slice();
          target[where % target.length]! ^= 1 << bit;
          const [checkedData, checkedTag] = inTag ? [anyData, target] : [target, goodTag];
          expect(() => verifyHmacSha256(key, checkedData, checkedTag)).toThrow(TamperedError);
        },
      ),
    );
  });
});
