/**
 * Serverless mode: one peer of a full mesh of peers, sans-I/O (docs/protocol.md, section 11).
 *
 * @module
 */

import type { CryptoProvider, X25519KeyPair } from '../crypto/crypto-provider.js';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import { StreamChannel } from '../channel/stream-channel.js';
import { InvalidArgumentError, InvalidStateError, LanchatError } from '../errors/lanchat-error.js';
import { MalformedSessionMessageError } from '../errors/session-errors.js';
import { checkLimit } from '../frame/limits.js';
import { constantTimeEqual } from '../integrity/digest.js';
import {
  DEFAULT_MAX_TEXT_BYTES,
  DEFAULT_ROOM,
  MAX_NAME_LENGTH,
  checkNickname,
  checkRoomName,
  checkText,
  nameKey,
} from '../session/names.js';
import { DEFAULT_DEAD_TIMEOUT, DEFAULT_KEEPALIVE_INTERVAL } from '../session/session-options.js';
import { TRANSFER_HIGH_WATER } from '../session/chat-client.js';
import { encodeTransferData } from '../session/transfer-data.js';
import {
  fromOfferFields,
  fromSessionTransfer,
  toOfferFields,
  toSessionTransfer,
} from '../session/transfer-session.js';
import {
  type TransferMessage,
  type TransferOffer,
  fromHex,
  toHex,
} from '../transfer/transfer-messages.js';
import { FifoQueue } from '../util/fifo-queue.js';
import {
  PEER_CAPABILITY,
  type PeerAddress,
  type PeerByeReason,
  type PeerControlMessage,
  type PeerHello,
  type PeerMessage,
  decodePeerMessage,
  encodePeerMessage,
} from './peer-messages.js';

/** Default first delay before dialling a lost peer again: 500 ms, doubled on each failure. */
export const DEFAULT_REDIAL_INITIAL_DELAY = 500;
/** Default longest delay between two dials of a lost peer: 30 s. */
export const DEFAULT_REDIAL_MAX_DELAY = 30_000;
/** Default time a lost peer is dialled before it is given up: 10 minutes. */
export const DEFAULT_REDIAL_GIVE_UP = 600_000;
/**
 * Default head start of the peer with the lower key: when two peers learn of each other, or lose
 * each other, the one whose key is higher waits this long (2 s) before it dials, so that they do
 * not dial each other at once.
 */
export const DEFAULT_DIAL_HEAD_START = 2_000;
/** Default most peers a mesh keeps, connected or not: 256. */
export const DEFAULT_MAX_PEERS = 256;
/** Default most links at once, handshakes included: 512. */
export const DEFAULT_MAX_LINKS = 512;
/** Default most incoming links still in their handshake: 32. */
export const DEFAULT_MAX_PEER_HANDSHAKES = 32;
/** Default most messages kept for one peer until it acknowledges them: 1024. */
export const DEFAULT_MAX_OUTBOX = 1024;
/** Default time a message waits for a lost peer before it fails: 5 minutes. */
export const DEFAULT_OUTBOX_TIMEOUT = 300_000;

/** Most transfers whose peer the mesh remembers (the adapter forgets ended ones). */
const MAX_REMEMBERED_TRANSFERS = 4096;

/** Longest text a peer takes from another, in bytes: 196,608 (a string field's bound). */
const MAX_PEER_TEXT_BYTES = 196_608;

/** Options of a {@link PeerMesh}. */
export interface PeerMeshOptions {
  /** The current time, in ms. */
  readonly now: number;
  /** This peer's long-term key pair: its identity in the mesh. */
  readonly staticKeyPair: X25519KeyPair;
  /** The nickname wanted. It may be changed to stay unique in the mesh (`nick-conflict`). */
  readonly nick: string;
  /** The TCP port this peer accepts others on, told to them; none if it accepts none. */
  readonly listenPort?: number;
  /** Rooms to be in besides `DEFAULT_ROOM` (`lobby`). */
  readonly rooms?: readonly string[];
  /** Default node:crypto. */
  readonly crypto?: CryptoProvider;
  /** Handshake deadline, in ms. Default the channel's, 10 s. */
  readonly handshakeTimeout?: number;
  /** Default `DEFAULT_KEEPALIVE_INTERVAL` (30 s). */
  readonly keepaliveInterval?: number;
  /** Default `DEFAULT_DEAD_TIMEOUT` (75 s). */
  readonly deadTimeout?: number;
  /** Default {@link DEFAULT_REDIAL_INITIAL_DELAY}. */
  readonly redialInitialDelay?: number;
  /** Default {@link DEFAULT_REDIAL_MAX_DELAY}. */
  readonly redialMaxDelay?: number;
  /** Default {@link DEFAULT_REDIAL_GIVE_UP}. */
  readonly redialGiveUp?: number;
  /** Default {@link DEFAULT_DIAL_HEAD_START}. */
  readonly dialHeadStart?: number;
  /** Default {@link DEFAULT_MAX_PEERS}. */
  readonly maxPeers?: number;
  /** Default {@link DEFAULT_MAX_LINKS}. */
  readonly maxLinks?: number;
  /** Default {@link DEFAULT_MAX_PEER_HANDSHAKES}. */
  readonly maxHandshakes?: number;
  /** Default {@link DEFAULT_MAX_OUTBOX}. */
  readonly maxOutbox?: number;
  /** Default {@link DEFAULT_OUTBOX_TIMEOUT}. */
  readonly outboxTimeout?: number;
  /** Longest text, in bytes. Default `DEFAULT_MAX_TEXT_BYTES` (4096). */
  readonly maxTextBytes?: number;
}

/** Where a peer stands. */
export type PeerStatus =
  /** A link is up. */
  | 'connected'
  /** Being dialled, or a dial is scheduled. */
  | 'connecting'
  /** Not connected, and not dialled: it left, hung up, was given up, or cannot be reached. */
  | 'away';

/** A peer as {@link PeerMesh.peers} lists it. */
export interface PeerSummary {
  /** Its static public key, 64 hexadecimal digits. */
  readonly key: string;
  readonly nick: string;
  readonly status: PeerStatus;
  /** Where it accepts peers, when known. */
  readonly host: string | undefined;
  readonly port: number | undefined;
  /** Whether the link up came from it. */
  readonly incoming: boolean | undefined;
  readonly rooms: readonly string[];
  /** Messages sent to it and not yet acknowledged. */
  readonly unacknowledged: number;
}

/** What a peer's events say of it: its key (64 hexadecimal digits) and nickname. */
export interface PeerTag {
  readonly key: string;
  readonly nick: string;
}

/** Why a peer is no longer connected. */
export type PeerDisconnectReason =
  /** It said it leaves the mesh. */
  | 'left'
  /** It hung up on this peer. */
  | 'hung-up'
  /** This peer ended the link: it hung up, or left the mesh. */
  | 'closed'
  /** The connection ended without a goodbye. */
  | 'lost'
  /** Nothing came from it for the dead timeout. */
  | 'timeout'
  /** It broke the protocol. */
  | 'protocol-error';

