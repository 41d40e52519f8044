// @ts-check
/**
 * The load process of the fan-out benchmark (`node fanout-load.mjs KIND PORT CLIENTS LIFETIME`):
 * all the clients of one relay in this one process, so that the server's process does nothing
 * but relay, and every receiver shares one clock with every sender.
 *
 * - KIND lanchat: one @lanchat/core ChatClient per raw node:net socket, driven by hand: bytes read
 *   go to `receive()` and its events are handled at once; the output of every client touched in a
 *   turn is written at the end of the turn (setImmediate), one write per client.
 * - KIND bare: the same clients speaking newline-delimited text to the bare relay: each read is
 *   cut into lines, each line parsed.
 * - KIND sealed: the same as bare, each write sealed and each read opened with node:crypto
 *   (sealed-lines.mjs), against the sealed relay, the ceiling.
 *
 * Every message is a 100-character text `SSS NNNNNN TTTTTTTTTTTTTT xxx...`: the sender's index, the
 * message's number and the send time (performance.now() of this process, in ms), padded with `x`.
 * Receivers parse all three; the time gives the latency.
 *
 * Commands from the parent: `blast` (every client sends `messages` messages as fast as it can;
 * answers with the time from the first send to the last delivery), `paced` (`total` messages at
 * `rate` per second across the clients, each client at a fixed interval from a jittered start;
 * answers with latency percentiles), `stop`.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { ChatClient } from '@lanchat/core';
import { guardChild, isMainModule, tellParent } from './children.mjs';
import { mulberry32 } from './lib.mjs';
import { SealedEnd } from './sealed-lines.mjs';

/** Characters in every message's text (ASCII, so also its bytes). */
export const TEXT_LENGTH = 100;
const ROOM = 'lobby';
const FILLER = 'x'.repeat(TEXT_LENGTH);

/**
 * @param {number} sender
 * @param {number} sequence
 * @param {number} sentAt
 * @returns {string}
 */
export function messageText(sender, sequence, sentAt) {
  const head =
    `${String(sender).padStart(3, '0')} ${String(sequence).padStart(6, '0')} ` +
    `${sentAt.toFixed(3).padStart(14, '0')} `;
  return head + FILLER.slice(head.length);
}

/**
 * What the clients of one kind have in common for the phases.
 *
 * @typedef {object} Load
 * @property {number} clients
 * @property {(client: number, texts: readonly string[]) => void} send queues messages from one
 *   client and writes them (now for bare, at the end of the turn for lanchat)
 * @property {() => void} flush writes what is queued, now
 * @property {boolean} acknowledges whether the server acknowledges each message (lanchat)
 * @property {() => number} acknowledged messages the server acknowledged so far
 * @property {() => void} close
 */

/**
 * Receives one delivered message: `receiver` got `text` at `receivedAt`.
 *
 * @typedef {(receiver: number, text: string, receivedAt: number) => void} DeliveryHandler
 */

/** @type {DeliveryHandler} */
let onDelivery = () => undefined;
/** @type {(error: Error) => void} */
let onFailure = (error) => {
  throw error;
};

/**
 * @param {number} port
 * @param {number} clients
 * @returns {Promise<Load>}
 */
