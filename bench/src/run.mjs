// @ts-check
/**
 * Runs every benchmark in turn, or only those named on the command line
 * (`node src/run.mjs handshake channel`). Each prints its own human-readable lines; the last line
 * of the output is one JSON object with all results, for scripts and CI to parse.
 */

import process from 'node:process';
import { runChannel } from './channel.mjs';
import { runCrypto } from './crypto.mjs';
import { runFanout } from './fanout.mjs';
import { runFrameDecode } from './frame-decode.mjs';
import { runHandshake } from './handshake.mjs';
import { runIdle } from './idle.mjs';
import { runTransfer } from './transfer.mjs';
import { runUdp } from './udp.mjs';

/** @param {string} line */
const print = (line) => {
  process.stdout.write(`${line}\n`);
};

/** @type {Record<string, (print: (line: string) => void) => Promise<unknown>>} */
const ALL = {
  'frame-decode': runFrameDecode,
  handshake: runHandshake,
  channel: runChannel,
  crypto: runCrypto,
  fanout: runFanout,
  idle: runIdle,
  transfer: runTransfer,
  udp: runUdp,
};

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !Object.hasOwn(ALL, name));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(ALL).join(', ')}\n`,
  );
  process.exit(2);
}
const selected = requested.length === 0 ? Object.keys(ALL) : requested;

/** @type {Record<string, unknown>} */
const benchmarks = {};
for (const [name, run] of Object.entries(ALL)) {
  if (selected.includes(name)) benchmarks[name] = await run(print);
}

print(
  JSON.stringify({
    benchmarks,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
  }),
);
