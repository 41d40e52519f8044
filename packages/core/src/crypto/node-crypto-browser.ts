/**
 * What the browser build of the core puts in place of `node:crypto`: the few functions the
 * integrity checks use (MD5, SHA-256, HMAC-SHA256, a constant-time comparison), on the noble
 * libraries. Not exported; the Node build uses node:crypto itself.
 *
 * @module
 */

import { hmac } from '@noble/hashes/hmac.js';
import { md5 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';

/** A running hash or HMAC, as node:crypto's `Hash` and `Hmac` are used here. */
interface Running {
  update(data: Uint8Array): Running;
  digest(): Uint8Array;
}

interface NobleState {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
}

function running(state: NobleState): Running {
  return {
    update(data) {
      state.update(data);
      return this;
    },
    digest() {
      return state.digest();
    },
  };
}

/** node:crypto's `createHash`, for `md5` and `sha256`. */
export function createHash(name: string): Running {
  if (name === 'md5') return running(md5.create());
  if (name === 'sha256') return running(sha256.create());
  throw new Error(`no ${name} in the browser build`);
}

/** node:crypto's `createHmac`, for `sha256`. */
export function createHmac(name: string, key: Uint8Array): Running {
  if (name !== 'sha256') throw new Error(`no HMAC-${name} in the browser build`);
  return running(hmac.create(sha256, key));
}

/** node:crypto's `timingSafeEqual`: throws for lengths that differ, as Node does. */
export function timingSafeEqual(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) throw new RangeError('the inputs differ in length');
  let difference = 0;
  for (let index = 0; index < left.length; index++) difference |= left[index]! ^ right[index]!;
  return difference === 0;
}