/** Events of a {@link PeerMesh}. */
export type PeerMeshEvent =
  | (PeerTag & {
      readonly type: 'peer-connected';
      readonly host: string;
      readonly port: number | undefined;
      readonly incoming: boolean;
      readonly rooms: readonly string[];
    })
  | (PeerTag & {
      readonly type: 'peer-disconnected';
      readonly reason: PeerDisconnectReason;
      readonly message: string;
      /** Whether it will be dialled again. */
      readonly redial: boolean;
    })
  | (PeerTag & {
      readonly type: 'redial-scheduled';
      readonly attempt: number;
      readonly delay: number;
    })
  | (PeerTag & { readonly type: 'peer-given-up' })
  | (PeerTag & {
      /** A connected peer that had no listening port now has one (it sent `listening`). */
      readonly type: 'peer-listening';
      readonly host: string;
      readonly port: number;
    })
  | (PeerTag & {
      readonly type: 'peer-discovered';
      readonly host: string;
      readonly port: number;
      /** The nickname of the peer that told of it. */
      readonly via: string;
    })
  | {
      /** A link ended before the peer on it was known: a dial that failed, a stranger. */
      readonly type: 'link-failed';
      readonly link: number;
      readonly incoming: boolean;
      readonly host: string;
      readonly port: number | undefined;
      readonly message: string;
    }
  | {
      /** A dialled address answered with another key than the one expected: it was refused. */
      readonly type: 'peer-key-rejected';
      readonly host: string;
      readonly port: number | undefined;
      readonly expected: string;
      readonly actual: string;
    }
  | (PeerTag & {
      readonly type: 'message-received';
      /** Unique in the mesh: the sender's epoch and its message number. */
      readonly id: string;
      readonly room: string;
      readonly text: string;
      readonly ts: number;
    })
  | (PeerTag & {
      readonly type: 'private-message-received';
      readonly id: string;
      readonly text: string;
      readonly ts: number;
    })
  | (PeerTag & {
      /** A message of this peer never reached `nick`. */
      readonly type: 'message-failed';
      readonly id: string;
      readonly message: string;
    })
  | (PeerTag & {
      readonly type: 'nick-changed';
      readonly old: string;
      /** True when this peer is the one renamed (`key` is then its own). */
      readonly self: boolean;
    })
  | (PeerTag & {
      /**
       * This peer and the peer `key` had the same nickname `nick`. The peer whose key is lower
       * keeps it (`kept` true on its side); the other takes another and says so (`nick-changed`).
       */
      readonly type: 'nick-conflict';
      readonly kept: boolean;
    })
  | (PeerTag & { readonly type: 'user-joined'; readonly room: string })
  | (PeerTag & { readonly type: 'user-left'; readonly room: string })
  | (PeerTag & { readonly type: 'transfer-offered'; readonly offer: TransferOffer })
  | (PeerTag & {
      readonly type: 'transfer-message';
      readonly message: Exclude<TransferMessage, TransferOffer>;
    })
  | (PeerTag & {
      readonly type: 'transfer-offer-failed';
      readonly transfer: string;
      readonly code: string;
      readonly message: string;
    })
  | (PeerTag & { readonly type: 'transfer-interrupted'; readonly transfer: string });

/** What the adapter must do for the mesh. */
export type PeerMeshAction =
  /** Open a connection to `host:port` and carry link `link` over it. */
  | { readonly type: 'dial'; readonly link: number; readonly host: string; readonly port: number }
  /**
   * Close link `link`'s connection: `graceful`, after writing what {@link PeerMesh.pollTransmit}
   * still gives; otherwise at once.
   */
  | { readonly type: 'close'; readonly link: number; readonly graceful: boolean };

interface OutboxEntry {
  readonly n: number;
  readonly id: string;
  readonly bytes: Uint8Array;
  readonly at: number;
}

interface Peer {
  readonly key: Uint8Array;
  readonly hex: string;
  nick: string;
  host: string | undefined;
  port: number | undefined;
  /** The link messages go on (identified or up), if any. */
  link: Link | undefined;
  /** Since when a connected peer has had no link (its link closed as a duplicate of another). */
  linkless: number | undefined;
  /** An outgoing link being dialled for it. */
  dialing: Link | undefined;
  connected: boolean;
  /** No automatic dial: one side hung up on the other. */
  hungUp: boolean;
  /** It left the mesh. */
  left: boolean;
  attempt: number;
  dialAt: number | undefined;
  downSince: number | undefined;
  epoch: string | undefined;
  /** Highest message number received under `epoch`. */
  lastN: number;
  readonly outbox: OutboxEntry[];
  /** Rooms, by name key. */
  readonly rooms: Map<string, string>;
}

/** Where a link of a {@link PeerMesh} is: in its handshake, identified, up (hello received), closed. */
export type PeerLinkState = 'handshaking' | 'identified' | 'up' | 'closed';

interface Link {
  readonly id: number;
  readonly outgoing: boolean;
  readonly channel: StreamChannel;
  readonly host: string;
  readonly port: number | undefined;
  readonly expectedKey: Uint8Array | undefined;
  state: PeerLinkState;
  peer: Peer | undefined;
  lastSent: number;
  lastReceived: number;
  lastPing: number;
  nextPing: number;
  ackOwed: boolean;
  /** The connection under it is gone (the adapter said so). */
  socketGone: boolean;
  /**
   * Whether the other side's first bytes were lanchat's. An incoming link holds its own preamble
   * back until then, so that a stranger (a browser, a port scanner) gets no lanchat byte.
   */
  heard: boolean;
  /** The listening port this side told on the link (in its hello, then `listening`). */
  toldPort: number | undefined;
  /** The reason this side gave in a bye, or the other side's. */
  bye: PeerByeReason | undefined;
  byeReceived: PeerByeReason | undefined;
}

function compareBytes(left: Uint8Array, right: Uint8Array): number {
  for (let index = 0; index < Math.min(left.length, right.length); index++) {
    if (left[index] !== right[index]) return left[index]! - right[index]!;
  }
  return left.length - right.length;
}

/**
 * One peer of a serverless mesh: it accepts and dials links to other peers, each a Noise XX
 * stream channel, and keeps a full mesh. On each new link the two peers tell each other the peers
 * they know, and dial those they miss; two links between the same pair of keys are cut to one,
 * the same one on both sides; a lost peer is dialled again with backoff. Room and private
 * messages go to each peer directly, numbered, kept until acknowledged, sent again on the next
 * link if one was lost, and dropped by the receiver if it has them already. Nicknames stay unique:
 * of two peers with one nickname, the one with the higher key takes another.
 *
 * Drive it like every lanchat machine: the adapter carries out its {@link PeerMesh.nextAction}s
 * (dial, close), calls {@link PeerMesh.accept} for each incoming connection, feeds each link's
 * bytes to {@link PeerMesh.receive}, writes what {@link PeerMesh.pollTransmit} gives, reports
 * ends ({@link PeerMesh.receiveEnd}, {@link PeerMesh.linkClosed}), and keeps one timer for
 * {@link PeerMesh.pollTimeout}.
 */
