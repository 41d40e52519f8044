/**
 * Testing helpers for code built on `@lanchat/core`: a pair of endpoints over a fake link with a
 * virtual clock and seeded latency, loss, duplication and reordering.
 *
 * @packageDocumentation
 */

export type { Endpoint } from './endpoint.js';
