// @ts-check
/**
 * UDP file-transfer benchmark: one file of random bytes (64 MiB, or BENCH_UDP_MB MiB) sent by
 * lanchat over UDP on loopback, against the limit: raw node:dgram throughput between two node
 * processes in the same run (udp-raw.mjs), datagrams of 1200 bytes, the largest a lanchat UDP
 * session sends. Same file, same run, rounds interleaved (each round runs every contender once,
 * odd rounds in the reverse order) so that a slow moment of the shared machine hits all of them.
 *
 * The limit: a sender process sends the file in 1200-byte datagrams as fast as the kernel takes
 * them (at most 64 sends waiting for their callback), 4 MiB socket buffers both ends. The figure
 * is the bytes the receiver got over the span from the first to the last datagram it got (its own
 * clock): what one node process can read, for on loopback the kernel drops at once what the
 * receiver has no room for, and the sender never waits for the receiver. The datagrams it did not
 * get are the kernel's loss share, reported beside.
 *
 * The ceiling (`sealed`, udp-raw.mjs with sealed-lines.mjs): the same sender, but each datagram
 * carries 1,176 file bytes sealed with ChaCha20-Poly1305 (node:crypto, explicit counter nonce) and
 * goes to a relay process, which opens it and seals it again for the receiver, which opens it:
 * the encryption any relay of encrypted datagrams pays, and nothing else (no acknowledgements,
 * resends, window, file or hash). Its figure is file bytes received over the receiver's first to
 * last datagram, as the limit's.
 *
 * lanchat, three contenders, each round with a fresh set of processes (server, sender,
 * receiver, the two chat clients, and the relay if any, each in a process of its own, as on a
 * network; every client a `connectChatUdp` client, a fresh session each round, so every
 * contender starts alike):
 * - direct: the clients talk to the `listenChatUdp` server straight;
 * - relay 0%: through `startLossyRelay` of @lanchat/udp/testing, set to pass everything;
 * - relay 5%: through the same relay, set up the same way but for the rates: 5% loss, 1%
 *   duplication, 2% reordering (held 2 ms), each way, the same seed as the relay 0% round of the
 *   same round.
 * The relay runs in a process of its own rather than in the server's: it forwards every datagram
 * of both clients both ways, in JavaScript, which in the server's process would take the server's
 * event loop and CPU and blur both figures; alone, its CPU time is its own and it cannot hold up
 * the server's acknowledgements. The relay 0% round is what the 5% one is set against, not the
 * direct one: the ratio is then the cost of the losses alone, not of the relay.
 *
 * lanchat's throughput (goodput: file bytes over time) is over the transfer alone: the sender's
 * `transfer-accepted` to its `transfer-completed` (which comes once the receiver has checked the
 * SHA-256, synced the file and given it its name), in the sender's clock, as in transfer.mjs;
 * sendFile's hashing of the file before the offer is timed apart. The receiver then hashes the
 * file on disk itself, outside the timed window, and the run fails if it differs from the source.
 * The sender's longest wait between `transfer-accepted` and each `transfer-progress` (one every
 * ~90 KB acknowledged) is printed too: a stall of the transfer (a resend timer, a full window)
 * shows there, where the mean hides it.
 *
 * While each lanchat transfer runs, two chat-only clients, `pinger` and `ponger` (`connectChatUdp`
 * clients too, in a process of their own, through the relay where there is one, like the file's
 * clients), time private-message round trips through the same server, one every 20 ms, as
 * transfer.mjs does over TCP and with its code (runChatPings of child-support.mjs, the pings of
 * transfer.mjs): at most 6000 in a transfer, started at the sender's `transfer-accepted` and
 * stopped at its `transfer-completed`; those still out 2 s later count as lost. Just before the
 * transfer, the same clients time 50 round trips with nothing else going on: the contender's idle
 * baseline. p50, p99 and the longest are taken in each round, and their medians over the rounds
 * quoted. The issue sets no target for chat over UDP: TCP's (p99 at most 50 ms during a transfer)
 * is printed beside, for information.
 *
 * Every process reports its CPU time over the transfer (the server and the relay sampled over IPC
 * at the sender's `accepted` and `sent`), printed in CPU-seconds with the process's busy share
 * (CPU time over the contender's wall time; 100% = one core; the machine has two, shared by up to
 * five processes here, so a process near 100% is the bottleneck). The machine-wide kernel counters
 * of UDP receive and send buffer errors (/proc/net/snmp, what `netstat -su` prints) are read
 * before and after each contender's transfer: other traffic on the machine counts in them too.
 *
 * BENCH_UDP_MB: the file's size in MiB (default 64). BENCH_UDP_ROUNDS: measured rounds of each
 * contender (default 2). Medians are quoted; every round is printed too. BENCH_UDP_CPU_PROF=DIR runs
 * the lanchat processes of the direct rounds with --cpu-prof into DIR.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { childGroup, startChild } from './children.mjs';
import { formatTable, median, printToStdout, roundSignificant, roundTo } from './lib.mjs';
import {
  P99_TARGET_MS,
  PING_INTERVAL_MS,
  checkReceived,
  idlePings,
  pingResult,
  positiveIntegerFromEnv,
  roundsOnSource,
  sentTimes,
  startPings,
  stopPings,
  summarizePings,
} from './transfer.mjs';
import { DATAGRAM_BYTES, SOCKET_BUFFER_BYTES } from './udp-raw.mjs';

const MIB = 1024 * 1024;
/** lanchat direct must reach at least this multiple of the raw dgram throughput. */
const RAW_RATIO_TARGET = 0.5;
/** lanchat's goodput at 5% loss must be at least this multiple of its goodput at 0%. */
const LOSS_RATIO_TARGET = 0.5;
/** The relay's settings: the same for both relay contenders but for the rates. */
const HOLD_MS = 2;
const SEED = 0x5eed;
/** @type {Rates} */
const CLEAN = { loss: 0, duplication: 0, reordering: 0 };
/** @type {Rates} */
const LOSSY = { loss: 0.05, duplication: 0.01, reordering: 0.02 };
/** Hard limits, in ms. */
const CHILD_LIFETIME = 600_000;
const READY_TIMEOUT = 30_000;
const STEP_TIMEOUT = 10_000;

