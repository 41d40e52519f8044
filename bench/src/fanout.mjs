// @ts-check
/**
 * Fan-out benchmark (issue 11): 100 clients in one room, all in one load process of their own
 * (fanout-load.mjs), against a server in another process; each message about 100 B. Two phases:
 *
 * - blast: every client sends its 200 messages as fast as it can; deliveries per second
 *   (100 senders x 200 messages x 99 recipients = 1.98 M deliveries) from the first send to the
 *   last delivery, in the load process's clock;
 * - paced: 500 messages per second in all (each client 5 per second from a jittered start),
 *   4,000 messages; end-to-end latency, send to delivery, all in the load process's clock.
 *
 * lanchat (`listenChat` of @lanchat/tcp, clients being @lanchat/core ChatClients over raw sockets)
 * runs side by side with the limit: a bare node:net relay of newline-delimited text, no crypto,
 * one write per recipient per read (fanout-server.mjs), driven by the same load logic. Both
 * servers and both load processes stay up for the whole run; the blast rounds alternate between
 * them, so that a slow moment of the machine hits both.
 *
 * A third contender is the ceiling: the sealed relay (sealed-lines.mjs), the bare relay with every
 * connection encrypted by node:crypto and nothing else. Per-connection encryption is not
 * optional for lanchat, so what the sealed relay reaches is the most a lanchat server can reach
 * on node:crypto; the report gives both ratios (sealed to bare, lanchat to sealed).
 *
 * The server runs in a process of its own (fanout-server.mjs): server in one process, all 100
 * clients in another. With BENCH_FANOUT_SERVER_IN_MAIN=1 the blast is also run with the servers in
 * this benchmark's main process (an extra row; it costs another minute and says the same so far).
 * BENCH_FANOUT_CPU_PROF=DIR runs the server and load processes with --cpu-prof into DIR;
 * BENCH_FANOUT_PHASES=blast (or paced) runs that phase alone.
 *
 * @module
 */

import { loadavg } from 'node:os';
import process from 'node:process';
import { startChild } from './children.mjs';
import { LANCHAT_BACKLOG_BYTES, cpuMilliseconds, startRelay } from './fanout-server.mjs';
import { TEXT_LENGTH } from './fanout-load.mjs';
import {
  formatRate,
  formatTable,
  median,
  printToStdout,
  roundSignificant,
  roundTo,
} from './lib.mjs';

const CLIENTS = 100;
const MESSAGES_PER_CLIENT = 200;
const BLAST_ROUNDS = 3;
/** Messages per client of the unmeasured warm-up blast (the JIT's, smaller to save time). */
const WARMUP_MESSAGES_PER_CLIENT = 50;
const PACED_RATE = 500;
const PACED_TOTAL = 4000;
const DELIVERIES = CLIENTS * MESSAGES_PER_CLIENT * (CLIENTS - 1);
/** lanchat's deliveries per second must be at least this multiple of the bare relay's. */
const BLAST_TARGET = 0.5;
/** lanchat's p99 latency in the paced phase, in ms, at most. */
const P99_TARGET_MS = 10;
/** Hard limits, in ms: no child lives longer than CHILD_LIFETIME, no step waits longer. */
const CHILD_LIFETIME = 600_000;
const READY_TIMEOUT = 60_000;
const BLAST_TIMEOUT = 120_000;
const PACED_TIMEOUT = (PACED_TOTAL / PACED_RATE) * 1000 + 30_000;
/**
 * The phases to run: both, unless BENCH_FANOUT_PHASES names one (`blast` or `paced`), to profile
 * it alone; the figures of a phase not run read NaN.
 */
const PHASES = new Set((process.env['BENCH_FANOUT_PHASES'] ?? 'blast,paced').split(','));

/** @typedef {'lanchat' | 'bare' | 'sealed'} Kind */
/** @typedef {'own' | 'main'} Placement */

/** @type {Record<Kind, string>} */
const LABELS = {
  lanchat: 'lanchat',
  bare: 'bare node:net relay',
  sealed: 'sealed relay (ceiling)',
};

