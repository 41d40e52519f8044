// @ts-check
/**
 * Helpers shared by the benchmarks: a seeded PRNG, timing, statistics, formatting and printing.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import process from 'node:process';

/**
 * Writes one line of a benchmark's report to stdout: the default `print` of every benchmark.
 *
 * @param {string} line
 */
export function printToStdout(line) {
  process.stdout.write(`${line}\n`);
}

/**
 * mulberry32: tiny, fast, and good enough to draw chunk sizes. A seeded generator (rather than
 * Math.random) makes every run cut the stream at the same places, so runs are comparable.
 *
 * @param {number} seed
 * @returns {() => number} the next unsigned 32-bit integer
 */
export function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * @param {readonly number[]} values
 * @returns {number}
 */
export function median(values) {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const upper = sorted[middle] ?? NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? NaN) + upper) / 2;
}

/**
 * Runs `task` once and measures its wall time. A full collection first (when node runs with
 * --expose-gc) keeps garbage left by the previous task from being collected on this one's clock.
 *
 * @template T
 * @param {() => T | Promise<T>} task
 * @returns {Promise<{ result: T, milliseconds: number }>}
 */
export async function timeOnce(task) {
  collectGarbage();
  const start = performance.now();
  const result = await task();
  const milliseconds = performance.now() - start;
  return { result, milliseconds };
}

/** Full garbage collection if node was started with --expose-gc, otherwise nothing. */
export function collectGarbage() {
  if (typeof globalThis.gc === 'function') globalThis.gc();
}

/**
 * Rounds to a number of significant digits: rates that vary by a few percent between runs are
 * not worth more.
 *
 * @param {number} value
 * @param {number} digits
 * @returns {number}
 */
export function roundSignificant(value, digits) {
  // toPrecision rounds in decimal, so the result has no binary tail such as 15400000.000000002.
  return Number.isFinite(value) ? Number(value.toPrecision(digits)) : value;
}

/**
 * @param {number} value
 * @param {number} decimals
 * @returns {number}
 */
export function roundTo(value, decimals) {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

/**
 * A rate with an SI suffix, for the human-readable table.
 *
 * @param {number} value
 * @returns {string}
 */
export function formatRate(value) {
  if (value >= 1e9) return `${(value / 1e9).toFixed(2)} G`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(2)} k`;
  return value.toFixed(2);
}

/**
 * Lays out rows as a plain-text table; the first column is left-aligned, the others right-aligned
 * so that numbers line up.
 *
 * @param {readonly (readonly string[])[]} rows
 * @returns {string[]} one string per row
 */
export function formatTable(rows) {
  /** @type {number[]} */
  const widths = [];
  for (const row of rows) {
    row.forEach((cell, column) => {
      widths[column] = Math.max(widths[column] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        return column === 0 ? cell.padEnd(width) : cell.padStart(width);
      })
      .join('  ')
      .trimEnd(),
  );
}

/**
 * True when two byte arrays hold the same bytes (memcmp in native code: cheap enough to run on
 * every result without moving the numbers).
 *
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 * @returns {boolean}
 */
export function bytesEqual(a, b) {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * A contender in an interleaved measurement: `run` does one pass and returns what it saw, which
 * `verify` checks after every pass, warm-up included.
 *
 * @template R
 * @typedef {object} Contender
 * @property {string} key name in the JSON result
 * @property {string} label name in the human-readable table
 * @property {() => R | Promise<R>} run
 */

/**
 * Runs one unmeasured warm-up pass per contender, then `rounds` measured rounds in which every
 * contender runs once, in turn: a slow moment of the machine hits every contender alike instead of
 * one. Each round starts one contender further along, so that no contender always follows the same
 * one (and inherits its garbage or its cache). Every pass is verified.
 *
 * @template R
 * @param {readonly Contender<R>[]} contenders
 * @param {number} rounds
 * @param {(contender: Contender<R>, result: R) => void} verify throws if a pass went wrong
 * @returns {Promise<Map<string, number[]>>} the milliseconds of each measured round, by key
 */
export async function measureInterleaved(contenders, rounds, verify) {
  for (const contender of contenders) {
    const { result } = await timeOnce(contender.run);
    verify(contender, result);
  }
  /** @type {Map<string, number[]>} */
  const milliseconds = new Map(contenders.map((contender) => [contender.key, []]));
  for (let round = 0; round < rounds; round++) {
    for (let turn = 0; turn < contenders.length; turn++) {
      const contender = /** @type {Contender<R>} */ (
        contenders[(round + turn) % contenders.length]
      );
      const timed = await timeOnce(contender.run);
      verify(contender, timed.result);
      milliseconds.get(contender.key)?.push(timed.milliseconds);
    }
  }
  return milliseconds;
}

/**
 * Starts `server` listening on 127.0.0.1, on a port the system picks, and resolves with the port.
 *
 * @param {import('node:net').Server} server
 * @param {string} name for the error, should the server have no port
 * @returns {Promise<number>}
 */
export async function listenLoopback(server, name) {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      server.off('error', reject);
      resolve(undefined);
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`${name}: no port`);
  return address.port;
}