async function startLanchatLoad(port, clients) {
  /** @type {{ core: ChatClient, socket: import('node:net').Socket, index: number }[]} */
  const all = [];
  /** @type {Set<{ core: ChatClient, socket: import('node:net').Socket, index: number }>} */
  const dirty = new Set();
  /** @type {NodeJS.Immediate | undefined} */
  let scheduled;
  let loggedIn = 0;
  let joinedSeen = 0;
  let acknowledged = 0;
  let closing = false;
  /** @type {() => void} */
  let checkReady = () => undefined;

  const flush = () => {
    if (scheduled !== undefined) clearImmediate(scheduled);
    scheduled = undefined;
    for (const client of dirty) {
      for (
        let out = client.core.pollTransmit();
        out !== undefined;
        out = client.core.pollTransmit()
      ) {
        client.socket.write(out);
      }
    }
    dirty.clear();
  };
  /** @param {{ core: ChatClient, socket: import('node:net').Socket, index: number }} client */
  const touch = (client) => {
    dirty.add(client);
    scheduled ??= setImmediate(flush);
  };

  /** @param {{ core: ChatClient, socket: import('node:net').Socket, index: number }} client */
  const drain = (client) => {
    const { core, index } = client;
    let receivedAt = -1;
    for (let event = core.nextEvent(); event !== undefined; event = core.nextEvent()) {
      switch (event.type) {
        case 'message-received':
          if (receivedAt < 0) receivedAt = performance.now();
          onDelivery(index, event.text, receivedAt);
          break;
        case 'message-delivered':
          acknowledged++;
          break;
        case 'server-identified':
          core.login({ nick: `load${String(index)}` }, Date.now());
          break;
        case 'login-succeeded':
          loggedIn++;
          checkReady();
          break;
        case 'user-joined':
          joinedSeen++;
          checkReady();
          break;
        case 'login-failed':
        case 'message-failed':
        case 'request-failed':
        case 'server-error':
        case 'server-shutdown':
        case 'session-closed':
          if (!closing) onFailure(new Error(`lanchat client ${index}: ${JSON.stringify(event)}`));
          break;
        default:
          break;
      }
    }
  };

  const ready = new Promise((resolve) => {
    // Ready when every client is logged in and has heard of every client after it: the server
    // has nothing left to say before the measurement.
    checkReady = () => {
      if (loggedIn === clients && joinedSeen === (clients * (clients - 1)) / 2) resolve(undefined);
    };
  });

  for (let index = 0; index < clients; index++) {
    const core = new ChatClient({ now: Date.now() });
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    const client = { core, socket, index };
    all.push(client);
    socket.on('data', (chunk) => {
      core.receive(chunk, Date.now());
      drain(client);
      touch(client);
    });
    socket.on('error', (error) => {
      if (!closing) onFailure(error);
    });
    socket.on('close', () => {
      if (!closing) onFailure(new Error(`lanchat client ${index}: socket closed`));
    });
    touch(client);
  }
  // Keepalives, should a run last long enough to need them.
  const timers = setInterval(() => {
    const now = Date.now();
    for (const client of all) {
      const deadline = client.core.pollTimeout();
      if (deadline !== undefined && deadline <= now) {
        client.core.handleTimeout(now);
        drain(client);
        touch(client);
      }
    }
  }, 1000);
  timers.unref();
  await ready;

  return {
    clients,
    send: (index, texts) => {
      const client = /** @type {(typeof all)[number]} */ (all[index]);
      const now = Date.now();
      for (const text of texts) client.core.say(ROOM, text, now);
      touch(client);
    },
    flush,
    acknowledges: true,
    acknowledged: () => acknowledged,
    close: () => {
      closing = true;
      clearInterval(timers);
      for (const client of all) client.socket.destroy();
    },
  };
}

/**
 * The clients of the bare relay, or (`sealed`) of the sealed relay, the ceiling: the same lines,
 * each write one frame sealed with node:crypto (sealed-lines.mjs).
 *
 * @param {number} port
 * @param {number} clients
 * @param {boolean} sealed
 * @returns {Promise<Load>}
 */