/**
 * @typedef {object} Side one relay with its load process
 * @property {Kind} kind
 * @property {string} label
 * @property {import('./children.mjs').Child} load
 * @property {() => Promise<number>} serverCpu CPU ms of the server's process so far
 * @property {() => Promise<Record<string, unknown>>} serverStatistics
 * @property {() => Promise<void>} stop
 */

/**
 * @typedef {object} BlastRound
 * @property {number} milliseconds
 * @property {number} deliveriesPerSecond
 * @property {number} loadCpuMilliseconds
 * @property {number} serverCpuMilliseconds
 */

/**
 * node flags for a child, to profile it when BENCH_FANOUT_CPU_PROF names a folder.
 *
 * @param {string} name
 * @returns {string[]}
 */
function profileFlags(name) {
  const folder = process.env['BENCH_FANOUT_CPU_PROF'];
  return folder === undefined
    ? []
    : ['--cpu-prof', '--cpu-prof-dir', folder, '--cpu-prof-name', `${name}.cpuprofile`];
}

/**
 * Starts one relay (in its own process or in this one) and its load process, and waits until all
 * clients are connected (lanchat: logged in and told of every other).
 *
 * @param {Kind} kind
 * @param {Placement} placement
 * @returns {Promise<Side>}
 */
async function startSide(kind, placement) {
  const label = LABELS[kind];
  /** @type {number} */
  let port;
  /** @type {Side['serverCpu']} */
  let serverCpu;
  /** @type {Side['serverStatistics']} */
  let serverStatistics;
  /** @type {() => Promise<void>} */
  let stopServer;
  if (placement === 'own') {
    const server = startChild('./fanout-server.mjs', {
      label: `${label} server`,
      args: [kind, String(CHILD_LIFETIME)],
      execArgv: profileFlags(`fanout-${kind}-server`),
      lifetimeMs: CHILD_LIFETIME,
    });
    try {
      port = Number((await server.next('listening', READY_TIMEOUT))['port']);
    } catch (error) {
      server.kill();
      throw error;
    }
    const ask = () => server.ask({ type: 'cpu' }, 'cpu', 10_000);
    serverCpu = async () => Number((await ask())['milliseconds']);
    serverStatistics = async () =>
      /** @type {Record<string, unknown>} */ ((await ask())['statistics']);
    stopServer = () => server.stop();
  } else {
    const relay = await startRelay(kind);
    port = relay.port;
    serverCpu = () => Promise.resolve(cpuMilliseconds());
    serverStatistics = () => Promise.resolve(relay.statistics());
    stopServer = () => relay.close();
  }
  const load = startChild('./fanout-load.mjs', {
    label: `${label} load`,
    args: [kind, String(port), String(CLIENTS), String(CHILD_LIFETIME)],
    execArgv: placement === 'own' ? profileFlags(`fanout-${kind}-load`) : [],
    lifetimeMs: CHILD_LIFETIME,
  });
  try {
    await load.next('ready', READY_TIMEOUT);
  } catch (error) {
    load.kill();
    await stopServer();
    throw error;
  }
  return {
    kind,
    label,
    load,
    serverCpu,
    serverStatistics,
    stop: async () => {
      await load.stop();
      await stopServer();
    },
  };
}

/**
 * One blast on one side: every client sends `messages` messages.
 *
 * @param {Side} side
 * @param {number} messages
 * @returns {Promise<BlastRound>}
 */
async function blastOnce(side, messages) {
  const deliveries = CLIENTS * messages * (CLIENTS - 1);
  const serverBefore = await side.serverCpu();
  const result = await side.load.ask(
    { type: 'blast', messages, timeoutMs: BLAST_TIMEOUT },
    'blast-done',
    BLAST_TIMEOUT + 10_000,
  );
  const serverAfter = await side.serverCpu();
  const milliseconds = Number(result['milliseconds']);
  if (Number(result['deliveries']) !== deliveries) {
    throw new Error(`${side.label}: ${String(result['deliveries'])} deliveries, not ${deliveries}`);
  }
  return {
    milliseconds,
    deliveriesPerSecond: (deliveries * 1000) / milliseconds,
    loadCpuMilliseconds: Number(result['loadCpuMilliseconds']),
    serverCpuMilliseconds: serverAfter - serverBefore,
  };
}