/**
 * Longest a transfer of `bytes` may take (a floor of 1 MB/s, far below anything seen here), and
 * so the deadline of every wait for it.
 *
 * @param {number} bytes
 */
function transferTimeout(bytes) {
  return 30_000 + bytes / 1_000;
}

/**
 * @typedef {object} Rates what the relay does to each datagram, each way
 * @property {number} loss
 * @property {number} duplication
 * @property {number} reordering
 */

/** @typedef {import('./transfer.mjs').Source} Source */
/** @typedef {import('./transfer.mjs').Pings} Pings */

/**
 * The kernel's UDP error counters, machine-wide (Linux; all zero where /proc is not there).
 *
 * @returns {{ receiveBufferErrors: number, sendBufferErrors: number, inErrors: number }}
 */
function udpKernelCounters() {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('Udp: '));
    const names = (lines[0] ?? '').split(/\s+/).slice(1);
    const values = (lines[1] ?? '').split(/\s+/).slice(1).map(Number);
    /** @param {string} name */
    const pick = (name) => values[names.indexOf(name)] ?? NaN;
    return {
      receiveBufferErrors: pick('RcvbufErrors'),
      sendBufferErrors: pick('SndbufErrors'),
      inErrors: pick('InErrors'),
    };
  } catch {
    return { receiveBufferErrors: 0, sendBufferErrors: 0, inErrors: 0 };
  }
}

/**
 * @param {ReturnType<typeof udpKernelCounters>} before
 * @param {ReturnType<typeof udpKernelCounters>} after
 */
function counterDelta(before, after) {
  return {
    receiveBufferErrors: after.receiveBufferErrors - before.receiveBufferErrors,
    sendBufferErrors: after.sendBufferErrors - before.sendBufferErrors,
    inErrors: after.inErrors - before.inErrors,
  };
}

/**
 * @typedef {object} RawRound
 * @property {number} bytesPerSecond received, over the receiver's first to last datagram
 * @property {number} milliseconds that span
 * @property {number} sent datagrams
 * @property {number} received datagrams
 * @property {number} sendErrors failed sends (tried again)
 * @property {number} sendBytesPerSecond the sender's rate, over its own span (information)
 * @property {number} senderCpuMilliseconds
 * @property {number} receiverCpuMilliseconds
 * @property {number | undefined} relayCpuMilliseconds the sealed relay's, over the whole round
 * @property {{ forwarded: number, rejected: number, dropped: number } | undefined} relay the
 *   sealed relay's counts
 * @property {ReturnType<typeof counterDelta>} kernel
 */

/**
 * One raw round: a receiver process, then a sender process, each started for this round only.
 * `sealed`: the ceiling instead, a sealed receiver, then the sealed relay, then a sealed sender
 * sending to the relay (udp-raw.mjs, sealed-lines.mjs).
 *
 * @param {Source} source
 * @param {boolean} sealed
 * @returns {Promise<RawRound>}
 */
