/**
 * Test support of the UDP adapter: a seeded lossy relay to put between UDP clients and a server
 * on loopback (`tc netem` in-process), for tests and benchmarks of code that runs over UDP.
 *
 * ```ts
 * import { startLossyRelay } from '@lanchat/udp/testing';
 *
 * const relay = await startLossyRelay({ target: { host: '127.0.0.1', port }, seed: 7, loss: 0.05 });
 * // Clients connect to 127.0.0.1:relay.port instead of the server.
 * ```
 *
 * @packageDocumentation
 */

export {
  type LossyRelay,
  type LossyRelayOptions,
  type LossyRelayStatistics,
  startLossyRelay,
  unusedUdpPort,
} from './lossy-relay.js';
