// @ts-check
/**
 * Helpers shared by the benchmarks: a seeded PRNG, timing, statistics and formatting.
 *
 * @module
 */

import { performance } from 'node:perf_hooks';

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
