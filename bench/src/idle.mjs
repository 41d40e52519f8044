// @ts-check
/**
 * Idle-connections benchmark (issue 12): the server's memory per connected, logged-in, idle
 * client, at 2,000 clients. The server runs alone in its own process (idle-server.mjs, with
 * --expose-gc), the clients in another (idle-load.mjs); the server's process.memoryUsage() is read
 * after full collections before and after the logins, and the difference divided by the number
 * of clients. Side by side: the same number of bare node:net sockets on a plain node:net server
 * (the limit: what a connection costs node before any protocol).
 *
 * Before the baseline, a warm-up wave connects and disconnects, so that code compiled and pools
 * filled on first use are not charged to the clients. Clients log in in waves of 200: the lanchat
 * server admits at most 256 connections still in their handshake or login (its default
 * maxPendingConnections, kept). The memory is also read at half the clients, and the cost per
 * client between half and all is reported as a check on the first figure; and once more after all
 * clients have left at once (reported only: each departure is announced to every remaining user).
 *
 * The target is judged on both rss and heapUsed + external (arrayBuffers is part of external).
 * rss also holds what the O(n^2) login notices leave behind (V8 heap kept committed, native
 * allocations freed but not returned), which varies from run to run; heapUsed + external is what
 * the connections hold. The client process needs one file descriptor per connection: it checks
 * its open-file limit (/proc/self/limits) first and says how to raise it if too low.
 *
 * @module
 */

import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { startChild } from './children.mjs';
import { formatTable, printToStdout, roundTo } from './lib.mjs';

const CLIENTS = 2000;
const WAVE = 200;
const WARMUP_CLIENTS = 200;
/** Largest server memory per idle lanchat client, in KiB. */
const TARGET_KIB = 30;
const CHILD_LIFETIME = 300_000;
const STEP_TIMEOUT = 120_000;
/**
 * Quiet time before each reading: for the server to flush what the last logins made it send, and
 * for V8 to give back the young generation the login storm grew (it does after a few seconds of
 * low allocation; after 1 s the lanchat reading holds some 30 MB of committed, unused heap).
 */
const SETTLE_MS = 10_000;

/** @typedef {'lanchat' | 'bare'} Kind */

/**
 * @typedef {object} Memory
 * @property {number} rss
 * @property {number} heapUsed
 * @property {number} heapTotal
 * @property {number} external
 * @property {number} arrayBuffers
 * @property {number} sockets
 * @property {number} users
 */

/**
 * @param {import('./children.mjs').ChildMessage} message
 * @returns {Memory}
 */
function toMemory(message) {
  return {
    rss: Number(message['rss']),
    heapUsed: Number(message['heapUsed']),
    heapTotal: Number(message['heapTotal']),
    external: Number(message['external']),
    arrayBuffers: Number(message['arrayBuffers']),
    sockets: Number(message['sockets']),
    users: Number(message['users']),
  };
}

/**
 * Per-client costs in KiB between two readings.
 *
 * @param {Memory} before
 * @param {Memory} after
 * @param {number} clients
 */
function perClient(before, after, clients) {
  /** @param {number} bytes */
  const kib = (bytes) => roundTo(bytes / clients / 1024, 2);
  return {
    rssKiB: kib(after.rss - before.rss),
    heapTotalKiB: kib(after.heapTotal - before.heapTotal),
    heapUsedKiB: kib(after.heapUsed - before.heapUsed),
    externalKiB: kib(after.external - before.external),
    arrayBuffersKiB: kib(after.arrayBuffers - before.arrayBuffers),
    // arrayBuffers is part of external in node's accounting, so it is not added again here.
    heapUsedPlusExternalKiB: kib(
      after.heapUsed + after.external - (before.heapUsed + before.external),
    ),
  };
}

/**
 * @param {import('./children.mjs').Child} server
 * @param {(count: { sockets: number, users: number }) => boolean} done
 * @param {string} what
 */
