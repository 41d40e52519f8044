// @ts-check
/**
 * The child side shared by the lanchat processes of the file-transfer benchmarks
 * (transfer-lanchat.mjs over TCP, udp-lanchat.mjs over UDP): failing the run, answering the
 * parent's messages until it says `stop`, watching a client's events, the server's answer to
 * `cpu`, the sender's and the receiver's handling of one file at a time, and the chat-only
 * `pinger` and `ponger` that time private-message round trips while a file moves (runChatPings).
 * What is timed and told to the parent about a file stays with each benchmark, passed in as
 * `measure`.
 *
 * A client ends the run (an `error` message to the parent, then exit) on a failed login, a
 * refused server key, its stop or a failed transfer, but not once the parent has said `stop`:
 * the clients' ends are then expected. What else may happen without ending the session is the
 * caller's choice, made explicit by `notices`: events of those types are counted instead (over
 * UDP a `connection-error` is a failed send and does not end the session; over TCP it does).
 *
 * @module
 */

import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { failChild, tellParent } from './children.mjs';
import { cpuMilliseconds, systemCpuMilliseconds } from './transfer-raw.mjs';

/**
 * A client's event (a UDP client is the client of @lanchat/tcp on another transport).
 *
 * @typedef {import('@lanchat/tcp').TcpClientEvent} ClientEvent
 */

/** @typedef {import('./children.mjs').ChildMessage} ChildMessage */

/**
 * Event types that may be counted instead of ending the run. A `connection-error` not counted
 * fails the run; a `transfer-interrupted` not counted is passed on to the handler alone.
 *
 * @typedef {'connection-error' | 'transfer-interrupted'} NoticeType
 */

/**
 * @typedef {object} ChildSide
 * @property {(error: unknown) => void} fail reports `error` to the parent and exits, unless the
 *   parent has said `stop`
 * @property {(handler: (message: ChildMessage) => void | Promise<void>,
 *   close: () => Promise<unknown>) => void} onParentMessage handles the parent's messages with
 *   `handler` (a throw or a rejection fails the run); `stop` ends the process after `close` (the
 *   clients' bye, the server's close), or after 2 s whatever happens
 * @property {(nick: string, handle: (event: ClientEvent) => void) => { onEvent:
 *   (event: ClientEvent) => void, online: Promise<void> }} watchClient the `onEvent` of a client
 *   logged in as `nick`: it fails the run as above, counts the notices, and passes every event on
 *   to `handle` (a throw fails the run); `online` resolves at `login-succeeded`
 * @property {Readonly<Record<string, number>>} notices the events counted so far, by type, over
 *   every client of this process
 */

/**
 * @param {{ name: string, notices: readonly NoticeType[] }} options `name`: how the process names
 *   itself on stderr (with its pid); `notices`: the event types counted instead of ending the run
 * @returns {ChildSide}
 */
export function childSide({ name, notices: noticeTypes }) {
  /** Set when the parent says `stop`: the clients' ends are then expected, not failures. */
  let closing = false;
  /** @type {Record<string, number>} */
  const notices = {};

  /** @param {unknown} error */
  const fail = (error) => {
    if (!closing) failChild(name, error);
  };

  return {
    fail,
    notices,
    onParentMessage: (handler, close) => {
      process.on('message', (raw) => {
        const message = /** @type {ChildMessage} */ (raw);
        if (message.type === 'stop') {
          closing = true;
          setTimeout(() => process.exit(0), 2000).unref();
          void close().finally(() => process.exit(0));
          return;
        }
        Promise.resolve()
          .then(() => handler(message))
          .catch(fail);
      });
    },
    watchClient: (nick, handle) => {
      /** @type {() => void} */
      let resolveOnline = () => undefined;
      /** @type {Promise<void>} */
      const online = new Promise((resolve) => {
        resolveOnline = resolve;
      });
      /** @param {ClientEvent} event */
      const onEvent = (event) => {
        if (noticeTypes.some((type) => type === event.type)) {
          notices[event.type] = (notices[event.type] ?? 0) + 1;
        } else {
          switch (event.type) {
            case 'login-succeeded':
              resolveOnline();
              break;
            case 'login-failed':
              fail(new Error(`${nick}: login failed: ${event.code} ${event.message}`));
              break;
            case 'server-key-rejected':
              fail(new Error(`${nick}: the server's key was rejected`));
              break;
            case 'connection-error':
              fail(new Error(`${nick}: ${event.error.message}`));
              break;
            case 'client-stopped':
              fail(new Error(`${nick}: the client stopped: ${event.reason}`));
              break;
            case 'transfer-failed':
              fail(new Error(`${nick}: transfer failed: ${event.code} ${event.message}`));
              break;
            default:
              break;
          }
        }
        try {
          handle(event);
        } catch (error) {
          fail(error);
        }
      };
      return { onEvent, online };
    },
  };
}

/**
 * A client and the promise of its login, from a `connect` given the client's `onEvent` handler.
 *
 * @typedef {(handle: (event: ClientEvent) => void) => {
 *   client: import('@lanchat/tcp').ChatTcpClient, online: Promise<void> }} Connect
 */

