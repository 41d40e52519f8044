/**
 * LAN discovery, sans-I/O (docs/protocol.md, section 10). A server's {@link DiscoveryAnnouncer}
 * sends a beacon now and then and answers queries, at a bounded rate; a client's
 * {@link DiscoveryBrowser} asks (a few times, as datagrams get lost) and collects what servers
 * answer or announce. Adapters own the sockets: they feed received datagrams with their source
 * address, send what `pollTransmit()` gives (to everyone: the multicast group and the broadcast
 * address; or to one address), and run the timers.
 *
 * @module
 */

import type { CryptoProvider } from '../crypto/crypto-provider.js';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import { InvalidArgumentError, RemoteProtocolError } from '../errors/lanchat-error.js';
import { checkLimit } from '../frame/limits.js';
import { keyFingerprint } from '../session/fingerprint.js';
import { FifoQueue } from '../util/fifo-queue.js';
import {
  DISCOVERY_ID_LENGTH,
  type ServerAnnouncement,
  type ServerPorts,
  checkServerName,
  decodeDiscoveryMessage,
  encodeDiscoveryQuery,
  encodeServerAnnouncement,
} from './discovery-messages.js';
import { copyBytes } from '../util/bytes.js';
import { toHex } from '../transfer/transfer-messages.js';

/** Default time between a server's beacons, in ms: 10 s (each one 10% early or late at random). */
export const DEFAULT_BEACON_INTERVAL = 10_000;
/** Default most answers a server sends per second, to all queriers together: 20. */
export const DEFAULT_MAX_ANSWERS_PER_SECOND = 20;
/** When a browser sends its query, in ms after it starts: three tries, in case one is lost. */
export const DISCOVERY_QUERY_SCHEDULE: readonly number[] = [0, 250, 1000];
/** Default most servers a browser keeps: 256. */
export const DEFAULT_MAX_DISCOVERED_SERVERS = 256;
/** Most addresses a browser keeps for one server. */
const MAX_ADDRESSES = 8;

/** Where a datagram came from, or goes to: as the adapter reports it. */
export interface DiscoveryAddress {
  readonly address: string;
  readonly port: number;
}

/** A datagram to send: to everyone (the multicast group and broadcast), or to one address. */
export interface DiscoveryOutput {
  readonly datagram: Uint8Array;
  readonly to: 'everyone' | DiscoveryAddress;
}

/** What a discovery machine dropped or did, for statistics. */
export interface DiscoveryStatistics {
  /** Queries answered (server), or announcements taken (browser). */
  accepted: number;
  /** Datagrams that were not well-formed discovery messages. */
  malformed: number;
  /** Queries not answered because the answer rate was used up (server). */
  rateLimited: number;
  /** Announcements dropped: an answer to another query, or a server past the bound (browser). */
  ignored: number;
}

function emptyStatistics(): DiscoveryStatistics {
  return { accepted: 0, malformed: 0, rateLimited: 0, ignored: 0 };
}

/** Decodes a datagram; a bad one is counted and gives `undefined`. */
function decodeCounted(datagram: Uint8Array, statistics: DiscoveryStatistics) {
  try {
    return decodeDiscoveryMessage(datagram);
  } catch (error) {
    if (!RemoteProtocolError.isInstance(error)) throw error;
    statistics.malformed++;
    return undefined;
  }
}

/** Options of a {@link DiscoveryAnnouncer}. */
export interface DiscoveryAnnouncerOptions {
  /** The server's name (see `checkServerName`). */
  readonly name: string;
  /** The server's static public key. */
  readonly publicKey: Uint8Array;
  /** The ports it listens on, by transport; at least one. */
  readonly ports: ServerPorts;
  /** Announce a peer of a serverless mesh, not a server (`ServerAnnouncement.peer`). */
  readonly peer?: boolean;
  readonly now: number;
  /** Default {@link DEFAULT_BEACON_INTERVAL}; from 1 s to 1 h. */
  readonly beaconInterval?: number;
  /** Default {@link DEFAULT_MAX_ANSWERS_PER_SECOND}; from 1 to 10,000. */
  readonly maxAnswersPerSecond?: number;
  /** Randomness for the instance id and the beacons' jitter. Default node:crypto. */
  readonly crypto?: CryptoProvider;
}

/**
 * A server's side of discovery: a beacon to everyone at start and every `beaconInterval` or so,
 * and an answer to each query, sent to the querier alone, as long as the answer rate allows (a
 * token bucket: a burst of one second's worth, then the rate).
 */