async function waitForServer(server, done, what) {
  const deadline = Date.now() + STEP_TIMEOUT;
  for (;;) {
    const count = await server.ask({ type: 'count' }, 'count', 10_000);
    const sockets = Number(count['sockets']);
    const users = Number(count['users']);
    if (done({ sockets, users })) return;
    if (Date.now() > deadline) {
      throw new Error(`${server.label}: ${what} not reached (${sockets} sockets, ${users} users)`);
    }
    await sleep(50);
  }
}

/**
 * One server and its clients: baseline, half, all.
 *
 * @param {Kind} kind
 */
async function measureKind(kind) {
  const label = kind === 'lanchat' ? 'lanchat server' : 'bare node:net server';
  const heapProfile = process.env['BENCH_IDLE_HEAP_PROF'];
  const cpuProfile = process.env['BENCH_IDLE_CPU_PROF'];
  const server = startChild('./idle-server.mjs', {
    label,
    args: [kind, String(CHILD_LIFETIME)],
    execArgv: [
      '--expose-gc',
      ...(heapProfile === undefined ? [] : ['--heap-prof', '--heap-prof-dir', heapProfile]),
      ...(cpuProfile === undefined
        ? []
        : [
            '--cpu-prof',
            '--cpu-prof-dir',
            cpuProfile,
            '--cpu-prof-name',
            `idle-${kind}.cpuprofile`,
          ]),
    ],
    lifetimeMs: CHILD_LIFETIME,
  });
  /** @type {import('./children.mjs').Child | undefined} */
  let load;
  try {
    const port = Number((await server.next('listening', STEP_TIMEOUT))['port']);
    load = startChild('./idle-load.mjs', {
      label: `${label} clients`,
      args: [kind, String(port), String(CHILD_LIFETIME)],
      lifetimeMs: CHILD_LIFETIME,
    });
    await load.next('ready', STEP_TIMEOUT);
    const clients = load;
    /** @param {number} count */
    const connect = async (count) => {
      const answer = await clients.ask(
        { type: 'connect', count, wave: WAVE },
        'connected',
        STEP_TIMEOUT,
      );
      return answer;
    };

    await connect(WARMUP_CLIENTS);
    await clients.ask({ type: 'disconnect' }, 'disconnected', STEP_TIMEOUT);
    await waitForServer(server, (count) => count.sockets === 0, 'all warm-up sockets closed');
    await sleep(SETTLE_MS);
    const before = toMemory(await server.ask({ type: 'measure' }, 'memory', STEP_TIMEOUT));

    const half = CLIENTS / 2;
    const first = await connect(half);
    await waitForServer(server, (count) => count.users === half, `${half} users`);
    await sleep(SETTLE_MS);
    const middle = toMemory(await server.ask({ type: 'measure' }, 'memory', STEP_TIMEOUT));

    const second = await connect(CLIENTS - half);
    await waitForServer(server, (count) => count.users === CLIENTS, `${CLIENTS} users`);
    await sleep(SETTLE_MS);
    const after = toMemory(await server.ask({ type: 'measure' }, 'memory', STEP_TIMEOUT));
    if (after.sockets !== CLIENTS) {
      throw new Error(`${label}: ${after.sockets} sockets open, not ${CLIENTS}`);
    }

    // Everyone leaves at once: the server tells each remaining user of each departure (O(n^2)
    // notices), which is reported, not judged.
    await clients.ask({ type: 'disconnect' }, 'disconnected', STEP_TIMEOUT);
    await waitForServer(server, (count) => count.sockets === 0, 'all sockets closed');
    await sleep(SETTLE_MS);
    const drained = toMemory(await server.ask({ type: 'measure' }, 'memory', STEP_TIMEOUT));
    return {
      label,
      before,
      middle,
      after,
      drained,
      drainedVsBefore: perClient(before, drained, CLIENTS),
      perClient: perClient(before, after, CLIENTS),
      perClientSecondHalf: perClient(middle, after, CLIENTS - half),
      connectSeconds: roundTo(
        (Number(first['milliseconds']) + Number(second['milliseconds'])) / 1000,
        2,
      ),
      openFileLimit: Number(second['openFileLimit']),
    };
  } finally {
    await load?.stop();
    await server.stop();
  }
}