async function rawRound(source, sealed) {
  const timeout = transferTimeout(source.size);
  const name = sealed ? 'sealed dgram' : 'raw dgram';
  const flag = sealed ? ['sealed'] : [];
  const receiver = startChild('./udp-raw.mjs', {
    label: `${name} receiver`,
    args: ['receive', ...flag, String(CHILD_LIFETIME)],
    lifetimeMs: CHILD_LIFETIME,
  });
  /** @type {import('./children.mjs').Child | undefined} */
  let sender;
  /** @type {import('./children.mjs').Child | undefined} */
  let relay;
  try {
    const listening = await receiver.next('listening', READY_TIMEOUT);
    let port = Number(listening['port']);
    if (sealed) {
      relay = startChild('./udp-raw.mjs', {
        label: `${name} relay`,
        args: ['relay', String(port), String(CHILD_LIFETIME)],
        lifetimeMs: CHILD_LIFETIME,
      });
      port = Number((await relay.next('listening', READY_TIMEOUT))['port']);
    }
    const before = udpKernelCounters();
    sender = startChild('./udp-raw.mjs', {
      label: `${name} sender`,
      args: ['send', source.path, String(port), String(timeout), ...flag, String(CHILD_LIFETIME)],
      lifetimeMs: CHILD_LIFETIME,
    });
    const [sent, received] = await Promise.all([
      sender.next('sent', timeout + READY_TIMEOUT),
      receiver.next('received', timeout + READY_TIMEOUT),
    ]);
    const kernel = counterDelta(before, udpKernelCounters());
    const counts =
      relay === undefined ? undefined : await relay.ask({ type: 'counts' }, 'counts', 10_000);
    if (sent['complete'] !== true || Number(sent['bytes']) !== source.size) {
      throw new Error(
        `${name}: the sender handed ${String(sent['bytes'])} of ${source.size} bytes to the ` +
          `kernel in time (${String(sent['sendErrors'])} failed sends)`,
      );
    }
    if (Number(received['rejected'] ?? 0) > 0 || Number(counts?.['rejected'] ?? 0) > 0) {
      throw new Error(`${name}: datagrams failed authentication`);
    }
    const milliseconds = Number(received['milliseconds']);
    return {
      bytesPerSecond: (Number(received['bytes']) * 1000) / milliseconds,
      milliseconds,
      sent: Number(sent['datagrams']),
      received: Number(received['datagrams']),
      sendErrors: Number(sent['sendErrors']),
      sendBytesPerSecond: (source.size * 1000) / Number(sent['milliseconds']),
      senderCpuMilliseconds: Number(sent['cpuMilliseconds']),
      receiverCpuMilliseconds: Number(received['cpuMilliseconds']),
      relayCpuMilliseconds: counts === undefined ? undefined : Number(counts['cpuMilliseconds']),
      relay:
        counts === undefined
          ? undefined
          : {
              forwarded: Number(counts['forwarded']),
              rejected: Number(counts['rejected']),
              dropped: Number(counts['dropped']),
            },
      kernel,
    };
  } catch (error) {
    sender?.kill();
    relay?.kill();
    receiver.kill();
    throw error;
  } finally {
    await sender?.stop();
    await relay?.stop();
    await receiver.stop();
  }
}

/**
 * @typedef {object} RelayCounts
 * @property {number} received
 * @property {number} dropped
 * @property {number} duplicated
 * @property {number} reordered
 * @property {number} forwarded
 */

/**
 * @typedef {object} LanchatRound
 * @property {number} bytesPerSecond goodput: file bytes over the transfer time
 * @property {number} milliseconds the transfer: sender's transfer-accepted to transfer-completed
 * @property {number} hashMilliseconds sendFile's hashing (and queuing the offer)
 * @property {number} offerMilliseconds offer queued to transfer-accepted
 * @property {number} endToEndMilliseconds sendFile called to transfer-completed
 * @property {number} progressEvents the sender's transfer-progress events
 * @property {number} longestGapMilliseconds the sender's longest wait between acceptance and
 *   progress events: a stall shows here
 * @property {number} tailMilliseconds the sender's last progress event to transfer-completed
 * @property {number} senderCpuMilliseconds over the transfer
 * @property {number} serverCpuMilliseconds over the transfer
 * @property {number} receiverCpuMilliseconds offer to saved
 * @property {number | undefined} relayCpuMilliseconds over the transfer
 * @property {{ toServer: RelayCounts, toClient: RelayCounts } | undefined} relay its counters
 *   over the whole round (logins included)
 * @property {Record<string, number>} notices events that did not end the session, both clients
 * @property {Record<string, unknown>} serverStatistics
 * @property {ReturnType<typeof counterDelta>} kernel
 * @property {Pings} idlePings chat round trips just before the transfer
 * @property {Pings} pings chat round trips during the transfer
 */

/**
 * @param {import('./children.mjs').ChildMessage} message
 * @param {string} name
 * @returns {RelayCounts}
 */
function relayCounts(message, name) {
  const counts = /** @type {RelayCounts} */ (message[name]);
  return { ...counts };
}

/**
 * One lanchat transfer, with its own processes: server, then the relay (when `rates` is given),
 * then the two clients, stopped again at the end of the round.
 *
 * @param {Source} source
 * @param {Rates | undefined} rates
 * @param {number} round
 * @returns {Promise<LanchatRound>}
 */