/**
 * A client logged in as `nick` and the promise of its login, as {@link Connect} for that nick.
 *
 * @typedef {(nick: string, handle: (event: ClientEvent) => void) => ReturnType<Connect>} ConnectAs
 */

/**
 * The sender's side of one file on its way: `transfer` is its id, once sendFile has resolved.
 *
 * @typedef {{ transfer: string | undefined }} Sending
 */

/**
 * The process of a client `sender` (through `connect`), once it is logged in: on the parent's
 * `{ type: 'send', path }` it calls `sendFile('receiver', path)`, which hashes the file and then
 * offers it. One file at a time. What is timed and told to the parent is `measure`'s: `start`
 * makes a file's state when sendFile is called, `hashed` runs as soon as it has resolved, and
 * `event` gets every event of that transfer, its `transfer-completed` the last. Says `ready`.
 *
 * @template {Sending} S
 * @param {ChildSide} side
 * @param {Connect} connect
 * @param {{ start: () => S, hashed: (state: S) => void,
 *   event: (state: S, event: ClientEvent) => void }} measure
 */
export async function runFileSender(side, connect, measure) {
  /** @type {S | undefined} */
  let sending;
  const { client, online } = connect((event) => {
    if (sending === undefined || !('transfer' in event) || event.transfer !== sending.transfer) {
      return;
    }
    measure.event(sending, event);
    if (event.type === 'transfer-completed') sending = undefined;
  });
  await online;
  side.onParentMessage(
    async (message) => {
      if (message.type !== 'send') return;
      if (sending !== undefined) throw new Error('sender: a transfer is already going');
      const state = measure.start();
      sending = state;
      // The offer goes out on the client's next turn, so no event of this transfer can come
      // before its id is known here.
      state.transfer = await client.sendFile('receiver', String(message['path']));
      measure.hashed(state);
    },
    () => client.bye(),
  );
  tellParent({ type: 'ready' });
}

/**
 * The receiver's side of one file coming in: `transfer` is its id, once offered.
 *
 * @typedef {{ directory: string, transfer: string | undefined }} Receiving
 */

/**
 * The process of a client `receiver` (through `connect`), once it is logged in: on the parent's
 * `{ type: 'receive', directory }` it says `expecting` and accepts the next offer into
 * `directory`. One file at a time. What is timed and told to the parent is `measure`'s: `start`
 * makes the file's state, `offered` runs at the offer (before the acceptance), `event` gets the
 * transfer's other events, and `saved` gets the file's path at its `transfer-completed`, once
 * lanchat has checked its SHA-256 and saved it. Says `ready`.
 *
 * @template {Receiving} R
 * @param {ChildSide} side
 * @param {Connect} connect
 * @param {{ start: (directory: string) => R,
 *   offered: (state: R, event: Extract<ClientEvent, { type: 'transfer-offered' }>) => void,
 *   event?: (state: R, event: ClientEvent) => void,
 *   saved: (state: R, path: string) => Promise<void> }} measure
 */
export async function runFileReceiver(side, connect, measure) {
  /** @type {R | undefined} */
  let receiving;
  /** @param {R} state */
  const accept = async (state) => {
    const transfer = /** @type {string} */ (state.transfer);
    const result = await client.acceptFile(transfer, state.directory);
    if ('refused' in result) throw new Error(`receiver: acceptFile refused: ${result.refused}`);
  };
  const { client, online } = connect((event) => {
    if (event.type === 'transfer-offered') {
      if (receiving === undefined || receiving.transfer !== undefined) {
        throw new Error(`receiver: an offer it did not expect, from ${event.peer}`);
      }
      receiving.transfer = event.transfer;
      measure.offered(receiving, event);
      accept(receiving).catch(side.fail);
      return;
    }
    if (
      receiving === undefined ||
      !('transfer' in event) ||
      event.transfer !== receiving.transfer
    ) {
      return;
    }
    if (event.type === 'transfer-completed') {
      const done = receiving;
      receiving = undefined;
      if (event.path === undefined) throw new Error('receiver: completed without a path');
      measure.saved(done, event.path).catch(side.fail);
    } else {
      measure.event?.(receiving, event);
    }
  });
  await online;
  side.onParentMessage(
    (message) => {
      if (message.type !== 'receive') return;
      if (receiving !== undefined) throw new Error('receiver: a transfer is already expected');
      receiving = measure.start(String(message['directory']));
      tellParent({ type: 'expecting' });
    },
    () => client.bye(),
  );
  tellParent({ type: 'ready' });
}

/**
 * The sender's times of one file, in ms of its clock: `hashMilliseconds` sendFile called to
 * resolved (the file hashed, the offer queued), `offerMilliseconds` from there to the receiver's
 * acceptance, `transferMilliseconds` acceptance to `completedAt`, `endToEndMilliseconds` the whole.
 *
 * @param {{ startedAt: number, hashedAt: number, acceptedAt: number }} sending
 * @param {number} completedAt
 */