/**
 * Runs the idle-connections benchmark, prints the report line by line, and returns the result for
 * the final JSON line.
 *
 * @param {(line: string) => void} [print]
 */
export async function runIdle(print = printToStdout) {
  print(
    `idle: server memory per connected idle client at ${CLIENTS.toLocaleString('en-US')} ` +
      `clients (lanchat: logged in, in the lobby), server alone in its process (--expose-gc), ` +
      `clients in another, logging in ${WAVE} at a time; process.memoryUsage() after full GCs, ` +
      `before (after a ${WARMUP_CLIENTS}-client warm-up) and after, divided by the clients; ` +
      'KiB = 1024 B',
  );
  print(
    'bare: the same number of node:net sockets on a plain node:net server (a Set of sockets, ' +
      'a data listener, one line each way)',
  );
  /** @type {Record<string, Awaited<ReturnType<typeof measureKind>>>} */
  const results = {};
  for (const kind of /** @type {const} */ (['lanchat', 'bare'])) {
    results[kind] = await measureKind(kind);
  }
  const rows = [
    [
      'KiB per client',
      'rss',
      'heapTotal',
      'heapUsed',
      'external',
      'arrayBuffers',
      'heap+external',
      'rss 2nd half',
      'heap+ext 2nd half',
      'login s',
    ],
  ];
  for (const result of Object.values(results)) {
    rows.push([
      result.label,
      result.perClient.rssKiB.toFixed(2),
      result.perClient.heapTotalKiB.toFixed(2),
      result.perClient.heapUsedKiB.toFixed(2),
      result.perClient.externalKiB.toFixed(2),
      result.perClient.arrayBuffersKiB.toFixed(2),
      result.perClient.heapUsedPlusExternalKiB.toFixed(2),
      result.perClientSecondHalf.rssKiB.toFixed(2),
      result.perClientSecondHalf.heapUsedPlusExternalKiB.toFixed(2),
      result.connectSeconds.toFixed(2),
    ]);
  }
  for (const line of formatTable(rows)) print(`  ${line}`);
  /** @param {number} bytes */
  const mb = (bytes) => (bytes / 1e6).toFixed(1);
  for (const result of Object.values(results)) {
    print(
      `  ${result.label}: rss ${mb(result.before.rss)} MB before, ${mb(result.after.rss)} MB with ` +
        `${CLIENTS} clients (heapTotal ${mb(result.after.heapTotal)} MB, heapUsed ` +
        `${mb(result.after.heapUsed)} MB), ${mb(result.drained.rss)} MB after all of them left at once`,
    );
  }
  const lanchat = results['lanchat'];
  const bare = results['bare'];
  if (lanchat === undefined || bare === undefined) throw new Error('idle: missing results');
  const rss = lanchat.perClient.rssKiB;
  const js = lanchat.perClient.heapUsedPlusExternalKiB;
  const worst = Math.max(rss, js);
  const met = worst <= TARGET_KIB;
  print(
    `  target: lanchat <= ${TARGET_KIB} KiB per idle client (rss and heap+external): ` +
      `rss ${rss.toFixed(2)} KiB, heap+external ${js.toFixed(2)} KiB, ${met ? 'met' : 'NOT MET'}; ` +
      `over the bare socket: rss +${(rss - bare.perClient.rssKiB).toFixed(2)} KiB, heap+external ` +
      `+${(js - bare.perClient.heapUsedPlusExternalKiB).toFixed(2)} KiB; open-file limit of the ` +
      `client process ${lanchat.openFileLimit < 0 ? 'unknown' : lanchat.openFileLimit}`,
  );
  return {
    benchmark: 'idle',
    clients: CLIENTS,
    wave: WAVE,
    warmupClients: WARMUP_CLIENTS,
    results,
    targets: {
      kibPerClient: { target: TARGET_KIB, rss, heapUsedPlusExternal: js, met },
    },
  };
}