async function lanchatRound(source, rates, round) {
  const timeout = transferTimeout(source.size);
  const directory = join(source.directory, `lanchat-${round}`);
  const children = childGroup('./udp-lanchat.mjs', {
    label: (role) =>
      `lanchat udp ${role}${rates === undefined ? '' : ` (relay ${rates.loss * 100}%)`}`,
    execArgv: (role) =>
      process.env['BENCH_UDP_CPU_PROF'] === undefined || rates !== undefined
        ? []
        : [
            '--cpu-prof',
            '--cpu-prof-dir',
            process.env['BENCH_UDP_CPU_PROF'],
            '--cpu-prof-name',
            `udp-${role}-${round}.cpuprofile`,
          ],
    lifetimeMs: CHILD_LIFETIME,
  });
  try {
    await mkdir(directory);
    const server = children.start('server', []);
    const listening = await server.next('listening', READY_TIMEOUT);
    const publicKey = String(listening['publicKey']);
    let port = Number(listening['port']);
    /** @type {import('./children.mjs').Child | undefined} */
    let relay;
    if (rates !== undefined) {
      relay = children.start('relay', [
        String(port),
        String(rates.loss),
        String(rates.duplication),
        String(rates.reordering),
        String(HOLD_MS),
        String(SEED + round),
      ]);
      port = Number((await relay.next('listening', READY_TIMEOUT))['port']);
    }
    const sender = children.start('sender', [String(port), publicKey]);
    const receiver = children.start('receiver', [String(port), publicKey]);
    const chat = children.start('chat', [String(port), publicKey]);
    await Promise.all([sender, receiver, chat].map((child) => child.next('ready', READY_TIMEOUT)));
    // The baseline of this contender's chat round trips, with nothing else going on.
    const idle = await idlePings(chat);

    /** CPU ms of the server's and the relay's processes so far. */
    const sample = async () => {
      const [serverCpu, relayStatistics] = await Promise.all([
        server.ask({ type: 'cpu' }, 'cpu', STEP_TIMEOUT),
        relay?.ask({ type: 'statistics' }, 'statistics', STEP_TIMEOUT),
      ]);
      return { server: serverCpu, relay: relayStatistics };
    };

    await receiver.ask({ type: 'receive', directory }, 'expecting', STEP_TIMEOUT);
    sender.send({ type: 'send', path: source.path });
    await sender.next('accepted', timeout);
    startPings(chat);
    const before = await sample();
    const kernelBefore = udpKernelCounters();
    const sent = await sender.next('sent', timeout);
    stopPings(chat);
    const kernel = counterDelta(kernelBefore, udpKernelCounters());
    const after = await sample();
    // The receiver hashes the file before it answers: give it the time of a slow read.
    const [pings, received] = await Promise.all([
      pingResult(chat),
      receiver.next('received', timeout),
    ]);
    checkReceived('lanchat udp', received, source);
    /** @type {Record<string, number>} */
    const notices = {};
    for (const message of [sent, received]) {
      for (const [name, count] of Object.entries(
        /** @type {Record<string, number>} */ (message['notices']),
      )) {
        notices[name] = (notices[name] ?? 0) + count;
      }
    }
    const times = sentTimes(sent);
    return {
      bytesPerSecond: (source.size * 1000) / times.milliseconds,
      ...times,
      progressEvents: Number(sent['progressEvents']),
      longestGapMilliseconds: Number(sent['longestGapMilliseconds']),
      tailMilliseconds: Number(sent['tailMilliseconds']),
      senderCpuMilliseconds: Number(sent['cpuMilliseconds']),
      serverCpuMilliseconds:
        Number(after.server['milliseconds']) - Number(before.server['milliseconds']),
      receiverCpuMilliseconds: Number(received['cpuMilliseconds']),
      relayCpuMilliseconds:
        after.relay === undefined || before.relay === undefined
          ? undefined
          : Number(after.relay['milliseconds']) - Number(before.relay['milliseconds']),
      relay:
        after.relay === undefined
          ? undefined
          : {
              toServer: relayCounts(after.relay, 'toServer'),
              toClient: relayCounts(after.relay, 'toClient'),
            },
      notices,
      serverStatistics: /** @type {Record<string, unknown>} */ (after.server['statistics']),
      kernel,
      idlePings: idle,
      pings,
    };
  } catch (error) {
    children.kill();
    throw error;
  } finally {
    // Clients first, so that the server sees them leave rather than time out; then the relay.
    await children.stop();
    await rm(directory, { recursive: true, force: true });
  }
}

/** @param {number} bytesPerSecond */
function formatMegabytes(bytesPerSecond) {
  return (bytesPerSecond / 1e6).toFixed(1);
}

/**
 * Runs the UDP benchmark, prints the report line by line, and returns the result for the final
 * JSON line.
 *
 * @param {(line: string) => void} [print]
 */