export class PeerMesh {
  readonly #crypto: CryptoProvider;
  readonly #keyPair: X25519KeyPair;
  readonly #hex: string;
  readonly #epoch: string;
  #listenPort: number | undefined;
  readonly #handshakeTimeout: number | undefined;
  readonly #keepaliveInterval: number;
  readonly #deadTimeout: number;
  readonly #redialInitialDelay: number;
  readonly #redialMaxDelay: number;
  readonly #redialGiveUp: number;
  readonly #dialHeadStart: number;
  readonly #maxPeers: number;
  readonly #maxLinks: number;
  readonly #maxHandshakes: number;
  readonly #maxOutbox: number;
  readonly #outboxTimeout: number;
  readonly #maxTextBytes: number;
  #nick: string;
  readonly #rooms = new Map<string, string>();
  readonly #peers = new Map<string, Peer>();
  readonly #links = new Map<number, Link>();
  readonly #events = new FifoQueue<PeerMeshEvent>();
  readonly #actions = new FifoQueue<PeerMeshAction>();
  /** Transfers, by id, to the key of the peer on the other end. */
  readonly #transfers = new Map<string, string>();
  #nextLink = 1;
  #nextN = 1;
  #nextPing = 1;
  /** Left the mesh: nothing is dialled until {@link PeerMesh.connect}. */
  #left = false;
  /** Addresses that turned out to be this peer itself. */
  readonly #selfAddresses = new Set<string>();

