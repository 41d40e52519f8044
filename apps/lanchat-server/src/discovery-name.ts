/**
 * The name a server announces on the LAN: `--name` if given, else the machine's host name, made
 * to fit an announcement (1 to 64 bytes of UTF-8, no control characters).
 *
 * @module
 */

import { hostname } from 'node:os';
import { MAX_SERVER_NAME_BYTES } from '@lanchat/core';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu;

/** `name` (or the host name) with control characters dropped, cut to 64 bytes of UTF-8. */
export function discoveryName(name: string | undefined, host: string = hostname()): string {
  const cleaned = (name ?? host).replace(CONTROL, '').trim();
  const encoder = new TextEncoder();
  let result = '';
  for (const character of cleaned) {
    if (encoder.encode(result + character).length > MAX_SERVER_NAME_BYTES) break;
    result += character;
  }
  return result.length > 0 ? result : 'lanchat';
}
