import * as node from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as browser from './node-crypto-browser.js';

describe("the browser build's stand-in for node:crypto", () => {
  it('property: MD5, SHA-256 and HMAC-SHA256 over chunks equal node:crypto', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 5 }),
        fc.uint8Array({ maxLength: 100 }),
        (chunks, key) => {
          for (const name of ['md5', 'sha256']) {
            const mine = browser.createHash(name);
            const theirs = node.createHash(name);
            for (const chunk of chunks) {
              mine.update(chunk);
              theirs.update(chunk);
            }
            expect(Buffer.from(mine.digest())).toEqual(theirs.digest());
          }
          const mine = browser.createHmac('sha256', key);
          const theirs = node.createHmac('sha256', key);
          for (const chunk of chunks) {
            mine.update(chunk);
            theirs.update(chunk);
          }
          expect(Buffer.from(mine.digest())).toEqual(theirs.digest());
        },
      ),
    );
  });

  it('compares in constant time like timingSafeEqual, and refuses other algorithms', () => {
    expect(browser.timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(browser.timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(() => browser.timingSafeEqual(new Uint8Array(1), new Uint8Array(2))).toThrow(RangeError);
    expect(() => browser.createHash('sha1')).toThrow(/no sha1/);
    expect(() => browser.createHmac('md5', new Uint8Array(1))).toThrow(/no HMAC-md5/);
  });
});