/**
 * The paced phase on one side.
 *
 * @param {Side} side
 */
async function pacedOnce(side) {
  const serverBefore = await side.serverCpu();
  const result = await side.load.ask(
    { type: 'paced', rate: PACED_RATE, total: PACED_TOTAL, seed: 11, timeoutMs: PACED_TIMEOUT },
    'paced-done',
    PACED_TIMEOUT + 10_000,
  );
  const serverAfter = await side.serverCpu();
  const milliseconds = Number(result['milliseconds']);
  const loadCpu = Number(result['loadCpuMilliseconds']);
  return {
    sent: Number(result['sent']),
    deliveries: Number(result['deliveries']),
    sendRate: roundSignificant(Number(result['sendRate']), 3),
    lateSends: Number(result['lateSends']),
    p50: roundTo(Number(result['p50']), 3),
    p90: roundTo(Number(result['p90']), 3),
    p99: roundTo(Number(result['p99']), 3),
    p999: roundTo(Number(result['p999']), 3),
    max: roundTo(Number(result['max']), 3),
    seconds: roundTo(milliseconds / 1000, 2),
    loadCpuMilliseconds: Math.round(loadCpu),
    serverCpuMilliseconds: Math.round(serverAfter - serverBefore),
    loadBusy: roundTo(loadCpu / milliseconds, 2),
    serverBusy: roundTo((serverAfter - serverBefore) / milliseconds, 2),
  };
}

/**
 * Blast rounds on both sides, interleaved, one warm-up each first.
 *
 * @param {readonly Side[]} sides
 * @param {number} rounds
 * @returns {Promise<Map<Kind, BlastRound[]>>}
 */
async function blastInterleaved(sides, rounds) {
  for (const side of sides) await blastOnce(side, WARMUP_MESSAGES_PER_CLIENT);
  /** @type {Map<Kind, BlastRound[]>} */
  const results = new Map(sides.map((side) => [side.kind, []]));
  for (let round = 0; round < rounds; round++) {
    for (let turn = 0; turn < sides.length; turn++) {
      const side = /** @type {Side} */ (sides[(round + turn) % sides.length]);
      results.get(side.kind)?.push(await blastOnce(side, MESSAGES_PER_CLIENT));
    }
  }
  return results;
}

/**
 * The median, or NaN for no values (a phase not run).
 *
 * @param {readonly number[]} values
 */
function medianOrNaN(values) {
  return values.length === 0 ? NaN : median(values);
}

/**
 * @param {readonly BlastRound[]} rounds
 */
function summarizeBlast(rounds) {
  const milliseconds = medianOrNaN(rounds.map((round) => round.milliseconds));
  return {
    deliveriesPerSecond: roundSignificant((DELIVERIES * 1000) / milliseconds, 3),
    medianMilliseconds: roundTo(milliseconds, 1),
    roundMilliseconds: rounds.map((round) => roundTo(round.milliseconds, 1)),
    serverCpuMilliseconds: Math.round(
      medianOrNaN(rounds.map((round) => round.serverCpuMilliseconds)),
    ),
    loadCpuMilliseconds: Math.round(medianOrNaN(rounds.map((round) => round.loadCpuMilliseconds))),
    serverCpuMicrosecondsPerDelivery: roundSignificant(
      (medianOrNaN(rounds.map((round) => round.serverCpuMilliseconds)) * 1000) / DELIVERIES,
      3,
    ),
    loadCpuMicrosecondsPerDelivery: roundSignificant(
      (medianOrNaN(rounds.map((round) => round.loadCpuMilliseconds)) * 1000) / DELIVERIES,
      3,
    ),
  };
}

/**
 * @param {Placement} placement
 * @param {boolean} withPaced
 */