export async function runUdp(print = printToStdout) {
  const sizeMib = positiveIntegerFromEnv('BENCH_UDP_MB', 64);
  const rounds = positiveIntegerFromEnv('BENCH_UDP_ROUNDS', 2);
  const size = sizeMib * MIB;
  print(
    `udp: one file of ${sizeMib} MiB of random bytes (made once, synced, then read from the page ` +
      `cache) from one process to another on loopback, ${rounds} round(s) of each contender, ` +
      'interleaved (even rounds raw, sealed, direct, relay 0%, relay 5%; odd rounds the reverse), ' +
      'median. ' +
      `The limit (raw): node:dgram, ${DATAGRAM_BYTES}-byte datagrams sent as fast as the kernel ` +
      `takes them, ${SOCKET_BUFFER_BYTES / MIB} MiB socket buffers, bytes received over the ` +
      "receiver's first to last datagram (datagrams the kernel dropped are the loss share). " +
      'The ceiling (sealed): the same, each datagram sealed by the sender, opened and sealed again ' +
      'by a relay process, opened by the receiver (node:crypto ChaCha20-Poly1305). ' +
      'lanchat: listenChatUdp server, sender and receiver connectChatUdp clients, each in its own ' +
      'process, and the chat-only pinger and ponger (connectChatUdp too) in one more, fresh each ' +
      'round; relay: startLossyRelay in a process of its own between the clients and the ' +
      `server, 0% or ${LOSSY.loss * 100}% loss (${LOSSY.duplication * 100}% ` +
      `duplication, ${LOSSY.reordering * 100}% reordering held ${HOLD_MS} ms) each way`,
  );
  print(
    "lanchat's goodput = file bytes / (sender's transfer-accepted to transfer-completed, which " +
      "comes after the receiver's SHA-256 check, fsync and rename); sendFile's hashing comes " +
      'before and is apart. CPU s: CPU time (user + system) of each process over the transfer; ' +
      `busy: CPU time / the contender's wall time (100% = one of the machine's ` +
      `${availableParallelism()} cores). kernel drops: machine-wide UDP receive buffer errors ` +
      '(/proc/net/snmp RcvbufErrors) over the transfer',
  );

  const run = await roundsOnSource('lanchat-bench-udp-', size, async (source) => {
    /** @type {RawRound[]} */
    const raw = [];
    /** @type {RawRound[]} */
    const sealed = [];
    /** @type {LanchatRound[]} */
    const direct = [];
    /** @type {LanchatRound[]} */
    const clean = [];
    /** @type {LanchatRound[]} */
    const lossy = [];
    /** @type {(() => Promise<void>)[]} */
    const steps = [];
    for (let round = 0; round < rounds; round++) {
      /** @type {(() => Promise<void>)[]} */
      const turn = [
        async () => {
          raw.push(await rawRound(source, false));
        },
        async () => {
          sealed.push(await rawRound(source, true));
        },
        async () => {
          direct.push(await lanchatRound(source, undefined, round));
        },
        async () => {
          clean.push(await lanchatRound(source, CLEAN, round));
        },
        async () => {
          lossy.push(await lanchatRound(source, LOSSY, round));
        },
      ];
      steps.push(...(round % 2 === 0 ? turn : turn.reverse()));
    }
    for (const step of steps) await step();
    return { raw, sealed, direct, clean, lossy };
  });
  return report(print, { size, rounds, ...run });
}

/**
 * Median and rounds of a per-round figure.
 *
 * @template T
 * @param {readonly T[]} rounds
 * @param {(round: T) => number} pick
 */
function summarize(rounds, pick) {
  const values = rounds.map(pick);
  return { median: median(values), rounds: values };
}

/**
 * Median CPU seconds of a process, and its busy share over the median wall time.
 *
 * @template T
 * @param {readonly T[]} rounds
 * @param {(round: T) => number | undefined} pick CPU ms
 * @param {number} medianMilliseconds wall time
 */
function cpuSummary(rounds, pick, medianMilliseconds) {
  const values = rounds.map(pick);
  if (values.some((value) => value === undefined)) return undefined;
  const seconds = median(/** @type {number[]} */ (values)) / 1000;
  return { seconds: roundTo(seconds, 2), busy: roundTo(seconds / (medianMilliseconds / 1000), 2) };
}

/**
 * Chat round trips of one contender, a phase a round: each round's p50, p99 and longest, and their
 * medians over the rounds; pings sent, back and lost, over every round.
 *
 * @param {readonly Pings[]} phases one per round
 */