  /** @throws `InvalidArgumentError` for a bad nickname, room or option. */
  constructor(options: PeerMeshOptions) {
    this.#crypto = options.crypto ?? nodeCryptoProvider;
    this.#keyPair = options.staticKeyPair;
    this.#hex = toHex(options.staticKeyPair.publicKey);
    this.#epoch = toHex(this.#crypto.randomBytes(16));
    this.#nick = checkNickname(options.nick);
    this.#listenPort =
      options.listenPort === undefined
        ? undefined
        : checkLimit('listenPort', options.listenPort, 0, 1, 65_535);
    this.#handshakeTimeout = options.handshakeTimeout;
    const limit = (name: string, value: number | undefined, fallback: number, min = 1): number =>
      checkLimit(name, value, fallback, min, 2 ** 31);
    this.#keepaliveInterval = limit(
      'keepaliveInterval',
      options.keepaliveInterval,
      DEFAULT_KEEPALIVE_INTERVAL,
    );
    this.#deadTimeout = limit('deadTimeout', options.deadTimeout, DEFAULT_DEAD_TIMEOUT);
    this.#redialInitialDelay = limit(
      'redialInitialDelay',
      options.redialInitialDelay,
      DEFAULT_REDIAL_INITIAL_DELAY,
    );
    this.#redialMaxDelay = limit(
      'redialMaxDelay',
      options.redialMaxDelay,
      DEFAULT_REDIAL_MAX_DELAY,
    );
    this.#redialGiveUp = limit('redialGiveUp', options.redialGiveUp, DEFAULT_REDIAL_GIVE_UP);
    this.#dialHeadStart = limit('dialHeadStart', options.dialHeadStart, DEFAULT_DIAL_HEAD_START, 0);
    this.#maxPeers = checkLimit('maxPeers', options.maxPeers, DEFAULT_MAX_PEERS, 1, 100_000);
    this.#maxLinks = checkLimit('maxLinks', options.maxLinks, DEFAULT_MAX_LINKS, 1, 100_000);
    this.#maxHandshakes = checkLimit(
      'maxHandshakes',
      options.maxHandshakes,
      DEFAULT_MAX_PEER_HANDSHAKES,
      1,
      100_000,
    );
    this.#maxOutbox = checkLimit('maxOutbox', options.maxOutbox, DEFAULT_MAX_OUTBOX, 1, 1_000_000);
    this.#outboxTimeout = limit('outboxTimeout', options.outboxTimeout, DEFAULT_OUTBOX_TIMEOUT);
    this.#maxTextBytes = checkLimit(
      'maxTextBytes',
      options.maxTextBytes,
      DEFAULT_MAX_TEXT_BYTES,
      1,
      196_608,
    );
    for (const room of [DEFAULT_ROOM, ...(options.rooms ?? [])]) {
      const name = checkRoomName(room);
      this.#rooms.set(nameKey(name), name);
    }
  }

  /** This peer's public key, 64 hexadecimal digits. */
  get key(): string {
    return this.#hex;
  }

  /** This peer's nickname now. */
  get nick(): string {
    return this.#nick;
  }

  /** The rooms this peer is in. */
  get rooms(): readonly string[] {
    return [...this.#rooms.values()];
  }

  /** Whether this peer has left the mesh ({@link PeerMesh.disconnect} of every peer). */
  get left(): boolean {
    return this.#left;
  }

  /**
   * The port this peer now accepts others on (it started to listen late). Links made from now on
   * tell it in their `hello`; peers connected already are sent `listening`, and tell the others.
   *
   * @throws `InvalidArgumentError` for a port out of range.
   */
  setListenPort(port: number, now: number): void {
    this.#listenPort = checkLimit('listenPort', port, 0, 1, 65_535);
    // Every link whose hello is out (a link still in its handshake will say it in its hello).
    for (const link of this.#links.values()) {
      if (link.state !== 'identified' && link.state !== 'up') continue;
      if (link.toldPort === this.#listenPort) continue;
      this.#send(link, { type: 'listening', port: this.#listenPort }, now);
      link.toldPort = this.#listenPort;
    }
  }

  /** Every peer known, connected or not. */
  peers(): PeerSummary[] {
    return [...this.#peers.values()].map((peer) => ({
      key: peer.hex,
      nick: peer.nick,
      status: this.#status(peer),
      host: peer.host,
      port: peer.port,
      incoming: peer.link === undefined ? undefined : !peer.link.outgoing,
      rooms: [...peer.rooms.values()],
      unacknowledged: peer.outbox.length,
    }));
  }

  /** The links open now, by id, and the peer on each once known. */
  links(): { readonly link: number; readonly state: PeerLinkState; readonly peer?: string }[] {
    return [...this.#links.values()].map((link) => ({
      link: link.id,
      state: link.state,
      ...(link.peer === undefined ? {} : { peer: link.peer.hex }),
    }));
  }

  // ---------------------------------------------------------------------------------------------
  // Links

  /**
   * Dials `host:port` (a `dial` action follows). With `key`, the peer there must prove that key,
   * or it is refused (`peer-key-rejected`). A peer this one had hung up on, or that had hung up,
   * is dialled again; after {@link PeerMesh.disconnect} of every peer, this peer is back in the
   * mesh.
   *
   * @returns the link's id, or `undefined` when a peer at that address is connected already.
   * @throws `InvalidArgumentError` for a bad port or key; `InvalidStateError` when too many
   * links are open.
   */
  connect(
    host: string,
    port: number,
    now: number,
    options: { readonly key?: Uint8Array } = {},
  ): number | undefined {
    checkLimit('port', port, 0, 1, 65_535);
    if (options.key !== undefined && options.key.length !== 32) {
      throw new InvalidArgumentError('a peer key is 32 bytes');
    }
    this.#left = false;
    for (const peer of this.#peers.values()) {
      if (peer.host === host && peer.port === port) {
        peer.hungUp = false;
        peer.left = false;
        if (peer.connected || peer.dialing !== undefined) return undefined;
      }
    }
    if (options.key !== undefined) {
      const peer = this.#peers.get(toHex(options.key));
      if (peer !== undefined) {
        peer.hungUp = false;
        peer.left = false;
        if (peer.connected || peer.dialing !== undefined) return undefined;
      }
    }
    if (this.#links.size >= this.#maxLinks) {
      throw new InvalidStateError(`${this.#maxLinks} links are open already`);
    }
    this.#selfAddresses.delete(`${host}|${port}`);
    const link = this.#openLink(true, host, port, options.key, now);
    const peer = options.key === undefined ? undefined : this.#peers.get(toHex(options.key));
    if (peer !== undefined) {
      peer.dialing = link;
      peer.dialAt = undefined;
    }
    return link.id;
  }

  /**
   * A connection came in from `host:port`: the mesh takes it as a new link.
   *
   * @returns the link's id, or `undefined` when the mesh refuses it (too many links or
   * handshakes): close the connection.
   */
  accept(now: number, from: { readonly host: string; readonly port?: number }): number | undefined {
    let handshaking = 0;
    for (const link of this.#links.values()) {
      if (!link.outgoing && link.state === 'handshaking') handshaking++;
    }
    if (this.#links.size >= this.#maxLinks || handshaking >= this.#maxHandshakes) return undefined;
    return this.#openLink(false, from.host, from.port, undefined, now).id;
  }

  /** Feeds bytes read from link `link`. Protocol errors close the link (events say why). */
  receive(link: number, data: Uint8Array, now: number): void {
    const entry = this.#links.get(link);
    if (entry === undefined || entry.state === 'closed') return;
    entry.lastReceived = now;
    this.#step(entry, now, () => {
      entry.channel.receive(data, now);
      // The channel checks the preamble as its first bytes arrive, and throws on a stranger's.
      entry.heard = true;
    });
  }

  /** Link `link`'s connection reached its end. */
  receiveEnd(link: number, now: number): void {
    const entry = this.#links.get(link);
    if (entry === undefined || entry.state === 'closed') return;
    this.#step(entry, now, () => {
      entry.channel.receiveEnd(now);
    });
  }

  /**
   * Link `link`'s connection closed or failed (`message` says how, when it failed). The mesh
   * forgets the link; a peer lost with it is dialled again later.
   */
  linkClosed(link: number, now: number, message?: string): void {
    const entry = this.#links.get(link);
    if (entry === undefined) return;
    entry.socketGone = true;
    if (entry.state !== 'closed') {
      this.#closeLink(entry, now, 'lost', message ?? 'the connection was lost', false);
    }
    this.#links.delete(link);
  }

  /** The next bytes to write on link `link`, or `undefined`. */
  pollTransmit(link: number): Uint8Array | undefined {
    const entry = this.#links.get(link);
    if (entry === undefined || !entry.heard || entry.channel.error !== undefined) return undefined;
    if (entry.ackOwed && entry.peer !== undefined && entry.state !== 'closed') {
      entry.ackOwed = false;
      this.#send(entry, { type: 'ack', n: entry.peer.lastN });
    }
    return entry.channel.pollTransmit();
  }

  /** The next thing for the adapter to do, or `undefined`. */
  nextAction(): PeerMeshAction | undefined {
    return this.#actions.shift();
  }

  /** The next event, or `undefined`. */
  nextEvent(): PeerMeshEvent | undefined {
    return this.#events.shift();
  }

  /** The next deadline: a handshake's, a keepalive, a dead link, a dial, a message's. */
  pollTimeout(): number | undefined {
    let earliest = Infinity;
    for (const link of this.#links.values()) {
      if (link.state === 'closed') continue;
      if (link.state === 'handshaking') {
        earliest = Math.min(earliest, link.channel.pollTimeout() ?? Infinity);
      } else {
        earliest = Math.min(earliest, link.lastReceived + this.#deadTimeout, this.#keepalive(link));
      }
    }
    for (const peer of this.#peers.values()) {
      if (peer.dialAt !== undefined) earliest = Math.min(earliest, peer.dialAt);
      if (peer.linkless !== undefined) {
        earliest = Math.min(earliest, peer.linkless + this.#linklessTimeout());
      }
      if (!peer.connected && peer.outbox.length > 0) {
        earliest = Math.min(earliest, peer.outbox[0]!.at + this.#outboxTimeout);
      }
    }
    return earliest === Infinity ? undefined : earliest;
  }

  /** Acts on the time: handshake deadlines, keepalives, dead links, dials, stale messages. */
  handleTimeout(now: number): void {
    for (const link of [...this.#links.values()]) {
      if (link.state === 'closed') continue;
      if (link.state === 'handshaking') {
        this.#step(link, now, () => {
          link.channel.handleTimeout(now);
        });
        continue;
      }
      if (now >= link.lastReceived + this.#deadTimeout) {
        this.#closeLink(link, now, 'timeout', 'nothing came from the peer for too long', false);
        continue;
      }
      if (now >= this.#keepalive(link)) {
        link.lastPing = now;
        this.#send(link, { type: 'ping', n: this.#nextPing++ }, now);
      }
    }
    for (const peer of [...this.#peers.values()]) {
      if (peer.linkless !== undefined && now >= peer.linkless + this.#linklessTimeout()) {
        this.#lost(peer, undefined, 'lost', 'the connection was lost', now);
      }
      if (!peer.connected) {
        while (peer.outbox.length > 0 && now >= peer.outbox[0]!.at + this.#outboxTimeout) {
          this.#failMessage(peer, peer.outbox.shift()!, `${peer.nick} did not come back in time`);
        }
      }
      if (peer.dialAt !== undefined && now >= peer.dialAt) {
        peer.dialAt = undefined;
        this.#dial(peer, now);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Chat

  /**
   * Says `text` in `room`, to every peer in it: those connected now, and those being dialled
   * again (their copy waits, up to `outboxTimeout`).
   *
   * @returns the message's id.
   * @throws `InvalidArgumentError` for a bad text or a room this peer is not in.
   */
  say(room: string, text: string, now: number): string {
    const name = this.#ownRoom(room);
    checkText(text, this.#maxTextBytes);
    const n = this.#nextN++;
    const bytes = encodePeerMessage({ type: 'say', n, ts: now, room: name, text });
    const id = this.#messageId(this.#epoch, n);
    const key = nameKey(name);
    for (const peer of this.#peers.values()) {
      if (this.#reachable(peer) && peer.rooms.has(key)) this.#post(peer, { n, id, bytes, at: now });
    }
    return id;
  }

  /**
   * Sends `text` to one peer, by nickname or key.
   *
   * @returns the message's id.
   * @throws `InvalidArgumentError` for a bad text or an unknown peer; `InvalidStateError` for a
   * peer that is away.
   */
  sendPrivate(to: string, text: string, now: number): string {
    const peer = this.#resolve(to);
    if (!this.#reachable(peer)) throw new InvalidStateError(`${peer.nick} is away`);
    checkText(text, this.#maxTextBytes);
    const n = this.#nextN++;
    const bytes = encodePeerMessage({ type: 'private', n, ts: now, text });
    const id = this.#messageId(this.#epoch, n);
    this.#post(peer, { n, id, bytes, at: now });
    return id;
  }

  /**
   * Changes nickname, and tells every peer.
   *
   * @throws `InvalidNameError` for a bad name; `InvalidArgumentError` for a name a connected peer
   * has.
   */
  setNick(nick: string, now: number): void {
    const name = checkNickname(nick);
    if (name === this.#nick) return;
    const key = nameKey(name);
    for (const peer of this.#peers.values()) {
      if (peer.connected && nameKey(peer.nick) === key) {
        throw new InvalidArgumentError(`the nickname ${name} is taken by a peer`);
      }
    }
    this.#rename(name, now);
  }

  /** Joins a room and tells every peer. */
  join(room: string, now: number): string {
    const name = checkRoomName(room);
    const key = nameKey(name);
    if (this.#rooms.has(key)) return this.#rooms.get(key)!;
    this.#rooms.set(key, name);
    this.#broadcast({ type: 'join', room: name }, now);
    return name;
  }

  /**
   * Leaves a room and tells every peer.
   *
   * @throws `InvalidArgumentError` for the default room or a room this peer is not in.
   */
  leave(room: string, now: number): void {
    const name = this.#ownRoom(room);
    if (nameKey(name) === nameKey(DEFAULT_ROOM)) {
      throw new InvalidArgumentError(`every peer stays in ${DEFAULT_ROOM}`);
    }
    this.#rooms.delete(nameKey(name));
    this.#broadcast({ type: 'leave', room: name }, now);
  }

  /** The peers (connected or being dialled again) in `room`, this one aside. */
  members(room: string): PeerTag[] {
    const key = nameKey(checkRoomName(room));
    return [...this.#peers.values()]
      .filter((peer) => peer.connected && peer.rooms.has(key))
      .map((peer) => ({ key: peer.hex, nick: peer.nick }));
  }

  /**
   * Hangs up on one peer (by nickname or key): it is told, and neither side dials the other again
   * by itself. Without `peer`, leaves the mesh: every peer is told and none is dialled until
   * {@link PeerMesh.connect}. Incoming links are still accepted.
   *
   * @throws `InvalidArgumentError` for an unknown peer.
   */
  disconnect(now: number, peer?: string): void {
    if (peer !== undefined) {
      const target = this.#resolve(peer);
      target.hungUp = true;
      target.dialAt = undefined;
      for (const link of this.#linksOf(target)) this.#bye(link, 'hang-up', now);
      // A dial to it still in its handshake would bring it back.
      if (target.dialing !== undefined) this.#cancelDial(target.dialing);
      return;
    }
    this.#left = true;
    for (const target of this.#peers.values()) target.dialAt = undefined;
    for (const link of [...this.#links.values()]) {
      if (link.state === 'handshaking') this.#closeLink(link, now, 'left', 'leaving', false);
      else this.#bye(link, 'leaving', now);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Files

  /**
   * Offers a file to a peer (by nickname or key). A peer not connected gets nothing:
   * `transfer-offer-failed` with `no-such-user` follows.
   */
  offerFile(to: string, offer: TransferOffer, now: number): void {
    const peer = this.#resolve(to);
    this.#noteTransfer(offer.transfer, peer, true);
    const link = peer.connected ? peer.link : undefined;
    if (link === undefined) {
      this.#events.push({
        type: 'transfer-offer-failed',
        key: peer.hex,
        nick: peer.nick,
        transfer: offer.transfer,
        code: 'no-such-user',
        message: `${peer.nick} is not connected`,
      });
      return;
    }
    this.#send(link, { type: 'transfer-offer', ...toOfferFields(offer) }, now);
  }

  /** Sends a transfer's message to the peer on its other end; dropped if it is not connected. */
  sendTransfer(message: Exclude<TransferMessage, TransferOffer>, now: number): void {
    const hex = this.#transfers.get(message.transfer);
    const peer = hex === undefined ? undefined : this.#peers.get(hex);
    const link = peer?.connected === true ? peer.link : undefined;
    if (link === undefined) return;
    if (message.type === 'data') {
      link.channel.send(encodeTransferData(message));
      link.lastSent = now;
      return;
    }
    this.#send(link, toSessionTransfer(message), now);
  }

  /** Bytes of file data that may go to a peer now without crowding out its chat. */
  transferCapacity(to: string): number {
    const peer = this.#peers.get(to) ?? this.#byNick(to);
    const link = peer?.connected === true ? peer.link : undefined;
    if (link === undefined) return 0;
    return Math.max(0, TRANSFER_HIGH_WATER - link.channel.bufferedOutgoingBytes);
  }

  /** Forgets a transfer that ended. */
  forgetTransfer(transfer: string): void {
    this.#transfers.delete(transfer);
  }

  // ---------------------------------------------------------------------------------------------

  #openLink(
    outgoing: boolean,
    host: string,
    port: number | undefined,
    expectedKey: Uint8Array | undefined,
    now: number,
  ): Link {
    const link: Link = {
      id: this.#nextLink++,
      outgoing,
      channel: new StreamChannel({
        initiator: outgoing,
        now,
        staticKeyPair: this.#keyPair,
        capabilities: [PEER_CAPABILITY],
        crypto: this.#crypto,
        messageViews: true,
        ...(this.#handshakeTimeout === undefined
          ? {}
          : { handshakeTimeout: this.#handshakeTimeout }),
      }),
      host,
      port,
      expectedKey,
      state: 'handshaking',
      peer: undefined,
      lastSent: now,
      lastReceived: now,
      lastPing: -Infinity,
      nextPing: 0,
      ackOwed: false,
      socketGone: false,
      heard: outgoing,
      toldPort: undefined,
      bye: undefined,
      byeReceived: undefined,
    };
    this.#links.set(link.id, link);
    if (outgoing) this.#actions.push({ type: 'dial', link: link.id, host, port: port! });
    return link;
  }

  #dial(peer: Peer, now: number): void {
    if (this.#left || peer.hungUp || peer.connected || peer.dialing !== undefined) return;
    if (peer.host === undefined || peer.port === undefined) return;
    if (this.#links.size >= this.#maxLinks) {
      this.#scheduleRedial(peer, now);
      return;
    }
    peer.dialing = this.#openLink(true, peer.host, peer.port, peer.key, now);
  }

  /** How long a peer may stay without a link while another finishes its handshake. */
  #linklessTimeout(): number {
    return this.#handshakeTimeout ?? 10_000;
  }

  #keepalive(link: Link): number {
    const quietSince = Math.min(link.lastSent, link.lastReceived);
    return Math.max(quietSince, link.lastPing) + this.#keepaliveInterval;
  }

  #step(link: Link, now: number, step: () => void): void {
    try {
      step();
      this.#drainChannel(link, now);
    } catch (error) {
      if (!LanchatError.isInstance(error)) throw error;
      this.#closeLink(link, now, 'protocol-error', error.message, false);
    }
  }

  #drainChannel(link: Link, now: number): void {
    const channel = link.channel;
    for (let event = channel.nextEvent(); event !== undefined; event = channel.nextEvent()) {
      if (link.state === 'closed') return;
      switch (event.type) {
        case 'handshake-completed':
          if (!event.remoteCapabilities.includes(PEER_CAPABILITY)) {
            throw new MalformedSessionMessageError(
              `the other side is not a lanchat peer (no "${PEER_CAPABILITY}" capability): a lanchat server is joined with "lanchat connect"`,
            );
          }
          this.#identified(link, event.remoteStaticKey!, now);
          break;
        case 'message-received':
          this.#handleMessage(link, decodePeerMessage(event.payload), now);
          break;
        case 'channel-closed': {
          const reason = link.byeReceived;
          this.#closeLink(
            link,
            now,
            reason === 'leaving' ? 'left' : reason === 'hang-up' ? 'hung-up' : 'lost',
            reason === 'leaving'
              ? 'it left'
              : reason === 'hang-up'
                ? 'it hung up'
                : 'the connection ended',
            true,
          );
          return;
        }
      }
    }
  }

  #identified(link: Link, key: Uint8Array, now: number): void {
    const hex = toHex(key);
    if (constantTimeEqual(key, this.#keyPair.publicKey)) {
      if (link.outgoing) this.#selfAddresses.add(`${link.host}|${String(link.port)}`);
      this.#closeLink(link, now, 'lost', 'that address is this peer itself', false);
      return;
    }
    if (link.expectedKey !== undefined && !constantTimeEqual(key, link.expectedKey)) {
      this.#events.push({
        type: 'peer-key-rejected',
        host: link.host,
        port: link.port,
        expected: toHex(link.expectedKey),
        actual: hex,
      });
      const expected = this.#peers.get(toHex(link.expectedKey));
      if (expected?.dialing === link) {
        expected.dialing = undefined;
        // Another peer answers there now: the address is no longer this peer's.
        expected.host = undefined;
        expected.port = undefined;
      }
      this.#closeLink(link, now, 'lost', 'the peer there proved another key', false);
      return;
    }
    let peer = this.#peers.get(hex);
    if (peer === undefined) {
      if (!this.#makeRoom()) {
        this.#closeLink(link, now, 'lost', `${this.#maxPeers} peers are known already`, false);
        return;
      }
      peer = this.#newPeer(key, hex, `peer-${hex.slice(0, 8)}`);
    }
    if (link.outgoing && peer.dialing === link) peer.dialing = undefined;
    link.peer = peer;
    link.state = 'identified';
    this.#send(link, this.#hello(), now);
    link.toldPort = this.#listenPort;
    const current = peer.link;
    peer.linkless = undefined;
    if (current !== undefined && current !== link && current.state !== 'closed') {
      if (this.#prefer(current, link)) {
        this.#bye(link, 'duplicate', now);
        return;
      }
      peer.link = link;
      this.#bye(current, 'duplicate', now);
    }
    peer.link = link;
    // Whatever the peer has not acknowledged goes again, in order, on the new link.
    for (const entry of peer.outbox) {
      link.channel.send(entry.bytes);
    }
  }

  /** Of two links to one peer, whether to keep `kept` rather than `other`: the same on both sides. */
  #prefer(kept: Link, other: Link): boolean {
    const initiator = (link: Link): Uint8Array =>
      link.outgoing ? this.#keyPair.publicKey : link.peer!.key;
    const order = compareBytes(initiator(kept), initiator(other));
    if (order !== 0) return order < 0;
    // Both from the same side: keep the first.
    return kept.id < other.id;
  }

  #hello(): PeerHello {
    return {
      type: 'hello',
      nick: this.#nick,
      epoch: this.#epoch,
      ...(this.#listenPort === undefined ? {} : { port: this.#listenPort }),
      rooms: [...this.#rooms.values()],
    };
  }

  #handleMessage(link: Link, message: PeerMessage, now: number): void {
    const peer = link.peer;
    if (peer === undefined)
      throw new MalformedSessionMessageError('a message came before the handshake');
    if (link.state === 'identified' && message.type !== 'hello' && message.type !== 'bye') {
      throw new MalformedSessionMessageError(`the peer sent "${message.type}" before "hello"`);
    }
    if (message.type === 'data') {
      this.#noteTransfer(message.transfer, peer);
      this.#events.push({ type: 'transfer-message', key: peer.hex, nick: peer.nick, message });
      return;
    }
    switch (message.type) {
      case 'hello':
        if (link.state !== 'identified') {
          throw new MalformedSessionMessageError('the peer said "hello" twice');
        }
        this.#hello_(link, peer, message, now);
        return;
      case 'bye':
        link.byeReceived = message.reason;
        if (message.reason === 'duplicate') return;
        if (message.reason === 'leaving') peer.left = true;
        else peer.hungUp = true;
        peer.dialAt = undefined;
        // A dial to it, or another link, begun before its goodbye came: it goes too.
        for (const other of this.#linksOf(peer)) {
          if (other !== link) this.#closeLink(other, now, 'closed', 'it said goodbye', true);
        }
        if (peer.dialing !== undefined) this.#cancelDial(peer.dialing);
        return;
      case 'ping':
        this.#send(link, { type: 'pong', n: message.n }, now);
        return;
      case 'pong':
        return;
      case 'ack':
        while (peer.outbox.length > 0 && peer.outbox[0]!.n <= message.n) peer.outbox.shift();
        return;
      case 'say':
      case 'private': {
        link.ackOwed = true;
        if (message.n <= peer.lastN) return;
        peer.lastN = message.n;
        const id = this.#messageId(peer.epoch!, message.n);
        checkText(message.text, MAX_PEER_TEXT_BYTES);
        if (message.type === 'say') {
          const room = this.#rooms.get(nameKey(message.room));
          if (room === undefined) return;
          this.#events.push({
            type: 'message-received',
            key: peer.hex,
            nick: peer.nick,
            id,
            room,
            text: message.text,
            ts: message.ts,
          });
        } else {
          this.#events.push({
            type: 'private-message-received',
            key: peer.hex,
            nick: peer.nick,
            id,
            text: message.text,
            ts: message.ts,
          });
        }
        return;
      }
      case 'nick': {
        const nick = checkNickname(message.nick);
        const old = peer.nick;
        if (nick === old) return;
        peer.nick = nick;
        this.#events.push({ type: 'nick-changed', key: peer.hex, nick, old, self: false });
        this.#checkConflict(peer, now);
        return;
      }
      case 'join': {
        const room = checkRoomName(message.room);
        if (peer.rooms.has(nameKey(room))) return;
        peer.rooms.set(nameKey(room), room);
        this.#events.push({ type: 'user-joined', key: peer.hex, nick: peer.nick, room });
        return;
      }
      case 'leave': {
        const room = checkRoomName(message.room);
        if (!peer.rooms.delete(nameKey(room))) return;
        this.#events.push({ type: 'user-left', key: peer.hex, nick: peer.nick, room });
        return;
      }
      case 'peers':
        this.#learn(peer, message.peers, now);
        return;
      case 'listening': {
        checkLimit('port', message.port, 0, 1, 65_535);
        if (peer.host === link.host && peer.port === message.port) return;
        peer.host = link.host;
        peer.port = message.port;
        this.#events.push({
          type: 'peer-listening',
          key: peer.hex,
          nick: peer.nick,
          host: link.host,
          port: message.port,
        });
        this.#tellOthers(peer, now);
        return;
      }
      case 'transfer-offer':
        this.#noteTransfer(message.transfer, peer, true);
        this.#events.push({
          type: 'transfer-offered',
          key: peer.hex,
          nick: peer.nick,
          offer: fromOfferFields(message),
        });
        return;
      default:
        this.#noteTransfer(message.transfer, peer);
        this.#events.push({
          type: 'transfer-message',
          key: peer.hex,
          nick: peer.nick,
          message: fromSessionTransfer(message),
        });
    }
  }

  #hello_(link: Link, peer: Peer, hello: PeerHello, now: number): void {
    const nick = checkNickname(hello.nick);
    const rooms = hello.rooms.map((room) => checkRoomName(room));
    if (hello.port !== undefined) checkLimit('port', hello.port, 0, 1, 65_535);
    link.state = 'up';
    if (hello.epoch !== peer.epoch) {
      peer.epoch = hello.epoch;
      peer.lastN = 0;
    }
    peer.rooms.clear();
    for (const room of rooms) peer.rooms.set(nameKey(room), room);
    if (hello.port !== undefined) {
      peer.host = link.host;
      peer.port = hello.port;
    }
    const old = peer.nick;
    peer.nick = nick;
    if (link !== peer.link || peer.connected) {
      if (old !== nick && peer.connected) {
        this.#events.push({ type: 'nick-changed', key: peer.hex, nick, old, self: false });
      }
      return;
    }
    peer.connected = true;
    peer.attempt = 0;
    peer.dialAt = undefined;
    peer.downSince = undefined;
    peer.left = false;
    this.#events.push({
      type: 'peer-connected',
      key: peer.hex,
      nick,
      host: link.host,
      port: peer.port,
      incoming: !link.outgoing,
      rooms,
    });
    // Gossip: the new peer hears of every other, and every other of the new one.
    const others: PeerAddress[] = [];
    for (const other of this.#peers.values()) {
      if (other === peer || !other.connected) continue;
      const address = this.#address(other);
      if (address !== undefined) others.push(address);
    }
    if (others.length > 0) this.#send(link, { type: 'peers', peers: others }, now);
    this.#tellOthers(peer, now);
    this.#checkConflict(peer, now);
  }

  /** Gossip: every other connected peer hears where `peer` can be dialled, if it can. */
  #tellOthers(peer: Peer, now: number): void {
    const address = this.#address(peer);
    if (address === undefined) return;
    for (const other of this.#peers.values()) {
      if (other !== peer && other.connected && other.link !== undefined) {
        this.#send(other.link, { type: 'peers', peers: [address] }, now);
      }
    }
  }

  #address(peer: Peer): PeerAddress | undefined {
    if (peer.host === undefined || peer.port === undefined) return undefined;
    return { key: peer.hex, nick: peer.nick, host: peer.host, port: peer.port };
  }

  /** Takes what a peer knows of others: those missing are dialled. */
  #learn(from: Peer, addresses: readonly PeerAddress[], now: number): void {
    for (const address of addresses.slice(0, this.#maxPeers)) {
      if (address.key === this.#hex) continue;
      if (address.port < 1 || address.port > 65_535 || address.host.length > 255) continue;
      let nick: string;
      try {
        nick = checkNickname(address.nick);
      } catch {
        continue;
      }
      if (this.#selfAddresses.has(`${address.host}|${String(address.port)}`)) continue;
      let peer = this.#peers.get(address.key);
      const known = peer !== undefined;
      if (peer === undefined) {
        if (!this.#makeRoom()) continue;
        peer = this.#newPeer(fromHex(address.key), address.key, nick);
      }
      if (peer.connected || peer.dialing !== undefined) continue;
      peer.host = address.host;
      peer.port = address.port;
      if (!known) {
        this.#events.push({
          type: 'peer-discovered',
          key: peer.hex,
          nick,
          host: address.host,
          port: address.port,
          via: from.nick,
        });
      }
      // A peer that left comes back by dialling: a list naming it may be older than its goodbye.
      if (peer.hungUp || peer.left || this.#left) continue;
      peer.attempt = 0;
      const at = now + this.#headStart(peer);
      if (peer.dialAt === undefined || peer.dialAt > at) peer.dialAt = at;
    }
  }

  /** The wait before dialling `peer`: none for the peer with the lower key. */
  #headStart(peer: Peer): number {
    return compareBytes(this.#keyPair.publicKey, peer.key) < 0 ? 0 : this.#dialHeadStart;
  }

  #checkConflict(peer: Peer, now: number): void {
    if (!peer.connected || nameKey(peer.nick) !== nameKey(this.#nick)) return;
    const kept = compareBytes(this.#keyPair.publicKey, peer.key) < 0;
    this.#events.push({
      type: 'nick-conflict',
      key: peer.hex,
      nick: this.#nick,
      kept,
    });
    if (!kept) this.#rename(this.#freeNick(this.#nick), now);
  }

  /** A nickname no connected peer has: `nick-` and the start of this peer's key. */
  #freeNick(nick: string): string {
    const taken = new Set<string>();
    for (const peer of this.#peers.values()) if (peer.connected) taken.add(nameKey(peer.nick));
    for (let digits = 4; ; digits += 2) {
      const suffix = `-${this.#hex.slice(0, digits)}`;
      const candidate = nick.slice(0, MAX_NAME_LENGTH - suffix.length) + suffix;
      if (!taken.has(nameKey(candidate)) || digits >= 64) return candidate;
    }
  }

  #rename(nick: string, now: number): void {
    const old = this.#nick;
    this.#nick = nick;
    this.#events.push({ type: 'nick-changed', key: this.#hex, nick, old, self: true });
    this.#broadcast({ type: 'nick', nick }, now);
  }

  #broadcast(message: PeerControlMessage, now: number): void {
    for (const link of this.#links.values()) {
      if ((link.state === 'up' || link.state === 'identified') && link.peer?.link === link) {
        this.#send(link, message, now);
      }
    }
  }

  #send(link: Link, message: PeerControlMessage, now?: number): void {
    if (link.state === 'closed' || link.channel.error !== undefined) return;
    link.channel.send(encodePeerMessage(message));
    if (now !== undefined) link.lastSent = now;
  }

  #bye(link: Link, reason: PeerByeReason, now: number): void {
    if (link.state === 'closed') return;
    if (link.bye === undefined) {
      link.bye = reason;
      this.#send(link, { type: 'bye', reason }, now);
    }
    this.#closeLink(
      link,
      now,
      'closed',
      reason === 'leaving' ? 'this peer left the mesh' : 'this peer hung up',
      true,
    );
  }

  /** Closes a link; a peer that loses its last link is reported and maybe dialled again. */
  #closeLink(
    link: Link,
    now: number,
    reason: PeerDisconnectReason,
    message: string,
    graceful: boolean,
  ): void {
    if (link.state === 'closed') return;
    const wasIdentified = link.state !== 'handshaking';
    link.state = 'closed';
    if (graceful && link.channel.error === undefined && link.channel.state === 'open') {
      link.channel.close();
    }
    if (!link.socketGone) {
      this.#actions.push({
        type: 'close',
        link: link.id,
        graceful: graceful && link.channel.error === undefined,
      });
    }
    const peer = link.peer;
    if (!wasIdentified || peer === undefined) {
      if (link.outgoing) {
        for (const candidate of this.#peers.values()) {
          if (candidate.dialing === link) {
            candidate.dialing = undefined;
            this.#scheduleRedial(candidate, now);
          }
        }
      }
      this.#events.push({
        type: 'link-failed',
        link: link.id,
        incoming: !link.outgoing,
        host: link.host,
        port: link.port,
        message,
      });
      return;
    }
    if (peer.dialing === link) peer.dialing = undefined;
    if (peer.link !== link) return;
    peer.link = undefined;
    // Another link to the same peer, if one is there, carries on.
    for (const other of this.#linksOf(peer)) {
      if (other.state === 'up' || other.state === 'identified') {
        peer.link = other;
        for (const entry of peer.outbox) other.channel.send(entry.bytes);
        return;
      }
    }
    if (!peer.connected) {
      this.#scheduleRedial(peer, now);
      return;
    }
    if (link.byeReceived === 'duplicate') {
      // The other side keeps another link, which has not finished its handshake here yet.
      peer.linkless = now;
      return;
    }
    this.#lost(peer, link, reason, message, now);
  }

  /** A connected peer has no link left: it is reported, and dialled again unless it left. */
  #lost(
    peer: Peer,
    link: Link | undefined,
    reason: PeerDisconnectReason,
    message: string,
    now: number,
  ): void {
    peer.linkless = undefined;
    peer.connected = false;
    peer.downSince = now;
    const received = link?.byeReceived;
    const why: PeerDisconnectReason =
      link?.bye === 'leaving' || link?.bye === 'hang-up'
        ? 'closed'
        : received === 'leaving'
          ? 'left'
          : received === 'hang-up'
            ? 'hung-up'
            : reason;
    for (const [transfer, hex] of this.#transfers) {
      if (hex === peer.hex) {
        this.#events.push({
          type: 'transfer-interrupted',
          key: peer.hex,
          nick: peer.nick,
          transfer,
        });
      }
    }
    const redial = this.#scheduleRedial(peer, now, false);
    this.#events.push({
      type: 'peer-disconnected',
      key: peer.hex,
      nick: peer.nick,
      reason: why,
      message,
      redial,
    });
    if (!redial) this.#failOutbox(peer, `${peer.nick} is gone (${why})`);
  }

  /** Schedules the next dial of a lost peer; returns whether one was. */
  #scheduleRedial(peer: Peer, now: number, report = true): boolean {
    if (
      this.#left ||
      peer.hungUp ||
      peer.left ||
      peer.connected ||
      peer.host === undefined ||
      peer.port === undefined
    ) {
      peer.dialAt = undefined;
      return false;
    }
    peer.downSince ??= now;
    if (now - peer.downSince >= this.#redialGiveUp) {
      peer.dialAt = undefined;
      this.#events.push({ type: 'peer-given-up', key: peer.hex, nick: peer.nick });
      this.#failOutbox(peer, `${peer.nick} could not be reached`);
      return false;
    }
    peer.attempt++;
    const delay =
      Math.min(
        this.#redialMaxDelay,
        this.#redialInitialDelay * 2 ** Math.min(peer.attempt - 1, 30),
      ) + (peer.attempt === 1 ? this.#headStart(peer) : 0);
    peer.dialAt = now + delay;
    if (report) {
      this.#events.push({
        type: 'redial-scheduled',
        key: peer.hex,
        nick: peer.nick,
        attempt: peer.attempt,
        delay,
      });
    }
    return true;
  }

  #failOutbox(peer: Peer, message: string): void {
    for (const entry of peer.outbox.splice(0)) this.#failMessage(peer, entry, message);
  }

  #failMessage(peer: Peer, entry: OutboxEntry, message: string): void {
    this.#events.push({
      type: 'message-failed',
      key: peer.hex,
      nick: peer.nick,
      id: entry.id,
      message,
    });
  }

  #post(peer: Peer, entry: OutboxEntry): void {
    if (peer.outbox.length >= this.#maxOutbox) {
      this.#failMessage(peer, peer.outbox.shift()!, `too many messages wait for ${peer.nick}`);
    }
    peer.outbox.push(entry);
    const link = peer.link;
    if (link !== undefined && link.state !== 'closed') {
      link.channel.send(entry.bytes);
      link.lastSent = entry.at;
    }
  }

  /** Whether messages may go to `peer`: connected, or lost and being dialled again. */
  #reachable(peer: Peer): boolean {
    return (
      peer.connected ||
      (peer.downSince !== undefined && (peer.dialAt !== undefined || peer.dialing !== undefined))
    );
  }

  #status(peer: Peer): PeerStatus {
    if (peer.connected) return 'connected';
    if (peer.dialing !== undefined || peer.dialAt !== undefined) return 'connecting';
    return 'away';
  }

  /** Drops a dial still in its handshake, quietly: nothing is reported and nothing redialled. */
  #cancelDial(link: Link): void {
    if (link.state === 'closed') return;
    link.state = 'closed';
    if (!link.socketGone) this.#actions.push({ type: 'close', link: link.id, graceful: false });
    for (const peer of this.#peers.values()) {
      if (peer.dialing === link) peer.dialing = undefined;
    }
  }

  #linksOf(peer: Peer): Link[] {
    return [...this.#links.values()].filter(
      (link) => link.peer === peer && link.state !== 'closed',
    );
  }

  #newPeer(key: Uint8Array, hex: string, nick: string): Peer {
    const peer: Peer = {
      key,
      hex,
      nick,
      host: undefined,
      port: undefined,
      link: undefined,
      linkless: undefined,
      dialing: undefined,
      connected: false,
      hungUp: false,
      left: false,
      attempt: 0,
      dialAt: undefined,
      downSince: undefined,
      epoch: undefined,
      lastN: 0,
      outbox: [],
      rooms: new Map(),
    };
    this.#peers.set(hex, peer);
    return peer;
  }

  /** Makes room for one more peer, forgetting one that is away; false if none is. */
  #makeRoom(): boolean {
    if (this.#peers.size < this.#maxPeers) return true;
    for (const [hex, peer] of this.#peers) {
      if (this.#status(peer) === 'away' && this.#linksOf(peer).length === 0) {
        this.#failOutbox(peer, `${peer.nick} was forgotten`);
        this.#peers.delete(hex);
        return true;
      }
    }
    return false;
  }

  #resolve(peer: string): Peer {
    const found = this.#peers.get(peer) ?? this.#byNick(peer);
    if (found === undefined) throw new InvalidArgumentError(`no peer is called ${peer}`);
    return found;
  }

  #byNick(nick: string): Peer | undefined {
    const key = nameKey(nick);
    let away: Peer | undefined;
    for (const peer of this.#peers.values()) {
      if (nameKey(peer.nick) !== key) continue;
      if (peer.connected) return peer;
      away ??= peer;
    }
    return away;
  }

  #ownRoom(room: string): string {
    const name = this.#rooms.get(nameKey(checkRoomName(room)));
    if (name === undefined) throw new InvalidArgumentError(`not in room ${room}`);
    return name;
  }

  /**
   * Remembers which peer a transfer is with (`replace`: even if it was with another), forgetting
   * the oldest past {@link MAX_REMEMBERED_TRANSFERS}.
   */
  #noteTransfer(transfer: string, peer: Peer, replace = false): void {
    if (!replace && this.#transfers.has(transfer)) return;
    this.#transfers.delete(transfer);
    this.#transfers.set(transfer, peer.hex);
    if (this.#transfers.size > MAX_REMEMBERED_TRANSFERS) {
      this.#transfers.delete(this.#transfers.keys().next().value!);
    }
  }

  #messageId(epoch: string, n: number): string {
    return `${epoch}-${n}`;
  }
}
