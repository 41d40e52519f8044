// @ts-check
/**
 * Runs every benchmark in turn. Each prints its own human-readable lines; the last line of the
 * output is one JSON object with all results, for scripts and CI to parse.
 */

import process from 'node:process';
import { runFrameDecode } from './frame-decode.mjs';

/** @param {string} line */
const print = (line) => {
  process.stdout.write(`${line}\n`);
};

const benchmarks = {
  'frame-decode': await runFrameDecode(print),
};

print(
  JSON.stringify({
    benchmarks,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
  }),
);
