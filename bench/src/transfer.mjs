// @ts-check
/**
 * File-transfer benchmark (point 8 of the issue): one file of random bytes (1 GiB, or
 * BENCH_TRANSFER_MB MiB) from one client to another through a lanchat server on loopback, against
 * the limit: a plain copy of the same file over one node:net socket between two node processes
 * (transfer-raw.mjs). Same file, same run, rounds interleaved so that a slow moment of the shared
 * machine hits both.
 *
 * lanchat runs as on a network: server, sender and receiver each in a process of their own
 * (transfer-lanchat.mjs), the clients being `connectChat` clients of @lanchat/tcp. `sendFile`
 * first reads the whole file to hash it (SHA-256 and MD5) and only then offers it: the hashing is
 * timed apart, and lanchat's throughput is taken over the transfer itself, from the sender's
 * `transfer-accepted` to its `transfer-completed` (which comes once the receiver has checked the
 * SHA-256, synced the file to disk and given it its name), all in the sender's clock. That is
 * the figure set against the limit; the end-to-end figure (hashing included) is printed too.
 *
 * A third row, for information, sends the same bytes over the same kind of socket and drops them
 * on arrival: the socket alone, to tell the cost of writing the file from that of the socket.
 *
 * A fourth, the ceiling (transfer-sealed.mjs): the plain copy through a relay process, sealed
 * end to end as lanchat seals file data (AES-256-GCM pieces of 256 KiB, passed on as they
 * are by the relay, opened and hashed with SHA-256 by the receiver) and nothing else; what a
 * transfer encrypted through a relay and checked by its hash can reach on this machine, for
 * lanchat to be set against. *
 * While each lanchat transfer runs, two chat-only clients in a fourth process (`pinger`,
 * `ponger`) time private-message round trips through the same server, one every 20 ms.
 *
 * Every process reports its CPU time over the transfer (and the kernel's part of it), printed as
 * CPU-seconds per GiB with the process's busy share (CPU time over wall time): with the machine's
 * two cores shared by three processes, a process near 100% is the bottleneck, and the sum says how
 * much of the machine the transfer takes.
 *
 * BENCH_TRANSFER_MB: the file's size in MiB (default 1024). BENCH_TRANSFER_ROUNDS: measured
 * rounds of each contender (default 2). BENCH_TRANSFER_CPU_PROF=DIR runs every child with
 * --cpu-prof into DIR.
 *
 * The UDP benchmark (udp.mjs) uses what this exports: the settings from the environment, the
 * run's frame on one source file (roundsOnSource), the check of a received file, the sender's
 * times read from its `sent` message, and the chat pings: the parent's side of a `chat` child
 * (idlePings, startPings, stopPings, pingResult) and their summary (summarizePings).
 *
 * @module
 */

import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { childGroup, startChild } from './children.mjs';
import { DISCARD } from './transfer-raw.mjs';
import { formatTable, median, printToStdout, roundSignificant, roundTo } from './lib.mjs';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
/** lanchat's transfer throughput must be at least this multiple of the raw copy's. */
const RATIO_TARGET = 0.35;
/** Chat round trip during the transfer, p99, in ms, at most. */
export const P99_TARGET_MS = 50;
/** One chat round trip timed every this many ms, during a transfer and in the idle baseline. */
export const PING_INTERVAL_MS = 20;
/** Most pings in one transfer (2 minutes' worth): the pinger stops there whatever happens. */
const PING_MAX = 6000;
/** Pings of the idle baseline, before any transfer. */
const IDLE_PINGS = 50;
/** How long pings still out at the end of a transfer may take before they count as lost. */
const PING_GRACE_MS = 2000;
const GENERATE_CHUNK = MIB;
/** Hard limits, in ms. */
const CHILD_LIFETIME = 600_000;
const READY_TIMEOUT = 30_000;
const STEP_TIMEOUT = 10_000;

/**
 * Longest a transfer of `bytes` may take (a floor of 10 MB/s, far below anything seen here), and
 * so the deadline of every wait for it.
 *
 * @param {number} bytes
 */
function transferTimeout(bytes) {
  return 30_000 + bytes / 10_000;
}

/**
 * A positive integer from the environment, or `fallback`.
 *
 * @param {string} name
 * @param {number} fallback
 */
