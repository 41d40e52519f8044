/**
 * Test support of the TCP adapter: a relay whose connections a test can cut, to check that code
 * reconnects and resumes after a dropped link, and {@link Events}, a client's events collected
 * with a way to wait for one (with a deadline, never a fixed sleep).
 *
 * ```ts
 * import { startCuttableProxy } from '@lanchat/tcp/testing';
 *
 * const proxy = await startCuttableProxy({ port: server.address().port });
 * // Clients connect to 127.0.0.1:proxy.port; proxy.cut() drops them all.
 * ```
 *
 * @packageDocumentation
 */

export { type CuttableProxy, startCuttableProxy } from './cuttable-proxy.js';
export { Events } from './events.js';