async function startLineLoad(port, clients, sealed) {
  /** @type {import('node:net').Socket[]} */
  const sockets = [];
  let welcomed = 0;
  let closing = false;
  /** @type {() => void} */
  let checkReady = () => undefined;
  const ready = new Promise((resolve) => {
    checkReady = () => {
      if (welcomed === clients) resolve(undefined);
    };
  });
  /** @type {(SealedEnd | undefined)[]} */
  const ends = [];
  for (let index = 0; index < clients; index++) {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    const end = sealed ? new SealedEnd('client') : undefined;
    sockets.push(socket);
    ends.push(end);
    let rest = '';
    let greeted = false;
    socket.on('data', (chunk) => {
      /** @type {Buffer | undefined} */
      let data = chunk;
      if (end !== undefined) {
        try {
          data = end.open(chunk);
        } catch (error) {
          onFailure(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        if (data === undefined) return;
      }
      const lines = (rest + data.toString('latin1')).split('\n');
      rest = /** @type {string} */ (lines.pop());
      let first = 0;
      if (!greeted) {
        greeted = true;
        first = 1;
        welcomed++;
        checkReady();
      }
      const receivedAt = performance.now();
      for (let line = first; line < lines.length; line++) {
        onDelivery(index, /** @type {string} */ (lines[line]), receivedAt);
      }
    });
    socket.on('error', (error) => {
      if (!closing) onFailure(error);
    });
    socket.on('close', () => {
      if (!closing) onFailure(new Error(`${sealed ? 'sealed' : 'bare'} client ${index}: closed`));
    });
  }
  await ready;
  return {
    clients,
    send: (index, texts) => {
      const socket = /** @type {import('node:net').Socket} */ (sockets[index]);
      const lines = Buffer.from(`${texts.join('\n')}\n`, 'latin1');
      const end = ends[index];
      socket.write(end === undefined ? lines : end.seal(lines));
    },
    flush: () => undefined,
    acknowledges: false,
    acknowledged: () => 0,
    close: () => {
      closing = true;
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * Parses a received text into sender, number and send time (NaN fields if it is not ours).
 *
 * @param {string} text
 */
function parseText(text) {
  return {
    sender: Number(text.slice(0, 3)),
    sequence: Number(text.slice(4, 10)),
    sentAt: Number(text.slice(11, 25)),
  };
}

/** @returns {number} CPU time of this process so far, in ms */
function cpuMilliseconds() {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/**
 * Every client sends `messages` messages as fast as it can; resolves at the last delivery.
 *
 * @param {Load} load
 * @param {number} messages per client
 * @param {number} timeoutMs
 */
async function blast(load, messages, timeoutMs) {
  const clients = load.clients;
  const expected = clients * messages * (clients - 1);
  const perReceiver = new Int32Array(clients);
  let delivered = 0;
  let sequenceSum = 0;
  let wrong = 0;
  let lastAt = 0;
  const acknowledgedBefore = load.acknowledged();
  /** @type {(value: undefined) => void} */
  let done = () => undefined;
  const finished = new Promise((resolve) => {
    done = resolve;
  });
  onDelivery = (receiver, text, receivedAt) => {
    const { sender, sequence } = parseText(text);
    if (sender === receiver || !(sender >= 0 && sender < clients) || text.length !== TEXT_LENGTH) {
      wrong++;
    }
    perReceiver[receiver] = (perReceiver[receiver] ?? 0) + 1;
    sequenceSum += sequence;
    delivered++;
    if (delivered === expected) {
      lastAt = receivedAt;
      done(undefined);
    }
  };
  const cpuBefore = cpuMilliseconds();
  const timer = setTimeout(() => {
    onFailure(new Error(`blast: ${delivered} of ${expected} deliveries after ${timeoutMs} ms`));
  }, timeoutMs);
  const start = performance.now();
  for (let client = 0; client < clients; client++) {
    /** @type {string[]} */
    const texts = [];
    for (let sequence = 0; sequence < messages; sequence++) {
      texts.push(messageText(client, sequence, start));
    }
    load.send(client, texts);
    load.flush();
  }
  await finished;
  // The acknowledgements of lanchat's server trail the deliveries a little; wait for them too.
  const acknowledgements = load.acknowledges ? clients * messages : 0;
  while (load.acknowledged() - acknowledgedBefore < acknowledgements) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  clearTimeout(timer);
  const cpu = cpuMilliseconds() - cpuBefore;
  const expectedSum = (clients * (clients - 1) * messages * (messages - 1)) / 2;
  const short = perReceiver.filter((count) => count !== (clients - 1) * messages).length;
  if (wrong > 0 || short > 0 || sequenceSum !== expectedSum) {
    throw new Error(
      `blast delivered WRONGLY: ${wrong} foreign texts, ${short} receivers with a wrong count, ` +
        `sequence sum ${sequenceSum} (expected ${expectedSum})`,
    );
  }
  onDelivery = () => undefined;
  return { milliseconds: lastAt - start, deliveries: delivered, loadCpuMilliseconds: cpu };
}

/**
 * `total` messages at `rate` per second in all: client i sends every clients/rate seconds, from a
 * start drawn at random within the first interval. Resolves when every message has reached every
 * other client.
 *
 * @param {Load} load
 * @param {number} rate messages per second, all clients together
 * @param {number} total
 * @param {number} seed
 * @param {number} timeoutMs
 */
async function paced(load, rate, total, seed, timeoutMs) {
  const clients = load.clients;
  const perClient = Math.ceil(total / clients);
  const interval = (1000 * clients) / rate;
  const random = mulberry32(seed);
  /** @type {{ at: number, client: number, sequence: number }[]} */
  const schedule = [];
  for (let client = 0; client < clients; client++) {
    const offset = (random() / 2 ** 32) * interval;
    for (let sequence = 0; sequence < perClient && schedule.length < total; sequence++) {
      schedule.push({ at: offset + sequence * interval, client, sequence });
    }
  }
  schedule.sort((a, b) => a.at - b.at);
  const sent = schedule.length;
  const expected = sent * (clients - 1);
  const latencies = new Float64Array(expected);
  let delivered = 0;
  let wrong = 0;
  /** @type {(value: undefined) => void} */
  let done = () => undefined;
  const finished = new Promise((resolve) => {
    done = resolve;
  });
  onDelivery = (receiver, text, receivedAt) => {
    const { sender, sentAt } = parseText(text);
    if (sender === receiver || !(sentAt > 0) || delivered >= expected) {
      wrong++;
      return;
    }
    latencies[delivered++] = receivedAt - sentAt;
    if (delivered === expected) done(undefined);
  };
  const cpuBefore = cpuMilliseconds();
  const start = performance.now() + 20;
  let next = 0;
  let lateSends = 0;
  /** @type {NodeJS.Timeout | undefined} */
  let tickTimer;
  const tick = () => {
    for (let entry = schedule[next]; entry !== undefined; entry = schedule[next]) {
      const now = performance.now();
      if (start + entry.at > now) break;
      if (now - (start + entry.at) > 5) lateSends++;
      load.send(entry.client, [messageText(entry.client, entry.sequence, now)]);
      next++;
    }
    load.flush();
    const entry = schedule[next];
    if (entry !== undefined) {
      tickTimer = setTimeout(tick, Math.max(0, start + entry.at - performance.now()));
    }
  };
  tickTimer = setTimeout(tick, 20);
  const timer = setTimeout(() => {
    onFailure(new Error(`paced: ${delivered} of ${expected} deliveries after ${timeoutMs} ms`));
  }, timeoutMs);
  await finished;
  clearTimeout(timer);
  clearTimeout(tickTimer);
  const elapsed = performance.now() - start;
  const cpu = cpuMilliseconds() - cpuBefore;
  onDelivery = () => undefined;
  if (wrong > 0) throw new Error(`paced delivered WRONGLY: ${wrong} unexpected texts`);
  latencies.sort();
  /** @param {number} fraction */
  const percentile = (fraction) =>
    latencies[Math.min(expected - 1, Math.floor(fraction * expected))] ?? NaN;
  return {
    sent,
    deliveries: delivered,
    milliseconds: elapsed,
    sendRate: (sent * 1000) / (schedule.at(-1)?.at ?? 1),
    lateSends,
    p50: percentile(0.5),
    p90: percentile(0.9),
    p99: percentile(0.99),
    p999: percentile(0.999),
    max: latencies[expected - 1] ?? NaN,
    loadCpuMilliseconds: cpu,
  };
}

if (isMainModule(import.meta.url)) {
  const [kind = '', portText = '', clientsText = '', lifetimeText = ''] = process.argv.slice(2);
  guardChild(Number(lifetimeText));
  onFailure = (error) => {
    tellParent({ type: 'error', message: error.stack ?? error.message });
    setTimeout(() => process.exit(1), 100).unref();
  };
  const port = Number(portText);
  const clients = Number(clientsText);
  const load =
    kind === 'lanchat'
      ? await startLanchatLoad(port, clients)
      : await startLineLoad(port, clients, kind === 'sealed');
  process.on('message', (raw) => {
    const message = /** @type {{ type: string, [key: string]: unknown }} */ (raw);
    const run = async () => {
      switch (message.type) {
        case 'blast':
          tellParent({
            type: 'blast-done',
            ...(await blast(
              load,
              Number(message['messages'] ?? 0),
              Number(message['timeoutMs'] ?? 0),
            )),
          });
          break;
        case 'paced':
          tellParent({
            type: 'paced-done',
            ...(await paced(
              load,
              Number(message['rate'] ?? 0),
              Number(message['total'] ?? 0),
              Number(message['seed'] ?? 1),
              Number(message['timeoutMs'] ?? 0),
            )),
          });
          break;
        case 'stop':
          load.close();
          process.disconnect();
          break;
        default:
          break;
      }
    };
    run().catch((/** @type {unknown} */ error) => {
      onFailure(error instanceof Error ? error : new Error(String(error)));
    });
  });
  tellParent({ type: 'ready' });
}