async function runPlacement(placement, withPaced) {
  /** @type {Side[]} */
  const sides = [];
  try {
    for (const kind of /** @type {const} */ (['lanchat', 'bare', 'sealed'])) {
      sides.push(await startSide(kind, placement));
    }
    const blasts = PHASES.has('blast')
      ? await blastInterleaved(sides, BLAST_ROUNDS)
      : new Map(sides.map((side) => [side.kind, []]));
    /** @type {Record<string, ReturnType<typeof summarizeBlast>>} */
    const blast = {};
    for (const side of sides) blast[side.kind] = summarizeBlast(blasts.get(side.kind) ?? []);
    /** @type {Record<string, Awaited<ReturnType<typeof pacedOnce>>>} */
    const paced = {};
    if (withPaced) {
      for (const side of sides) paced[side.kind] = await pacedOnce(side);
    }
    /** @type {Record<string, Record<string, unknown>>} */
    const statistics = {};
    for (const side of sides) statistics[side.kind] = await side.serverStatistics();
    return { blast, paced, statistics };
  } finally {
    for (const side of sides) await side.stop();
  }
}

/** The machine's 1-minute load average, for the report: other work skews latency above all. */
function loadAverage() {
  return roundTo(loadavg()[0] ?? NaN, 2);
}

/**
 * Runs the fan-out benchmark, prints the report line by line, and returns the result for the
 * final JSON line.
 *
 * @param {(line: string) => void} [print]
 */