export function senderTimes(sending, completedAt) {
  return {
    hashMilliseconds: sending.hashedAt - sending.startedAt,
    offerMilliseconds: sending.acceptedAt - sending.hashedAt,
    transferMilliseconds: completedAt - sending.acceptedAt,
    endToEndMilliseconds: completedAt - sending.startedAt,
  };
}

/**
 * The process of a server, once it listens: answers the parent's `{ type: 'cpu' }` with the
 * process's CPU time so far (`milliseconds`; `systemMilliseconds`, the kernel's part of it) and
 * the server's counters, from `statistics`. `stop` closes the server.
 *
 * @param {ChildSide} side
 * @param {{ close: () => Promise<unknown> }} server
 * @param {() => Record<string, unknown>} statistics
 */
export function answerCpu(side, server, statistics) {
  side.onParentMessage(
    (message) => {
      if (message.type !== 'cpu') return;
      tellParent({
        type: 'cpu',
        milliseconds: cpuMilliseconds(),
        systemMilliseconds: systemCpuMilliseconds(),
        statistics: statistics(),
      });
    },
    () => server.close(),
  );
}

/**
 * The process of two chat-only clients, `pinger` and `ponger` (through `connectAs`), once both
 * are logged in. On the parent's `{ type: 'ping-start', intervalMs, maxCount, untilDone?,
 * graceMs? }` the pinger sends a private message to the ponger every `intervalMs` (at most
 * `maxCount`), the ponger sends each straight back, and the pinger times the round trip. On
 * `{ type: 'ping-stop', graceMs }` (or, with `untilDone`, once all `maxCount` have been sent) the
 * pings still out get `graceMs` more to come back, then count as lost; then (or as soon as none
 * is out) it says `ping-result` with `sent`, `lost`, every round trip in ms and its CPU time over
 * the phase. One phase at a time; a late answer to a ping of an earlier phase is dropped. Says
 * `ready`.
 *
 * Both clients are in one process of their own, apart from the sender and the receiver, so that
 * the clock that times the round trips is not held up by file reads, hashing or encryption of the
 * transfer in the same event loop: what is measured is how long the server (and what stands
 * between, a relay), busy with the file, takes to pass a chat line on.
 *
 * @param {ChildSide} side
 * @param {ConnectAs} connectAs
 */
export async function runChatPings(side, connectAs) {
  /** Send times of the pings still out, by number. */
  const out = new Map();
  /** @type {number[]} */
  let roundTrips = [];
  let sent = 0;
  let maxCount = 0;
  let untilDone = false;
  let stopping = false;
  let graceMs = 0;
  let cpuAtStart = 0;
  /** @type {NodeJS.Timeout | undefined} */
  let ticker;
  /** @type {NodeJS.Timeout | undefined} */
  let grace;
  let running = false;

  const finish = () => {
    if (!running) return;
    running = false;
    clearInterval(ticker);
    clearTimeout(grace);
    tellParent({
      type: 'ping-result',
      sent,
      lost: out.size,
      roundTrips,
      cpuMilliseconds: cpuMilliseconds() - cpuAtStart,
    });
    out.clear();
  };

  /** No more pings: finish once none is out, or after the grace period. */
  const stop = () => {
    clearInterval(ticker);
    stopping = true;
    if (out.size === 0) finish();
    else grace ??= setTimeout(finish, graceMs);
  };

  const ponger = connectAs('ponger', (event) => {
    if (event.type === 'private-message-received' && event.from === 'pinger') {
      ponger.client.sendPrivate('pinger', event.text);
    }
  });
  const pinger = connectAs('pinger', (event) => {
    if (event.type !== 'private-message-received' || event.from !== 'ponger') return;
    const now = performance.now();
    const number = Number(event.text.slice('ping '.length));
    const sentAt = out.get(number);
    if (sentAt === undefined) return;
    out.delete(number);
    roundTrips.push(now - sentAt);
    if (stopping && out.size === 0) finish();
  });
  await Promise.all([ponger.online, pinger.online]);

  const ping = () => {
    if (sent >= maxCount) {
      clearInterval(ticker);
      return;
    }
    out.set(sent, performance.now());
    pinger.client.sendPrivate('ponger', `ping ${sent}`);
    sent++;
    if (untilDone && sent >= maxCount) stop();
  };

  side.onParentMessage(
    (message) => {
      if (message.type === 'ping-start') {
        if (running) throw new Error('chat: pings are already running');
        running = true;
        stopping = false;
        grace = undefined;
        roundTrips = [];
        out.clear();
        sent = 0;
        maxCount = Number(message['maxCount']);
        untilDone = message['untilDone'] === true;
        graceMs = Number(message['graceMs'] ?? 0);
        cpuAtStart = cpuMilliseconds();
        ticker = setInterval(ping, Number(message['intervalMs']));
        ping();
      } else if (message.type === 'ping-stop') {
        graceMs = Number(message['graceMs']);
        stop();
      }
    },
    () => Promise.all([ponger.client.bye(), pinger.client.bye()]),
  );
  tellParent({ type: 'ready' });
}