export class DiscoveryAnnouncer {
  /** Random per announcer (16 hex digits): the same server heard on two networks is one. */
  readonly instance: string;
  readonly statistics: DiscoveryStatistics = emptyStatistics();
  #announcement: Omit<ServerAnnouncement, 'query'>;
  readonly #beaconInterval: number;
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #crypto: CryptoProvider;
  readonly #outbox = new FifoQueue<DiscoveryOutput>();
  #nextBeacon: number;
  #tokens: number;
  #tokensAt: number;

  /** @throws `InvalidArgumentError` for a bad name, key or port, or a limit out of range. */
  constructor(options: DiscoveryAnnouncerOptions) {
    this.#crypto = options.crypto ?? nodeCryptoProvider;
    this.#beaconInterval = checkLimit(
      'beaconInterval',
      options.beaconInterval,
      DEFAULT_BEACON_INTERVAL,
      1000,
      3_600_000,
    );
    const rate = checkLimit(
      'maxAnswersPerSecond',
      options.maxAnswersPerSecond,
      DEFAULT_MAX_ANSWERS_PER_SECOND,
      1,
      10_000,
    );
    checkServerName(options.name);
    this.instance = toHex(this.#crypto.randomBytes(DISCOVERY_ID_LENGTH));
    this.#announcement = {
      instance: this.instance,
      publicKey: copyBytes(options.publicKey),
      ports: { ...options.ports },
      name: options.name,
      ...(options.peer === true ? { peer: true } : {}),
    };
    // Checks the key and the ports now rather than at the first beacon.
    encodeServerAnnouncement({ ...this.#announcement, query: undefined });
    this.#ratePerMs = rate / 1000;
    this.#burst = rate;
    this.#tokens = rate;
    this.#tokensAt = options.now;
    this.#nextBeacon = options.now;
  }

  /** The name announced. */
  get name(): string {
    return this.#announcement.name;
  }

  /**
   * Announces another name from now on (a peer changed its nickname): answers carry it, and a
   * beacon with it goes out at once.
   *
   * @throws `InvalidArgumentError` for a bad name.
   */
  rename(name: string, now: number): void {
    checkServerName(name);
    if (name === this.#announcement.name) return;
    this.#announcement = { ...this.#announcement, name };
    this.#nextBeacon = Math.min(this.#nextBeacon, now);
  }

  /** Takes a datagram from `from`: a query gets an answer if the rate allows. */
  receive(datagram: Uint8Array, from: DiscoveryAddress, now: number): void {
    const message = decodeCounted(datagram, this.statistics);
    if (message?.type !== 'query') return;
    this.#refill(now);
    if (this.#tokens < 1) {
      this.statistics.rateLimited++;
      return;
    }
    this.#tokens -= 1;
    this.statistics.accepted++;
    this.#outbox.push({
      datagram: encodeServerAnnouncement({ ...this.#announcement, query: message.query }),
      to: { address: from.address, port: from.port },
    });
  }

  /** The next datagram to send, or `undefined`. */
  pollTransmit(now: number): DiscoveryOutput | undefined {
    this.handleTimeout(now);
    return this.#outbox.shift();
  }

  /** When the next beacon is due. */
  pollTimeout(): number {
    return this.#nextBeacon;
  }

  /** Queues the beacon if it is due. */
  handleTimeout(now: number): void {
    if (now < this.#nextBeacon) return;
    this.#outbox.push({
      datagram: encodeServerAnnouncement({ ...this.#announcement, query: undefined }),
      to: 'everyone',
    });
    // 90% to 110% of the interval, so that servers started together do not beacon together.
    const jitter = (this.#crypto.randomBytes(1)[0]! / 255) * 0.2 - 0.1;
    this.#nextBeacon = now + Math.round(this.#beaconInterval * (1 + jitter));
  }

  #refill(now: number): void {
    const elapsed = Math.max(0, now - this.#tokensAt);
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#ratePerMs);
    this.#tokensAt = now;
  }
}

/** A server a {@link DiscoveryBrowser} heard of. */
export interface DiscoveredServer {
  readonly instance: string;
  readonly name: string;
  readonly publicKey: Uint8Array;
  /** The key's fingerprint (`SHA256:...`), as the server shows it. */
  readonly fingerprint: string;
  readonly ports: ServerPorts;
  /** The addresses it was heard from, first heard first. */
  readonly addresses: readonly string[];
  /** When it was last heard from. */
  readonly lastHeard: number;
  /** A peer of a serverless mesh (`lanchat peer`), not a server: its TCP port takes peers. */
  readonly peer: boolean;
}

/** A browser found a server it had not heard of. */
export interface ServerFoundEvent {
  readonly type: 'server-found';
  readonly server: DiscoveredServer;
}

/** Options of a {@link DiscoveryBrowser}. */
export interface DiscoveryBrowserOptions {
  readonly now: number;
  /** Default {@link DEFAULT_MAX_DISCOVERED_SERVERS}; from 1 to 65,536. */
  readonly maxServers?: number;
  /** Randomness for the query id. Default node:crypto. */
  readonly crypto?: CryptoProvider;
}

interface ServerEntry {
  readonly instance: string;
  /** The name last announced (a peer's changes with its nickname). */
  name: string;
  readonly publicKey: Uint8Array;
  readonly fingerprint: string;
  readonly ports: ServerPorts;
  readonly addresses: string[];
  lastHeard: number;
  readonly peer: boolean;
}

/**
 * A client's side of discovery: sends a query to everyone at start, 250 ms and 1 s later (the
 * same query id each time), and collects the servers that answer it or beacon meanwhile. A server
 * is known by its instance id and key: heard again (from another address, on another network) it
 * stays one entry with several addresses.
 */
export class DiscoveryBrowser {
  /** This browser's query id (16 hex digits). */
  readonly query: string;
  readonly statistics: DiscoveryStatistics = emptyStatistics();
  readonly #start: number;
  readonly #maxServers: number;
  readonly #crypto: CryptoProvider;
  readonly #servers = new Map<string, ServerEntry>();
  readonly #events = new FifoQueue<ServerFoundEvent>();
  #queriesSent = 0;

  /** @throws `InvalidArgumentError` for a limit out of range. */
  constructor(options: DiscoveryBrowserOptions) {
    this.#crypto = options.crypto ?? nodeCryptoProvider;
    this.#maxServers = checkLimit(
      'maxServers',
      options.maxServers,
      DEFAULT_MAX_DISCOVERED_SERVERS,
      1,
      65_536,
    );
    if (!Number.isFinite(options.now)) throw new InvalidArgumentError('now must be a number');
    this.#start = options.now;
    this.query = toHex(this.#crypto.randomBytes(DISCOVERY_ID_LENGTH));
  }

  /** The servers heard of so far, first heard first. */
  get servers(): DiscoveredServer[] {
    return [...this.#servers.values()].map((entry) => ({
      ...entry,
      addresses: [...entry.addresses],
    }));
  }

  /** Takes a datagram from `from`: an announcement (an answer to this browser's query, or a beacon). */
  receive(datagram: Uint8Array, from: DiscoveryAddress, now: number): void {
    const message = decodeCounted(datagram, this.statistics);
    if (message?.type !== 'announcement') return;
    const announcement = message.announcement;
    if (announcement.query !== undefined && announcement.query !== this.query) {
      this.statistics.ignored++;
      return;
    }
    const key = `${announcement.instance}:${toHex(announcement.publicKey)}`;
    const known = this.#servers.get(key);
    if (known !== undefined) {
      known.lastHeard = now;
      known.name = announcement.name;
      if (!known.addresses.includes(from.address) && known.addresses.length < MAX_ADDRESSES) {
        known.addresses.push(from.address);
      }
      this.statistics.accepted++;
      return;
    }
    if (this.#servers.size >= this.#maxServers) {
      this.statistics.ignored++;
      return;
    }
    const entry: ServerEntry = {
      instance: announcement.instance,
      name: announcement.name,
      publicKey: announcement.publicKey,
      fingerprint: keyFingerprint(announcement.publicKey, this.#crypto),
      ports: announcement.ports,
      addresses: [from.address],
      lastHeard: now,
      peer: announcement.peer === true,
    };
    this.#servers.set(key, entry);
    this.statistics.accepted++;
    this.#events.push({
      type: 'server-found',
      server: { ...entry, addresses: [...entry.addresses] },
    });
  }

  /** The next query to send (to everyone), or `undefined`. */
  pollTransmit(now: number): DiscoveryOutput | undefined {
    const due = DISCOVERY_QUERY_SCHEDULE[this.#queriesSent];
    if (due === undefined || now < this.#start + due) return undefined;
    this.#queriesSent++;
    return { datagram: encodeDiscoveryQuery(this.query), to: 'everyone' };
  }

  /** When the next query is due, or `undefined` once all are sent. */
  pollTimeout(): number | undefined {
    const due = DISCOVERY_QUERY_SCHEDULE[this.#queriesSent];
    return due === undefined ? undefined : this.#start + due;
  }

  /** The next event, or `undefined`. */
  nextEvent(): ServerFoundEvent | undefined {
    return this.#events.shift();
  }
}