export async function runFanout(print = printToStdout) {
  print(
    `fanout: ${CLIENTS} clients in one room, all in one load process, server in another; ` +
      `${TEXT_LENGTH}-character texts; blast: ${MESSAGES_PER_CLIENT} messages per client as fast ` +
      `as possible = ${DELIVERIES.toLocaleString('en-US')} deliveries, first send to last ` +
      `delivery, 1 warm-up (${WARMUP_MESSAGES_PER_CLIENT} per client) + ${BLAST_ROUNDS} rounds ` +
      `interleaved, median; paced: ${PACED_TOTAL.toLocaleString('en-US')} messages at ` +
      `${PACED_RATE}/s in all (each client ${(PACED_RATE / CLIENTS).toFixed(0)}/s, jittered ` +
      'start), latency from send to delivery in the load process clock',
  );
  print(
    'bare node:net relay (the limit): newline-delimited text, no crypto, one write of the ' +
      'complete lines per recipient per read; same load logic (lines split and parsed); lanchat ' +
      `server: listenChat, maxBacklogBytes raised to ${LANCHAT_BACKLOG_BYTES / 1024 / 1024} MiB ` +
      '(with the default 1 MiB it drops the blasted clients as too slow); sealed relay (the ' +
      'ceiling): the bare relay with each write one ChaCha20-Poly1305 frame of node:crypto, ' +
      'opened on each read (per-connection encryption and nothing else: no handshake, session ' +
      'layer or acknowledgements)',
  );
  const loadBefore = loadAverage();
  const own = await runPlacement('own', PHASES.has('paced'));
  const main =
    process.env['BENCH_FANOUT_SERVER_IN_MAIN'] === '1'
      ? await runPlacement('main', false)
      : undefined;
  const loadAfter = loadAverage();

  const lanchat = own.blast['lanchat'];
  const bare = own.blast['bare'];
  const sealed = own.blast['sealed'];
  if (lanchat === undefined || bare === undefined || sealed === undefined) {
    throw new Error('fanout: missing results');
  }
  const ratio = lanchat.deliveriesPerSecond / bare.deliveriesPerSecond;
  const ceilingRatio = sealed.deliveriesPerSecond / bare.deliveriesPerSecond;
  const lanchatVsCeiling = lanchat.deliveriesPerSecond / sealed.deliveriesPerSecond;
  const mainLanchat = main?.blast['lanchat'];
  const mainBare = main?.blast['bare'];
  const mainRatio =
    mainLanchat === undefined || mainBare === undefined
      ? undefined
      : mainLanchat.deliveriesPerSecond / mainBare.deliveriesPerSecond;
  const rows = [
    [
      'blast',
      'deliveries/s',
      'median ms',
      'rounds ms',
      'server CPU us/delivery',
      'load CPU us/delivery',
    ],
  ];
  for (const [name, result] of /** @type {const} */ ([
    ['lanchat', lanchat],
    ['bare relay', bare],
    ['sealed relay (ceiling)', sealed],
    ['lanchat, server in main process (extra)', mainLanchat],
    ['bare relay, server in main process (extra)', mainBare],
  ])) {
    if (result === undefined) continue;
    rows.push([
      name,
      formatRate(result.deliveriesPerSecond),
      result.medianMilliseconds.toFixed(1),
      result.roundMilliseconds.map((ms) => ms.toFixed(0)).join(' '),
      result.serverCpuMicrosecondsPerDelivery.toFixed(3),
      result.loadCpuMicrosecondsPerDelivery.toFixed(3),
    ]);
  }
  for (const line of formatTable(rows)) print(`  ${line}`);
  const blastMet = ratio >= BLAST_TARGET;
  print(
    `  target: lanchat >= ${BLAST_TARGET}x the bare relay's deliveries/s: ${ratio.toFixed(2)}x, ` +
      `${blastMet ? 'met' : 'NOT MET'}` +
      (mainRatio === undefined ? '' : ` (server in main process: ${mainRatio.toFixed(2)}x)`),
  );
  print(
    `  ceiling: the sealed relay reaches ${ceilingRatio.toFixed(2)}x the bare relay; lanchat ` +
      `${lanchatVsCeiling.toFixed(2)}x the sealed relay`,
  );

  const pacedRows = [
    [
      'paced',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'p99.9 ms',
      'max ms',
      'sent/s',
      'server busy',
      'load busy',
    ],
  ];
  for (const [name, result] of /** @type {const} */ ([
    ['lanchat', own.paced['lanchat']],
    ['bare relay', own.paced['bare']],
    ['sealed relay (ceiling)', own.paced['sealed']],
  ])) {
    if (result === undefined) continue;
    pacedRows.push([
      name,
      result.p50.toFixed(2),
      result.p90.toFixed(2),
      result.p99.toFixed(2),
      result.p999.toFixed(2),
      result.max.toFixed(2),
      String(result.sendRate),
      `${Math.round(result.serverBusy * 100)}%`,
      `${Math.round(result.loadBusy * 100)}%`,
    ]);
  }
  for (const line of formatTable(pacedRows)) print(`  ${line}`);
  const lanchatP99 = own.paced['lanchat']?.p99 ?? NaN;
  const bareP99 = own.paced['bare']?.p99 ?? NaN;
  const sealedP99 = own.paced['sealed']?.p99 ?? NaN;
  const latencyMet = lanchatP99 <= P99_TARGET_MS;
  print(
    `  target: lanchat p99 <= ${P99_TARGET_MS} ms: ${lanchatP99.toFixed(2)} ms, ` +
      `${latencyMet ? 'met' : 'NOT MET'} (bare relay p99 ${bareP99.toFixed(2)} ms, sealed ` +
      `relay ${sealedP99.toFixed(2)} ms); ` +
      `busy = CPU time / wall time of that process during the phase; machine load average ` +
      `${loadBefore} before, ${loadAfter} after`,
  );

  return {
    benchmark: 'fanout',
    clients: CLIENTS,
    textBytes: TEXT_LENGTH,
    lanchatMaxBacklogBytes: LANCHAT_BACKLOG_BYTES,
    loadAverage: { before: loadBefore, after: loadAfter },
    blast: {
      messagesPerClient: MESSAGES_PER_CLIENT,
      deliveries: DELIVERIES,
      rounds: BLAST_ROUNDS,
      warmupRounds: 1,
      warmupMessagesPerClient: WARMUP_MESSAGES_PER_CLIENT,
      ...own.blast,
      ...(main === undefined ? {} : { serverInMainProcess: main.blast }),
      ratios: {
        lanchatVsBare: roundTo(ratio, 2),
        sealedVsBare: roundTo(ceilingRatio, 2),
        lanchatVsSealed: roundTo(lanchatVsCeiling, 2),
        ...(mainRatio === undefined
          ? {}
          : { lanchatVsBareServerInMainProcess: roundTo(mainRatio, 2) }),
      },
    },
    paced: { rate: PACED_RATE, total: PACED_TOTAL, ...own.paced },
    serverStatistics: own.statistics,
    targets: {
      blastVsBare: { target: BLAST_TARGET, actual: roundTo(ratio, 2), met: blastMet },
      pacedP99Milliseconds: { target: P99_TARGET_MS, actual: lanchatP99, met: latencyMet },
    },
  };
}
