/**
 * The node:crypto functions the integrity checks use, in one place: the browser build replaces
 * this module with `crypto/node-crypto-browser.ts` (see tsup.config.ts).
 *
 * @module
 */

export { createHash, createHmac, timingSafeEqual } from 'node:crypto';
