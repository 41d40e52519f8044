import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbitraryCuts, cutAt } from '../../test/chunking.js';
import { ChecksumMismatchError } from '../errors/integrity-errors.js';
import { InvalidArgumentError, InvalidStateError } from '../errors/lanchat-error.js';
import { MD5_LENGTH, createMd5, md5, verifyMd5 } from './md5.js';

const text = new TextEncoder();
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

// RFC 1321, appendix A.5 ("test suite").
const rfc1321 = [
  ['', 'd41d8cd98f00b204e9800998ecf8427e'],
  ['a', '0cc175b9c0f1b6a831c399e269772661'],
  ['abc', '900150983cd24fb0d6963f7d28e17f72'],
  ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
  ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
  [
    'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
    'd174ab98d277d9f5a5611c2c9f419d9f',
  ],
  [
    '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
    '57edf4a22be3c955ac49da2e2107b67a',
  ],
] as const;

describe('MD5 (RFC 1321 test suite)', () => {
  it.each(rfc1321)('MD5("%s") = %s, one-shot', (input, expected) => {
    const digest = md5(text.encode(input));
    expect(digest).toBeInstanceOf(Uint8Array);
    expect(digest.length).toBe(MD5_LENGTH);
    expect(hex(digest)).toBe(expected);
    verifyMd5(text.encode(input), Buffer.from(expected, 'hex'));
  });

  it.each(rfc1321)('MD5("%s") = %s, streamed byte by byte', (input, expected) => {
    const digest = createMd5();
    for (const byte of text.encode(input)) digest.update(Uint8Array.of(byte));
    expect(hex(digest.digest())).toBe(expected);
  });
});

describe('MD5 verification', () => {
  it('throws ChecksumMismatchError on corruption, wrong length or empty checksum', () => {
    const data = text.encode('the file');
    const checksum = md5(data);
    for (const wrong of [
      md5(text.encode('the fil')),
      checksum.subarray(0, 15),
      new Uint8Array(0),
    ]) {
      expect(() => verifyMd5(data, wrong)).toThrow(ChecksumMismatchError);
    }
    expect(() =>
      verifyMd5(data, 'd41d8cd98f00b204e9800998ecf8427e' as unknown as Uint8Array),
    ).toThrow(InvalidArgumentError);
    const error = (() => {
      try {
        createMd5().update(text.encode('x')).verify(checksum);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(ChecksumMismatchError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/corrupted/);
  });

  it('finishes after digest or verify', () => {
    const digest = createMd5().update(text.encode('a'));
    expect(digest.finished).toBe(false);
    digest.verify(md5(text.encode('a')));
    expect(digest.finished).toBe(true);
    expect(() => digest.update(text.encode('b'))).toThrow(InvalidStateError);
    expect(() => digest.digest()).toThrow(InvalidStateError);
  });

  it('streaming equals one-shot for any data under any chunking', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), arbitraryCuts, (data, cuts) => {
        const digest = createMd5();
        for (const chunk of cutAt(data, cuts)) digest.update(chunk);
        expect(Buffer.compare(digest.digest(), md5(data))).toBe(0);
      }),
    );
  });
});