export function positiveIntegerFromEnv(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer, not ${JSON.stringify(text)}`);
  }
  return value;
}

/**
 * Writes `bytes` random bytes to `path` and returns their SHA-256. The file is synced to disk
 * before the rounds: 1 GiB of dirty pages written back during a round would take CPU and disk
 * time from whichever contender happened to be running. It stays in the page cache (the machine
 * has memory to spare), so both contenders read it from memory.
 *
 * @param {string} path
 * @param {number} bytes
 * @returns {Promise<string>} hex
 */
async function generateSource(path, bytes) {
  const handle = await open(path, 'wx');
  const hash = createHash('sha256');
  try {
    for (let offset = 0; offset < bytes;) {
      const chunk = randomBytes(Math.min(GENERATE_CHUNK, bytes - offset));
      hash.update(chunk);
      for (let done = 0; done < chunk.length;) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.length - done);
        done += bytesWritten;
      }
      offset += chunk.length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/**
 * @typedef {object} Source the file sent by every contender
 * @property {string} directory the run's temporary folder
 * @property {string} path
 * @property {number} size
 * @property {string} sha256
 */

/**
 * Makes the run's source file, `source.bin` in `directory`, of `size` random bytes (see
 * generateSource), and times it.
 *
 * @param {string} directory
 * @param {number} size
 * @returns {Promise<{ source: Source, generateSeconds: number }>}
 */
async function makeSource(directory, size) {
  const path = join(directory, 'source.bin');
  const generateStart = performance.now();
  const sha256 = await generateSource(path, size);
  const generateSeconds = (performance.now() - generateStart) / 1000;
  return { source: { directory, path, size, sha256 }, generateSeconds };
}

/**
 * Throws unless a lanchat receiver's `received` message describes the source: the size offered,
 * the size on disk, and the SHA-256 (announced in the offer, or the receiver's own of the file).
 *
 * @param {string} label the contender, for the error
 * @param {import('./children.mjs').ChildMessage} received
 * @param {Source} source
 */
export function checkReceived(label, received, source) {
  if (
    Number(received['bytesOnDisk']) !== source.size ||
    Number(received['size']) !== source.size ||
    received['sha256'] !== source.sha256
  ) {
    throw new Error(
      `${label}: the received file has ${String(received['bytesOnDisk'])} bytes on disk ` +
        `(offered ${String(received['size'])}), SHA-256 ${String(received['sha256'])}; the ` +
        `source ${source.size} bytes, SHA-256 ${source.sha256}`,
    );
  }
}

/**
 * @typedef {object} RawRound
 * @property {number} milliseconds first byte sent to the receiver's file closed
 * @property {number} senderCpuMilliseconds
 * @property {number} receiverCpuMilliseconds
 * @property {number} senderSystemCpuMilliseconds
 * @property {number} receiverSystemCpuMilliseconds
 * @property {number} fsyncMilliseconds the receiver's fsync after the close, outside the window
 */

/**
 * node flags for a child, to profile it when BENCH_TRANSFER_CPU_PROF names a folder.
 *
 * @param {string} name
 * @returns {string[]}
 */
function profileFlags(name) {
  const folder = process.env['BENCH_TRANSFER_CPU_PROF'];
  return folder === undefined
    ? []
    : ['--cpu-prof', '--cpu-prof-dir', folder, '--cpu-prof-name', `${name}.cpuprofile`];
}

/**
 * One plain copy (or, with `discard`, the bytes sent and dropped on arrival): a receiver
 * process, then a sender process, each started for this round only.
 *
 * @param {Source} source
 * @param {boolean} discard
 * @param {number} round
 * @returns {Promise<RawRound>}
 */
async function rawRound(source, discard, round) {
  const target = discard ? DISCARD : join(source.directory, 'raw-copy.bin');
  const name = `transfer-${discard ? 'socket' : 'raw'}-${round}`;
  const timeout = transferTimeout(source.size);
  const receiver = startChild('./transfer-raw.mjs', {
    label: `${discard ? 'socket-only' : 'raw'} receiver`,
    args: ['receive', target, String(CHILD_LIFETIME)],
    execArgv: profileFlags(`${name}-receiver`),
    lifetimeMs: CHILD_LIFETIME,
  });
  /** @type {import('./children.mjs').Child | undefined} */
  let sender;
  try {
    const port = Number((await receiver.next('listening', READY_TIMEOUT))['port']);
    sender = startChild('./transfer-raw.mjs', {
      label: `${discard ? 'socket-only' : 'raw'} sender`,
      args: ['send', source.path, String(port), String(CHILD_LIFETIME)],
      execArgv: profileFlags(`${name}-sender`),
      lifetimeMs: CHILD_LIFETIME,
    });
    // The receiver answers after its fsync and its hash of the copy: give it the time of both.
    const [sent, received] = await Promise.all([
      sender.next('sent', timeout),
      receiver.next('received', 2 * timeout),
    ]);
    if (Number(sent['bytes']) !== source.size || Number(received['bytes']) !== source.size) {
      throw new Error(
        `raw copy: ${String(sent['bytes'])} bytes sent, ${String(received['bytes'])} received, ` +
          `not ${source.size}`,
      );
    }
    if (!discard && received['sha256'] !== source.sha256) {
      throw new Error('raw copy: the copy differs from the source (SHA-256)');
    }
    return {
      milliseconds: Number(received['closedAt']) - Number(sent['startedAt']),
      senderCpuMilliseconds: Number(sent['cpuMilliseconds']),
      receiverCpuMilliseconds: Number(received['cpuMilliseconds']),
      senderSystemCpuMilliseconds: Number(sent['systemCpuMilliseconds']),
      receiverSystemCpuMilliseconds: Number(received['systemCpuMilliseconds']),
      fsyncMilliseconds: discard ? NaN : Number(received['fsyncMilliseconds']),
    };
  } finally {
    await sender?.stop();
    await receiver.stop();
    if (!discard) await rm(target, { force: true });
  }
}

/**
 * One round of the ceiling (transfer-sealed.mjs): a receiver, a relay and a sender process, each
 * started for this round only; the relay's CPU is over the whole round (its start included).
 *
 * @param {Source} source
 * @param {number} round
 * @returns {Promise<RawRound & { relayCpuMilliseconds: number }>}
 */
async function sealedRound(source, round) {
  const target = join(source.directory, 'sealed-copy.bin');
  const name = `transfer-sealed-${round}`;
  const timeout = transferTimeout(source.size);
  /** @type {import('./children.mjs').Child[]} */
  const children = [];
  /**
   * @param {string} role
   * @param {string[]} args
   */
  const start = (role, args) => {
    const child = startChild('./transfer-sealed.mjs', {
      label: `sealed ${role}`,
      args: [role, ...args, String(CHILD_LIFETIME)],
      execArgv: profileFlags(`${name}-${role}`),
      lifetimeMs: CHILD_LIFETIME,
    });
    children.push(child);
    return child;
  };
  try {
    const receiver = start('receive', [target]);
    const receiverPort = Number((await receiver.next('listening', READY_TIMEOUT))['port']);
    const relay = start('relay', [String(receiverPort)]);
    const relayPort = Number((await relay.next('listening', READY_TIMEOUT))['port']);
    const sender = start('send', [source.path, String(relayPort)]);
    const [sent, received] = await Promise.all([
      sender.next('sent', timeout),
      receiver.next('received', 2 * timeout),
    ]);
    const relayCpu = Number((await relay.ask({ type: 'cpu' }, 'cpu', 10_000))['milliseconds']);
    if (Number(sent['bytes']) !== source.size || Number(received['bytes']) !== source.size) {
      throw new Error(
        `sealed copy: ${String(sent['bytes'])} bytes sent, ${String(received['bytes'])} ` +
          `received, not ${source.size}`,
      );
    }
    if (received['sha256'] !== source.sha256) {
      throw new Error('sealed copy: the copy differs from the source (SHA-256)');
    }
    return {
      milliseconds: Number(received['closedAt']) - Number(sent['startedAt']),
      senderCpuMilliseconds: Number(sent['cpuMilliseconds']),
      receiverCpuMilliseconds: Number(received['cpuMilliseconds']),
      senderSystemCpuMilliseconds: Number(sent['systemCpuMilliseconds']),
      receiverSystemCpuMilliseconds: Number(received['systemCpuMilliseconds']),
      fsyncMilliseconds: NaN,
      relayCpuMilliseconds: relayCpu,
    };
  } finally {
    for (const child of children.reverse()) await child.stop();
    await rm(target, { force: true });
  }
}

/**
 * @typedef {object} LanchatSide the lanchat processes, up for the whole run
 * @property {import('./children.mjs').Child} server
 * @property {import('./children.mjs').Child} sender
 * @property {import('./children.mjs').Child} receiver
 * @property {import('./children.mjs').Child} chat
 * @property {() => Promise<{ total: number, system: number }>} serverCpu CPU ms of the server's
 *   process so far, and the kernel's part of it
 * @property {() => Promise<void>} stop
 */

/** @returns {Promise<LanchatSide>} once every client is logged in */
async function startLanchat() {
  const children = childGroup('./transfer-lanchat.mjs', {
    label: (role) => `lanchat ${role}`,
    execArgv: (role) => profileFlags(`transfer-lanchat-${role}`),
    lifetimeMs: CHILD_LIFETIME,
  });
  try {
    const server = children.start('server', []);
    const port = String((await server.next('listening', READY_TIMEOUT))['port']);
    const sender = children.start('sender', [port]);
    const receiver = children.start('receiver', [port]);
    const chat = children.start('chat', [port]);
    await Promise.all([sender, receiver, chat].map((child) => child.next('ready', READY_TIMEOUT)));
    return {
      server,
      sender,
      receiver,
      chat,
      serverCpu: async () => {
        const answer = await server.ask({ type: 'cpu' }, 'cpu', STEP_TIMEOUT);
        return {
          total: Number(answer['milliseconds']),
          system: Number(answer['systemMilliseconds']),
        };
      },
      stop: children.stop,
    };
  } catch (error) {
    children.kill();
    throw error;
  }
}

/**
 * One phase of chat pings, as the `chat` child reports it (see runChatPings in child-support.mjs).
 *
 * @typedef {object} Pings
 * @property {number} sent
 * @property {number} lost still out at the end of the grace period
 * @property {number[]} roundTrips in ms
 * @property {number} cpuMilliseconds the chat process's CPU time over the phase
 */

/**
 * @param {import('./children.mjs').ChildMessage} message
 * @returns {Pings}
 */
function pingsOf(message) {
  return {
    sent: Number(message['sent']),
    lost: Number(message['lost']),
    roundTrips: /** @type {number[]} */ (message['roundTrips']),
    cpuMilliseconds: Number(message['cpuMilliseconds']),
  };
}

/**
 * Starts the pings of a `chat` child for a transfer: one every PING_INTERVAL_MS, PING_MAX at
 * most, until stopPings.
 *
 * @param {import('./children.mjs').Child} chat
 */
export function startPings(chat) {
  chat.send({ type: 'ping-start', intervalMs: PING_INTERVAL_MS, maxCount: PING_MAX });
}

/**
 * Stops the pings of a `chat` child: those still out get PING_GRACE_MS, then count as lost.
 *
 * @param {import('./children.mjs').Child} chat
 */
export function stopPings(chat) {
  chat.send({ type: 'ping-stop', graceMs: PING_GRACE_MS });
}

/**
 * What the pings of a `chat` child saw, once stopped (see stopPings).
 *
 * @param {import('./children.mjs').Child} chat
 * @returns {Promise<Pings>}
 */
export async function pingResult(chat) {
  return pingsOf(await chat.next('ping-result', PING_GRACE_MS + STEP_TIMEOUT));
}

/**
 * @typedef {object} LanchatRound
 * @property {number} milliseconds the transfer: sender's transfer-accepted to transfer-completed
 * @property {number} hashMilliseconds sendFile's hashing (and queuing the offer)
 * @property {number} offerMilliseconds offer queued to transfer-accepted (the receiver's
 *   acceptFile and two trips through the server)
 * @property {number} endToEndMilliseconds sendFile called to transfer-completed
 * @property {number} receiverTailMilliseconds receiver: last byte written to saved
 * @property {number} senderHashCpuMilliseconds
 * @property {number} senderCpuMilliseconds over the transfer
 * @property {number} serverCpuMilliseconds over the transfer
 * @property {number} receiverCpuMilliseconds offer to saved
 * @property {number} chatCpuMilliseconds the pinger and ponger's process, over the pings
 * @property {number} senderSystemCpuMilliseconds the kernel's part, over the transfer
 * @property {number} serverSystemCpuMilliseconds
 * @property {number} receiverSystemCpuMilliseconds
 * @property {number} progressEvents the sender's transfer-progress events
 * @property {Pings} pings
 */

/**
 * One lanchat transfer, with pings through the server while it runs.
 *
 * @param {LanchatSide} side
 * @param {Source} source
 * @param {number} round
 * @returns {Promise<LanchatRound>}
 */
async function lanchatRound(side, source, round) {
  const directory = join(source.directory, `lanchat-${round}`);
  const timeout = transferTimeout(source.size);
  try {
    await side.receiver.ask({ type: 'receive', directory }, 'expecting', STEP_TIMEOUT);
    side.sender.send({ type: 'send', path: source.path });
    // Hashing comes first, about as long as the transfer at worst.
    await side.sender.next('accepted', timeout);
    startPings(side.chat);
    const serverCpuBefore = await side.serverCpu();
    const sent = await side.sender.next('sent', timeout);
    stopPings(side.chat);
    const serverCpuAfter = await side.serverCpu();
    const [pings, received] = await Promise.all([
      pingResult(side.chat),
      side.receiver.next('received', STEP_TIMEOUT),
    ]);
    checkReceived('lanchat', received, source);
    return {
      ...sentTimes(sent),
      receiverTailMilliseconds: Number(received['tailMilliseconds']),
      senderHashCpuMilliseconds: Number(sent['hashCpuMilliseconds']),
      senderCpuMilliseconds: Number(sent['transferCpuMilliseconds']),
      serverCpuMilliseconds: serverCpuAfter.total - serverCpuBefore.total,
      senderSystemCpuMilliseconds: Number(sent['transferSystemCpuMilliseconds']),
      serverSystemCpuMilliseconds: serverCpuAfter.system - serverCpuBefore.system,
      receiverSystemCpuMilliseconds: Number(received['systemCpuMilliseconds']),
      receiverCpuMilliseconds: Number(received['cpuMilliseconds']),
      chatCpuMilliseconds: pings.cpuMilliseconds,
      progressEvents: Number(sent['progressEvents']),
      pings,
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * The sender's times of one lanchat transfer, in ms, from its `sent` message (see senderTimes in
 * child-support.mjs): `milliseconds` the transfer (transfer-accepted to transfer-completed),
 * `hashMilliseconds`, `offerMilliseconds`, `endToEndMilliseconds`.
 *
 * @param {import('./children.mjs').ChildMessage} sent
 */
export function sentTimes(sent) {
  return {
    milliseconds: Number(sent['transferMilliseconds']),
    hashMilliseconds: Number(sent['hashMilliseconds']),
    offerMilliseconds: Number(sent['offerMilliseconds']),
    endToEndMilliseconds: Number(sent['endToEndMilliseconds']),
  };
}

/**
 * Chat round trips with nothing else going on, to set the figures under load against: IDLE_PINGS
 * pings of a `chat` child, one every PING_INTERVAL_MS; those not back PING_GRACE_MS after the last
 * was sent count as lost.
 *
 * @param {import('./children.mjs').Child} chat
 * @returns {Promise<Pings>}
 */
export async function idlePings(chat) {
  const message = await chat.ask(
    {
      type: 'ping-start',
      intervalMs: PING_INTERVAL_MS,
      maxCount: IDLE_PINGS,
      untilDone: true,
      graceMs: PING_GRACE_MS,
    },
    'ping-result',
    IDLE_PINGS * PING_INTERVAL_MS + PING_GRACE_MS + STEP_TIMEOUT,
  );
  return pingsOf(message);
}

/**
 * @param {readonly number[]} values
 * @param {number} fraction
 */
function percentile(values, fraction) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? NaN;
}

/**
 * Every round trip of `phases` together: how many were sent, came back, were lost, and the
 * percentiles and the longest, in ms.
 *
 * @param {readonly Pings[]} phases
 */
export function summarizePings(phases) {
  const roundTrips = phases.flatMap((phase) => phase.roundTrips);
  return {
    sent: phases.reduce((sum, phase) => sum + phase.sent, 0),
    received: roundTrips.length,
    lost: phases.reduce((sum, phase) => sum + phase.lost, 0),
    p50: roundTo(percentile(roundTrips, 0.5), 2),
    p90: roundTo(percentile(roundTrips, 0.9), 2),
    p99: roundTo(percentile(roundTrips, 0.99), 2),
    max: roundTo(Math.max(...roundTrips), 2),
  };
}

/**
 * Bytes per second over `milliseconds`, and the per-round figures, for one row.
 *
 * @param {number} size
 * @param {readonly number[]} milliseconds one per round
 */
function summarizeTimes(size, milliseconds) {
  const middle = median(milliseconds);
  return {
    bytesPerSecond: roundSignificant((size * 1000) / middle, 3),
    medianMilliseconds: roundTo(middle, 1),
    roundMilliseconds: milliseconds.map((ms) => roundTo(ms, 1)),
  };
}

/**
 * Median CPU-seconds per GiB moved.
 *
 * @param {number} size
 * @param {readonly number[]} milliseconds CPU ms, one per round
 */
function cpuPerGib(size, milliseconds) {
  return roundSignificant(median(milliseconds) / 1000 / (size / GIB), 3);
}

/** @param {number} bytesPerSecond */
function formatThroughput(bytesPerSecond) {
  return `${(bytesPerSecond / 1e6).toFixed(0)} MB/s`;
}

/** The machine's 1-minute load average: other work on the machine skews everything here. */
function loadAverage() {
  return roundTo(loadavg()[0] ?? NaN, 2);
}

/**
 * Makes the run's temporary folder, and removes it again however the run ends: normally or by
 * an error (`remove`), by process.exit, or by Ctrl-C / SIGTERM (then the signal is raised again,
 * so the process ends as it would have).
 *
 * @param {string} prefix of the folder's name, in the system's temporary folder
 */
async function makeTemporaryFolder(prefix) {
  const directory = await mkdtemp(join(tmpdir(), prefix));
  const removeNow = () => {
    rmSync(directory, { recursive: true, force: true });
  };
  /** @param {NodeJS.Signals} signal */
  const onSignal = (signal) => {
    removeNow();
    detach();
    process.kill(process.pid, signal);
  };
  const detach = () => {
    process.off('exit', removeNow);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('exit', removeNow);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    directory,
    remove: async () => {
      detach();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Runs the rounds of a file-transfer benchmark on one source file: reads the machine's load
 * average, makes the file (see makeSource) in a temporary folder whose name starts with `prefix`
 * (see makeTemporaryFolder), runs `rounds` on it, reads the load average again, and removes the
 * folder however the run ends.
 *
 * @template {object} T
 * @param {string} prefix
 * @param {number} size of the file
 * @param {(source: Source) => Promise<T>} rounds
 * @returns {Promise<T & { generateSeconds: number, loadBefore: number, loadAfter: number }>}
 */
export async function roundsOnSource(prefix, size, rounds) {
  const loadBefore = loadAverage();
  const temporary = await makeTemporaryFolder(prefix);
  try {
    const { source, generateSeconds } = await makeSource(temporary.directory, size);
    const results = await rounds(source);
    return { ...results, generateSeconds, loadBefore, loadAfter: loadAverage() };
  } finally {
    await temporary.remove();
  }
}

/**
 * Runs the transfer benchmark, prints the report line by line, and returns the result for the
 * final JSON line.
 *
 * @param {(line: string) => void} [print]
 */
export async function runTransfer(print = printToStdout) {
  const sizeMib = positiveIntegerFromEnv('BENCH_TRANSFER_MB', 1024);
  const rounds = positiveIntegerFromEnv('BENCH_TRANSFER_ROUNDS', 2);
  const size = sizeMib * MIB;
  const order = Array.from({ length: rounds }, (_, round) =>
    round % 2 === 0 ? 'raw, socket only, sealed, lanchat' : 'lanchat, sealed, socket only, raw',
  ).join(', ');
  print(
    `transfer: one file of ${sizeMib} MiB of random bytes (made once, synced, then read from the ` +
      'page cache) from one process to another on loopback, all in the same run, ' +
      `${rounds} round(s) each, interleaved (${order}), median. The limit (raw): a plain ` +
      'node:net copy between two node processes, read stream (1 MiB reads) piped into the ' +
      'socket, socket piped into a write stream (1 MiB buffer), first byte sent to the ' +
      "receiver's file closed; socket only: the same with the bytes dropped on arrival " +
      '(information); sealed (the ceiling): the same copy through a relay process that passes ' +
      'the bytes on, sealed end to end with node:crypto (AES-256-GCM pieces of 256 KiB of the ' +
      'file), the receiver opening them and taking the SHA-256, and nothing else. lanchat: listenChat server, sender and receiver connectChat clients, each ' +
      'in its own process, Noise-encrypted, relayed by the server',
  );
  print(
    "lanchat's throughput and the ratio are over the transfer alone: sender's transfer-accepted " +
      "to its transfer-completed (which comes after the receiver's SHA-256 check, fsync and " +
      'rename; the limit has no fsync). sendFile first reads the whole file to hash it (SHA-256 + ' +
      'MD5): timed apart; end to end = sendFile called to transfer-completed. CPU s/GiB: CPU ' +
      'time (user + system) of each process over the transfer, per GiB moved; busy: CPU time / ' +
      `wall time (100% = one of the machine's ${availableParallelism()} cores)`,
  );

  const run = await roundsOnSource('lanchat-bench-transfer-', size, async (source) => {
    const side = await startLanchat();
    try {
      const idle = await idlePings(side.chat);
      /** @type {RawRound[]} */
      const raw = [];
      /** @type {RawRound[]} */
      const socketOnly = [];
      /** @type {LanchatRound[]} */
      const lanchat = [];
      /** @type {(RawRound & { relayCpuMilliseconds: number })[]} */
      const sealed = [];
      for (let round = 0; round < rounds; round++) {
        if (round % 2 === 0) {
          raw.push(await rawRound(source, false, round));
          socketOnly.push(await rawRound(source, true, round));
          sealed.push(await sealedRound(source, round));
          lanchat.push(await lanchatRound(side, source, round));
        } else {
          lanchat.push(await lanchatRound(side, source, round));
          sealed.push(await sealedRound(source, round));
          socketOnly.push(await rawRound(source, true, round));
          raw.push(await rawRound(source, false, round));
        }
      }
      return { raw, socketOnly, sealed, lanchat, idle };
    } finally {
      await side.stop();
    }
  });
  return report(print, { size, rounds, ...run });
}

/**
 * @typedef {object} Row one line of the table
 * @property {string} label
 * @property {ReturnType<typeof summarizeTimes>} times
 * @property {number | undefined} senderCpu CPU s/GiB
 * @property {number | undefined} serverCpu
 * @property {number | undefined} receiverCpu
 */

/**
 * Prints the table and the target lines, and returns the result for the JSON line.
 *
 * @param {(line: string) => void} print
 * @param {{ size: number, rounds: number, generateSeconds: number, raw: RawRound[],
 *   socketOnly: RawRound[], sealed: (RawRound & { relayCpuMilliseconds: number })[],
 *   lanchat: LanchatRound[], idle: Pings, loadBefore: number, loadAfter: number }} run
 */
function report(print, run) {
  const { size, lanchat } = run;
  /**
   * @template T
   * @param {readonly T[]} rounds
   * @param {(round: T) => number} pick
   */
  const cpu = (rounds, pick) => cpuPerGib(size, rounds.map(pick));
  /** @param {readonly RawRound[]} rounds */
  const rawSummary = (rounds) => ({
    ...summarizeTimes(
      size,
      rounds.map((round) => round.milliseconds),
    ),
    cpuSecondsPerGiB: {
      sender: cpu(rounds, (round) => round.senderCpuMilliseconds),
      receiver: cpu(rounds, (round) => round.receiverCpuMilliseconds),
    },
    systemCpuSecondsPerGiB: {
      sender: cpu(rounds, (round) => round.senderSystemCpuMilliseconds),
      receiver: cpu(rounds, (round) => round.receiverSystemCpuMilliseconds),
    },
  });
  const raw = {
    ...rawSummary(run.raw),
    receiverFsyncMilliseconds: roundTo(median(run.raw.map((round) => round.fsyncMilliseconds)), 1),
  };
  const socketOnly = rawSummary(run.socketOnly);
  const sealed = {
    ...rawSummary(run.sealed),
    relayCpuSecondsPerGiB: cpu(run.sealed, (round) => round.relayCpuMilliseconds),
  };
  const transfer = summarizeTimes(
    size,
    lanchat.map((round) => round.milliseconds),
  );
  const hashing = summarizeTimes(
    size,
    lanchat.map((round) => round.hashMilliseconds),
  );
  const endToEnd = summarizeTimes(
    size,
    lanchat.map((round) => round.endToEndMilliseconds),
  );
  const lanchatCpu = {
    sender: cpu(lanchat, (round) => round.senderCpuMilliseconds),
    server: cpu(lanchat, (round) => round.serverCpuMilliseconds),
    receiver: cpu(lanchat, (round) => round.receiverCpuMilliseconds),
    pingProcess: cpu(lanchat, (round) => round.chatCpuMilliseconds),
    senderHashing: cpu(lanchat, (round) => round.senderHashCpuMilliseconds),
  };
  const lanchatSystemCpu = {
    sender: cpu(lanchat, (round) => round.senderSystemCpuMilliseconds),
    server: cpu(lanchat, (round) => round.serverSystemCpuMilliseconds),
    receiver: cpu(lanchat, (round) => round.receiverSystemCpuMilliseconds),
  };
  const receiverTail = roundTo(median(lanchat.map((round) => round.receiverTailMilliseconds)), 1);
  const offer = roundTo(median(lanchat.map((round) => round.offerMilliseconds)), 1);

  /** @type {Row[]} */
  const rows = [
    {
      label: 'raw node:net copy (the limit)',
      times: raw,
      senderCpu: raw.cpuSecondsPerGiB.sender,
      serverCpu: undefined,
      receiverCpu: raw.cpuSecondsPerGiB.receiver,
    },
    {
      label: 'socket only, no file written (information)',
      times: socketOnly,
      senderCpu: socketOnly.cpuSecondsPerGiB.sender,
      serverCpu: undefined,
      receiverCpu: socketOnly.cpuSecondsPerGiB.receiver,
    },
    {
      label: 'sealed end to end (the ceiling)',
      times: sealed,
      senderCpu: sealed.cpuSecondsPerGiB.sender,
      serverCpu: sealed.relayCpuSecondsPerGiB,
      receiverCpu: sealed.cpuSecondsPerGiB.receiver,
    },
    {
      label: 'lanchat transfer (accepted to completed)',
      times: transfer,
      senderCpu: lanchatCpu.sender,
      serverCpu: lanchatCpu.server,
      receiverCpu: lanchatCpu.receiver,
    },
    {
      label: 'lanchat hashing in sendFile (SHA-256 + MD5)',
      times: hashing,
      senderCpu: lanchatCpu.senderHashing,
      serverCpu: undefined,
      receiverCpu: undefined,
    },
    {
      label: 'lanchat end to end (sendFile to completed)',
      times: endToEnd,
      senderCpu: undefined,
      serverCpu: undefined,
      receiverCpu: undefined,
    },
  ];
  /**
   * CPU s/GiB and, over the row's own median time, busy.
   *
   * @param {number | undefined} cpuSecondsPerGib
   * @param {number} medianMilliseconds
   */
  const cpuCell = (cpuSecondsPerGib, medianMilliseconds) => {
    if (cpuSecondsPerGib === undefined) return '-';
    const busy = (cpuSecondsPerGib * (size / GIB)) / (medianMilliseconds / 1000);
    return `${cpuSecondsPerGib.toFixed(2)} (${Math.round(busy * 100)}%)`;
  };
  const table = [
    ['', 'throughput', 'median s', 'rounds s', 'sender CPU s/GiB (busy)', 'server', 'receiver'],
    ...rows.map((row) => [
      row.label,
      formatThroughput(row.times.bytesPerSecond),
      (row.times.medianMilliseconds / 1000).toFixed(2),
      row.times.roundMilliseconds.map((ms) => (ms / 1000).toFixed(2)).join(' '),
      cpuCell(row.senderCpu, row.times.medianMilliseconds),
      cpuCell(row.serverCpu, row.times.medianMilliseconds),
      cpuCell(row.receiverCpu, row.times.medianMilliseconds),
    ]),
  ];
  for (const line of formatTable(table)) print(`  ${line}`);
  /** @param {Record<string, number>} figures */
  const list = (figures) =>
    Object.entries(figures)
      .map(([name, value]) => `${name} ${value.toFixed(2)}`)
      .join(', ');
  print(
    `  of which kernel (system) time, CPU s/GiB: raw ${list(raw.systemCpuSecondsPerGiB)}; socket ` +
      `only ${list(socketOnly.systemCpuSecondsPerGiB)}; lanchat ${list(lanchatSystemCpu)} (the ` +
      'rest is user space: JavaScript, encryption, hashing)',
  );
  print(
    `  lanchat: offer to acceptance ${offer.toFixed(1)} ms; receiver's tail (last byte written ` +
      `to saved: SHA-256 check, fsync, rename; inside the transfer time) ${receiverTail.toFixed(1)} ` +
      `ms; the ping process ${lanchatCpu.pingProcess.toFixed(2)} CPU s/GiB. raw: the receiver's ` +
      `fsync after its close (not in the limit) ${raw.receiverFsyncMilliseconds.toFixed(1)} ms. ` +
      `Making the file took ${run.generateSeconds.toFixed(1)} s`,
  );

  const ratio = transfer.bytesPerSecond / raw.bytesPerSecond;
  const endToEndRatio = endToEnd.bytesPerSecond / raw.bytesPerSecond;
  const socketRatio = transfer.bytesPerSecond / socketOnly.bytesPerSecond;
  const ratioMet = ratio >= RATIO_TARGET;
  const ceilingRatio = sealed.bytesPerSecond / raw.bytesPerSecond;
  const lanchatVsCeiling = transfer.bytesPerSecond / sealed.bytesPerSecond;
  print(
    `  target: lanchat transfer (accepted to completed, encrypted, through the server) >= ` +
      `${RATIO_TARGET}x the raw copy: ${ratio.toFixed(2)}x, ${ratioMet ? 'met' : 'NOT MET'} ` +
      `(end to end, hashing included: ${endToEndRatio.toFixed(2)}x; against the socket only: ` +
      `${socketRatio.toFixed(2)}x)`,
  );
  print(
    `  ceiling: the copy sealed end to end through a relay reaches ${ceilingRatio.toFixed(2)}x ` +
      "the raw copy (its relay's CPU in the server column); lanchat " +
      `${lanchatVsCeiling.toFixed(2)}x the ceiling`,
  );

  const busyPings = summarizePings(lanchat.map((round) => round.pings));
  const idlePings = summarizePings([run.idle]);
  const latencyMet = busyPings.p99 <= P99_TARGET_MS && busyPings.lost === 0;
  print(
    `  chat round trip during the lanchat transfers (pinger to ponger and back through the ` +
      `server, private messages, one every ${PING_INTERVAL_MS} ms, both clients in a fourth ` +
      `process): ${busyPings.received} of ${busyPings.sent} back, p50 ${busyPings.p50.toFixed(2)} ` +
      `ms, p90 ${busyPings.p90.toFixed(2)} ms, p99 ${busyPings.p99.toFixed(2)} ms, max ` +
      `${busyPings.max.toFixed(2)} ms; idle, before the rounds (${idlePings.received} pings): ` +
      `p50 ${idlePings.p50.toFixed(2)} ms, p99 ${idlePings.p99.toFixed(2)} ms`,
  );
  print(
    `  target: chat p99 <= ${P99_TARGET_MS} ms while the transfer runs: ` +
      `${busyPings.p99.toFixed(2)} ms${busyPings.lost > 0 ? `, ${busyPings.lost} lost` : ''}, ` +
      `${latencyMet ? 'met' : 'NOT MET'}; machine load average ${run.loadBefore} before, ` +
      `${run.loadAfter} after`,
  );

  return {
    benchmark: 'transfer',
    sizeBytes: size,
    rounds: run.rounds,
    loadAverage: { before: run.loadBefore, after: run.loadAfter },
    raw,
    socketOnly,
    sealed,
    lanchat: {
      transfer,
      hashing,
      endToEnd,
      cpuSecondsPerGiB: lanchatCpu,
      systemCpuSecondsPerGiB: lanchatSystemCpu,
      offerMilliseconds: offer,
      receiverTailMilliseconds: receiverTail,
      progressEvents: median(lanchat.map((round) => round.progressEvents)),
    },
    chat: {
      intervalMilliseconds: PING_INTERVAL_MS,
      duringTransfer: busyPings,
      idle: idlePings,
    },
    ratios: {
      transferVsRaw: roundTo(ratio, 2),
      sealedVsRaw: roundTo(ceilingRatio, 2),
      transferVsSealed: roundTo(lanchatVsCeiling, 2),
      endToEndVsRaw: roundTo(endToEndRatio, 2),
      transferVsSocketOnly: roundTo(socketRatio, 2),
    },
    targets: {
      transferVsRaw: { target: RATIO_TARGET, actual: roundTo(ratio, 2), met: ratioMet },
      chatP99Milliseconds: { target: P99_TARGET_MS, actual: busyPings.p99, met: latencyMet },
    },
  };
}
