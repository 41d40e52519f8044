/**
 * What the browser build of the core puts in place of `node-crypto-provider.ts`: the browser
 * provider under the default's name, so that every machine's default crypto works in a browser.
 *
 * @module
 */

import { browserCryptoProvider } from './browser-crypto-provider.js';

/** In the browser build, the default provider is {@link browserCryptoProvider}. */
export const nodeCryptoProvider = browserCryptoProvider;