function chatSummary(phases) {
  const rounds = phases.map((phase) => summarizePings([phase]));
  /** @param {'p50' | 'p99' | 'max'} name */
  const middle = (name) => roundTo(median(rounds.map((round) => round[name])), 2);
  return {
    p50: middle('p50'),
    p99: middle('p99'),
    max: middle('max'),
    sent: rounds.reduce((sum, round) => sum + round.sent, 0),
    received: rounds.reduce((sum, round) => sum + round.received, 0),
    lost: rounds.reduce((sum, round) => sum + round.lost, 0),
    rounds,
  };
}

/** @param {{ seconds: number, busy: number } | undefined} cpu */
function cpuCell(cpu) {
  return cpu === undefined ? '-' : `${cpu.seconds.toFixed(2)} (${Math.round(cpu.busy * 100)}%)`;
}

/**
 * Prints the table and the target lines, and returns the result for the JSON line.
 *
 * @param {(line: string) => void} print
 * @param {{ size: number, rounds: number, generateSeconds: number, raw: RawRound[],
 *   sealed: RawRound[], direct: LanchatRound[], clean: LanchatRound[], lossy: LanchatRound[], loadBefore: number,
 *   loadAfter: number }} run
 */
function report(print, run) {
  /** @param {readonly RawRound[]} rounds */
  const rawSummary = (rounds) => {
    const rate = summarize(rounds, (round) => round.bytesPerSecond);
    const time = median(rounds.map((round) => round.milliseconds));
    const loss = summarize(rounds, (round) => 1 - round.received / round.sent);
    return {
      bytesPerSecond: roundSignificant(rate.median, 3),
      roundBytesPerSecond: rate.rounds.map((value) => roundSignificant(value, 3)),
      lossShare: roundTo(loss.median, 4),
      roundLossShares: loss.rounds.map((value) => roundTo(value, 4)),
      sendErrors: rounds.map((round) => round.sendErrors),
      senderBytesPerSecond: roundSignificant(
        median(rounds.map((round) => round.sendBytesPerSecond)),
        3,
      ),
      cpuSeconds: {
        sender: cpuSummary(rounds, (round) => round.senderCpuMilliseconds, time),
        relay: cpuSummary(rounds, (round) => round.relayCpuMilliseconds, time),
        receiver: cpuSummary(rounds, (round) => round.receiverCpuMilliseconds, time),
      },
      relay: rounds.map((round) => round.relay),
      kernelReceiveBufferErrors: rounds.map((round) => round.kernel.receiveBufferErrors),
    };
  };
  const raw = rawSummary(run.raw);
  const sealed = rawSummary(run.sealed);

  /** @param {readonly LanchatRound[]} rounds */
  const lanchatSummary = (rounds) => {
    const rate = summarize(rounds, (round) => round.bytesPerSecond);
    const time = median(rounds.map((round) => round.milliseconds));
    return {
      bytesPerSecond: roundSignificant(rate.median, 3),
      roundBytesPerSecond: rate.rounds.map((value) => roundSignificant(value, 3)),
      medianMilliseconds: roundTo(time, 1),
      hashMilliseconds: roundTo(median(rounds.map((round) => round.hashMilliseconds)), 1),
      offerMilliseconds: roundTo(median(rounds.map((round) => round.offerMilliseconds)), 1),
      progressEvents: median(rounds.map((round) => round.progressEvents)),
      longestGapMilliseconds: rounds.map((round) => roundTo(round.longestGapMilliseconds, 1)),
      tailMilliseconds: roundTo(median(rounds.map((round) => round.tailMilliseconds)), 1),
      cpuSeconds: {
        sender: cpuSummary(rounds, (round) => round.senderCpuMilliseconds, time),
        server: cpuSummary(rounds, (round) => round.serverCpuMilliseconds, time),
        relay: cpuSummary(rounds, (round) => round.relayCpuMilliseconds, time),
        receiver: cpuSummary(rounds, (round) => round.receiverCpuMilliseconds, time),
        chat: cpuSummary(rounds, (round) => round.pings.cpuMilliseconds, time),
      },
      relay: rounds.map((round) => round.relay),
      notices: rounds.map((round) => round.notices),
      serverStatistics: rounds.map((round) => round.serverStatistics),
      kernelReceiveBufferErrors: rounds.map((round) => round.kernel.receiveBufferErrors),
      chat: {
        duringTransfer: chatSummary(rounds.map((round) => round.pings)),
        idle: chatSummary(rounds.map((round) => round.idlePings)),
      },
    };
  };
  const direct = lanchatSummary(run.direct);
  const clean = lanchatSummary(run.clean);
  const lossy = lanchatSummary(run.lossy);

  /** @param {readonly number[]} values */
  const roundsCell = (values) => values.map(formatMegabytes).join(' ');
  /** @param {readonly number[]} values */
  const dropsCell = (values) => values.join(' ');
  const table = [
    [
      '',
      'MB/s',
      'rounds MB/s',
      'sender CPU s (busy)',
      'server',
      'relay',
      'receiver',
      'kernel drops',
    ],
    [
      'raw node:dgram, received (the limit)',
      formatMegabytes(raw.bytesPerSecond),
      roundsCell(raw.roundBytesPerSecond),
      cpuCell(raw.cpuSeconds.sender),
      '-',
      '-',
      cpuCell(raw.cpuSeconds.receiver),
      dropsCell(raw.kernelReceiveBufferErrors),
    ],
    [
      'sealed node:dgram via a relay (ceiling)',
      formatMegabytes(sealed.bytesPerSecond),
      roundsCell(sealed.roundBytesPerSecond),
      cpuCell(sealed.cpuSeconds.sender),
      '-',
      cpuCell(sealed.cpuSeconds.relay),
      cpuCell(sealed.cpuSeconds.receiver),
      dropsCell(sealed.kernelReceiveBufferErrors),
    ],
    ...[
      /** @type {const} */ (['lanchat udp, direct', direct]),
      /** @type {const} */ (['lanchat udp, relay 0% loss', clean]),
      /** @type {const} */ ([`lanchat udp, relay ${LOSSY.loss * 100}% loss`, lossy]),
    ].map(([label, summary]) => [
      label,
      formatMegabytes(summary.bytesPerSecond),
      roundsCell(summary.roundBytesPerSecond),
      cpuCell(summary.cpuSeconds.sender),
      cpuCell(summary.cpuSeconds.server),
      cpuCell(summary.cpuSeconds.relay),
      cpuCell(summary.cpuSeconds.receiver),
      dropsCell(summary.kernelReceiveBufferErrors),
    ]),
  ];
  for (const line of formatTable(table)) print(`  ${line}`);

  print(
    `  raw: ${run.raw.map((round) => `${round.received}/${round.sent}`).join(', ')} datagrams ` +
      `received, loss share ${(raw.lossShare * 100).toFixed(1)}% (rounds ` +
      `${raw.roundLossShares.map((share) => `${(share * 100).toFixed(1)}%`).join(' ')}); sender ` +
      `${formatMegabytes(raw.senderBytesPerSecond)} MB/s handed to the kernel, failed sends ` +
      `${raw.sendErrors.join(' ')}`,
  );
  print(
    `  sealed (the ceiling): ${run.sealed.map((round) => `${round.received}/${round.sent}`).join(', ')} ` +
      `datagrams received, loss share ${(sealed.lossShare * 100).toFixed(1)}%; its relay forwarded ` +
      `${sealed.relay.map((counts) => `${counts?.forwarded ?? 0} (${counts?.dropped ?? 0} dropped, queue full)`).join(', ')}; ` +
      'MB/s of file bytes (1,176 a datagram) received, over the first to the last datagram',
  );
  /** @param {RelayCounts} counts */
  const countsText = (counts) =>
    `${counts.received} in, ${counts.dropped} dropped, ${counts.duplicated} duplicated, ` +
    `${counts.reordered} reordered, ${counts.forwarded} out`;
  for (const [label, rounds] of /** @type {const} */ ([
    ['0%', run.clean],
    [`${LOSSY.loss * 100}%`, run.lossy],
  ])) {
    for (const round of rounds) {
      if (round.relay === undefined) continue;
      print(
        `  relay ${label}: to the server ${countsText(round.relay.toServer)}; to the clients ` +
          `${countsText(round.relay.toClient)}`,
      );
    }
  }
  /** @param {ReturnType<typeof lanchatSummary>} summary */
  const gaps = (summary) => summary.longestGapMilliseconds.map((gap) => gap.toFixed(0)).join(' ');
  print(
    `  lanchat, the sender's longest wait for progress (ms, each round; about ` +
      `${Math.round(direct.progressEvents)} progress events a transfer): direct ${gaps(direct)}, ` +
      `relay 0% ${gaps(clean)}, relay ${LOSSY.loss * 100}% ${gaps(lossy)}; last progress to ` +
      `completed (the receiver's check, fsync, rename): ${direct.tailMilliseconds.toFixed(0)} ms ` +
      `(direct, median)`,
  );
  const allNotices = [...run.direct, ...run.clean, ...run.lossy].flatMap((round) =>
    Object.entries(round.notices).map(([name, count]) => `${name} ${count}`),
  );
  print(
    `  lanchat: hashing in sendFile ${direct.hashMilliseconds.toFixed(0)} ms, offer to ` +
      `acceptance ${direct.offerMilliseconds.toFixed(1)} ms (direct, medians); events that did ` +
      `not end a session: ${allNotices.length === 0 ? 'none' : allNotices.join(', ')}. Making the ` +
      `file took ${run.generateSeconds.toFixed(1)} s; machine load average ${run.loadBefore} ` +
      `before, ${run.loadAfter} after`,
  );

  /** @type {[string, ReturnType<typeof lanchatSummary>][]} */
  const contenders = [
    ['direct', direct],
    ['relay 0%', clean],
    [`relay ${LOSSY.loss * 100}%`, lossy],
  ];
  /** @param {ReturnType<typeof chatSummary>} chat */
  const chatText = (chat) =>
    `p50 ${chat.p50.toFixed(2)}, p99 ${chat.p99.toFixed(2)}, max ${chat.max.toFixed(2)} ms ` +
    `(${chat.received} of ${chat.sent} back${chat.lost > 0 ? `, ${chat.lost} lost` : ''})`;
  print(
    `  chat round trip during the lanchat transfers (pinger to ponger and back through the server, ` +
      `and the relay where there is one, private messages, one every ${PING_INTERVAL_MS} ms, both ` +
      'connectChatUdp clients in a process of their own; median over the rounds of each ' +
      `round's figure): ${contenders
        .map(([label, summary]) => `${label} ${chatText(summary.chat.duringTransfer)}`)
        .join('; ')}`,
  );
  print(
    `  chat round trip idle, just before each transfer, same clients: ${contenders
      .map(([label, summary]) => `${label} ${chatText(summary.chat.idle)}`)
      .join('; ')}; the chat process's CPU s (busy) over the transfer: ${contenders
      .map(([label, summary]) => `${label} ${cpuCell(summary.cpuSeconds.chat)}`)
      .join(', ')}`,
  );
  print(
    "  for information: the issue sets no UDP chat target; TCP's target is " +
      `${P99_TARGET_MS} ms (p99 during the transfer): ${contenders
        .map(
          ([label, summary]) =>
            `${label} ${summary.chat.duringTransfer.p99.toFixed(2)} ms ` +
            `(${summary.chat.duringTransfer.p99 <= P99_TARGET_MS ? 'within' : 'over'})`,
        )
        .join(', ')}`,
  );

  const rawRatio = direct.bytesPerSecond / raw.bytesPerSecond;
  const ceilingRatio = sealed.bytesPerSecond / raw.bytesPerSecond;
  const directVsCeiling = direct.bytesPerSecond / sealed.bytesPerSecond;
  const lossRatio = lossy.bytesPerSecond / clean.bytesPerSecond;
  const relayRatio = clean.bytesPerSecond / direct.bytesPerSecond;
  const rawMet = rawRatio >= RAW_RATIO_TARGET;
  const lossMet = lossRatio >= LOSS_RATIO_TARGET;
  print(
    `  target: lanchat udp direct >= ${RAW_RATIO_TARGET}x the raw dgram throughput: ` +
      `${rawRatio.toFixed(2)}x, ${rawMet ? 'met' : 'NOT MET'}`,
  );
  print(
    `  ceiling: the sealed relay reaches ${ceilingRatio.toFixed(2)}x the raw dgram throughput; ` +
      `lanchat udp direct ${directVsCeiling.toFixed(2)}x the sealed relay`,
  );
  print(
    `  target: goodput at ${LOSSY.loss * 100}% loss >= ${LOSS_RATIO_TARGET}x the goodput at 0% ` +
      `(both through the relay): ${lossRatio.toFixed(2)}x, ${lossMet ? 'met' : 'NOT MET'} ` +
      `(relay 0% against direct, the relay's own cost: ${relayRatio.toFixed(2)}x)`,
  );

  return {
    benchmark: 'udp',
    sizeBytes: run.size,
    rounds: run.rounds,
    datagramBytes: DATAGRAM_BYTES,
    loadAverage: { before: run.loadBefore, after: run.loadAfter },
    raw,
    sealed,
    lanchat: { direct, relayClean: clean, relayLossy: lossy },
    relayRates: { clean: CLEAN, lossy: LOSSY, holdMilliseconds: HOLD_MS },
    // The figures themselves are in each contender's `chat` (lanchat above).
    chat: {
      intervalMilliseconds: PING_INTERVAL_MS,
      note: `for information: the issue sets no UDP chat target; TCP's target is ${P99_TARGET_MS} ms`,
      tcpP99TargetMilliseconds: P99_TARGET_MS,
      p99DuringTransfer: {
        direct: direct.chat.duringTransfer.p99,
        relayClean: clean.chat.duringTransfer.p99,
        relayLossy: lossy.chat.duringTransfer.p99,
      },
    },
    ratios: {
      directVsRaw: roundTo(rawRatio, 2),
      sealedVsRaw: roundTo(ceilingRatio, 2),
      directVsSealed: roundTo(directVsCeiling, 2),
      lossyVsClean: roundTo(lossRatio, 2),
      relayCleanVsDirect: roundTo(relayRatio, 2),
    },
    targets: {
      directVsRaw: { target: RAW_RATIO_TARGET, actual: roundTo(rawRatio, 2), met: rawMet },
      lossyVsClean: { target: LOSS_RATIO_TARGET, actual: roundTo(lossRatio, 2), met: lossMet },
    },
  };
}
