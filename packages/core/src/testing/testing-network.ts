/**
 * The testing network: many peer meshes joined by fake TCP connections, on one virtual clock.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { PeerMesh, type PeerMeshEvent, type PeerMeshOptions } from '../mesh/peer-mesh.js';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import { SeededRandom } from './random.js';
import { ConditionNotMetError } from './testing-errors.js';
import { VirtualClock } from './virtual-clock.js';

/** Options of a {@link TestingNetwork}. */
export interface TestingNetworkOptions {
  /** Seed of every random choice (latencies, keys). Default 1. */
  readonly seed?: number;
  /** One-way latency of every connection, whole milliseconds. Default 1 to 5. */
  readonly latency?: { readonly min: number; readonly max: number };
  /** Options every peer gets (a peer's own options win). */
  readonly peerOptions?: Partial<Omit<PeerMeshOptions, 'now' | 'staticKeyPair' | 'nick'>>;
}

/** A peer of the network. */
export interface TestingPeer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** The peer's mesh now (a new one after {@link TestingNetwork.restart}). */
  readonly mesh: PeerMesh;
  /** Every event its mesh gave, oldest first; cleared by a restart. */
  readonly events: PeerMeshEvent[];
  /** Whether it runs (not killed). */
  readonly running: boolean;
}

interface Peer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly keyPair: { publicKey: Uint8Array; privateKey: Uint8Array };
  readonly options: Partial<PeerMeshOptions>;
  /** Whether its mesh is told its port at start. */
  readonly listening: boolean;
  mesh: PeerMesh;
  events: PeerMeshEvent[];
  running: boolean;
  /** The peer's links, by link id, to their connection end. */
  readonly ends: Map<number, End>;
}

interface End {
  readonly peer: Peer;
  readonly link: number;
  /** The other end, once the connection is accepted. */
  other: End | undefined;
  /** Arrival time of the last item sent from this end, which the next may not beat. */
  lastArrival: number;
  /** This end wrote its end of stream, or was reset. */
  finished: boolean;
  /** The end's link was told it closed. */
  closed: boolean;
  /** Nothing sent from this end arrives (a partition cut it). */
  blackholed: boolean;
}

interface Delivery {
  readonly at: number;
  readonly sequence: number;
  readonly to: End;
  readonly kind: 'data' | 'end' | 'reset';
  readonly data?: Uint8Array;
}

/**
 * Many {@link PeerMesh} peers on one virtual clock, joined by fake TCP connections with a seeded
 * latency: dial, accept, bytes in order, end of stream, reset. A test can kill and restart a peer,
 * split the network into groups that cannot reach each other (connections across are cut, dials
 * across go unanswered) and heal it. Nothing waits for real time.
 */
export class TestingNetwork {
  readonly #clock = new VirtualClock(0);
  readonly #random: SeededRandom;
  readonly #latency: { readonly min: number; readonly max: number };
  readonly #peerOptions: Partial<PeerMeshOptions>;
  readonly #peers = new Map<string, Peer>();
  /** Peers by address. */
  readonly #addresses = new Map<string, Peer>();
  #deliveries: Delivery[] = [];
  #sequence = 0;
  /** Groups of a partition: peer name to group index. */
  #groups: Map<string, number> | undefined;

  constructor(options: TestingNetworkOptions = {}) {
    this.#random = new SeededRandom(options.seed ?? 1);
    this.#latency = options.latency ?? { min: 1, max: 5 };
    this.#peerOptions = options.peerOptions ?? {};
  }

  /** The virtual time, in ms. */
  get now(): number {
    return this.#clock.now;
  }

  /**
   * Adds a running peer at host `10.0.0.N`, port 7000, with a key from the seed. Its mesh is told
   * it listens on port 7000, unless `listening` is false (a peer that only dials out, until its
   * `setListenPort`; dials to its address still reach it).
   *
   * @throws `InvalidArgumentError` for a name used already.
   */
  addPeer(
    name: string,
    options: Partial<Omit<PeerMeshOptions, 'now' | 'staticKeyPair'>> & {
      readonly listening?: boolean;
    } = {},
  ): TestingPeer {
    if (this.#peers.has(name)) throw new InvalidArgumentError(`a peer is called ${name} already`);
    const { listening = true, ...meshOptions } = options;
    const privateKey = this.#random.nextBytes(32);
    const keyPair = { privateKey, publicKey: nodeCryptoProvider.x25519PublicKey(privateKey) };
    const host = `10.0.0.${this.#peers.size + 1}`;
    const peer: Peer = {
      name,
      host,
      port: 7000,
      keyPair,
      options: { ...this.#peerOptions, ...meshOptions },
      listening,
      mesh: undefined as unknown as PeerMesh,
      events: [],
      running: true,
      ends: new Map(),
    };
    peer.mesh = this.#newMesh(peer);
    this.#peers.set(name, peer);
    this.#addresses.set(`${host}|7000`, peer);
    return this.peer(name);
  }

  /** A peer by name. */
  peer(name: string): TestingPeer {
    const peer = this.#get(name);
    return {
      name,
      host: peer.host,
      port: peer.port,
      get mesh() {
        return peer.mesh;
      },
      get events() {
        return peer.events;
      },
      get running() {
        return peer.running;
      },
    };
  }

  /** Has peer `from` dial peer `to`. */
  connect(from: string, to: string): void {
    const target = this.#get(to);
    this.#get(from).mesh.connect(target.host, target.port, this.now);
    this.#pump(this.#get(from));
  }

  /** Runs `action` on a peer's mesh at the current time, then lets the peer act. */
  act(name: string, action: (mesh: PeerMesh, now: number) => void): void {
    const peer = this.#get(name);
    action(peer.mesh, this.now);
    this.#pump(peer);
  }

  /** Kills a peer: its connections are reset, dials to it are refused. */
  kill(name: string): void {
    const peer = this.#get(name);
    if (!peer.running) return;
    peer.running = false;
    for (const end of [...peer.ends.values()]) {
      end.closed = true;
      if (end.other !== undefined && !end.other.closed) this.#schedule(end, 'reset');
    }
    peer.ends.clear();
  }

  /** Starts a killed peer again: same key, same address, a new mesh (a new epoch). */
  restart(name: string): void {
    const peer = this.#get(name);
    if (peer.running) throw new InvalidArgumentError(`${name} runs already`);
    peer.mesh = this.#newMesh(peer);
    peer.events = [];
    peer.running = true;
  }

  /**
   * Splits the network: peers in different groups cannot reach each other. Connections between
   * them go silent (as a pulled cable: only timeouts notice), dials between them go unanswered.
   * Peers in no group form one more group.
   */
  partition(...groups: readonly (readonly string[])[]): void {
    const map = new Map<string, number>();
    groups.forEach((group, index) => {
      for (const name of group) map.set(name, index);
    });
    this.#groups = map;
    for (const peer of this.#peers.values()) {
      for (const end of peer.ends.values()) {
        if (end.other !== undefined && !this.#reachable(peer, end.other.peer)) {
          end.blackholed = true;
        }
      }
    }
  }

  /**
   * Makes every connection open between two peers silent one way: what `from` sends to `to` is
   * lost from now on (acknowledgements that never come back, say). New connections are not cut.
   */
  cut(from: string, to: string): void {
    const target = this.#get(to);
    for (const end of this.#get(from).ends.values()) {
      if (end.other?.peer === target) end.blackholed = true;
    }
  }

  /** Ends the partition: new dials go through (silent connections stay silent). */
  heal(): void {
    this.#groups = undefined;
  }

  /**
   * Runs until `condition` holds.
   *
   * @throws `ConditionNotMetError` when it does not within `maxTime` virtual ms (default 60 s), or
   * when nothing is left to happen.
   */
  runUntil(condition: () => boolean, maxTime = 60_000): void {
    const start = this.now;
    for (let steps = 0; !condition(); steps++) {
      if (this.now - start > maxTime || steps > 1_000_000) {
        throw new ConditionNotMetError('runUntil', 'max-time', this.now, steps);
      }
      if (!this.#step(start + maxTime)) {
        if (condition()) return;
        throw new ConditionNotMetError('runUntil', 'idle', this.now, steps);
      }
    }
  }

  /** Runs for `milliseconds` of virtual time. */
  runFor(milliseconds: number): void {
    const end = this.now + milliseconds;
    while (this.#step(end));
    this.#clock.advanceTo(end);
  }

  // ---------------------------------------------------------------------------------------------

  #newMesh(peer: Peer): PeerMesh {
    return new PeerMesh({
      nick: peer.name,
      ...(peer.listening ? { listenPort: peer.port } : {}),
      ...peer.options,
      now: this.now,
      staticKeyPair: peer.keyPair,
    });
  }

  #get(name: string): Peer {
    const peer = this.#peers.get(name);
    if (peer === undefined) throw new InvalidArgumentError(`no peer is called ${name}`);
    return peer;
  }

  #reachable(from: Peer, to: Peer): boolean {
    const groups = this.#groups;
    if (groups === undefined) return true;
    return (groups.get(from.name) ?? -1) === (groups.get(to.name) ?? -1);
  }

  /** One step: the next delivery or deadline, if it comes by `limit`. */
  #step(limit: number): boolean {
    let next = Infinity;
    for (const peer of this.#peers.values()) {
      if (peer.running) next = Math.min(next, peer.mesh.pollTimeout() ?? Infinity);
    }
    const delivery = this.#deliveries[0];
    if (delivery !== undefined) next = Math.min(next, delivery.at);
    if (next === Infinity || next > limit) return false;
    this.#clock.advanceTo(Math.max(this.now, next));
    if (delivery !== undefined && delivery.at <= this.now) {
      this.#deliveries.shift();
      this.#deliver(delivery);
      return true;
    }
    for (const peer of this.#peers.values()) {
      if (!peer.running) continue;
      const deadline = peer.mesh.pollTimeout();
      if (deadline !== undefined && deadline <= this.now) {
        peer.mesh.handleTimeout(this.now);
        this.#pump(peer);
      }
    }
    return true;
  }

  #deliver(delivery: Delivery): void {
    const end = delivery.to;
    const peer = end.peer;
    if (end.closed || !peer.running) return;
    const mesh = peer.mesh;
    switch (delivery.kind) {
      case 'data':
        mesh.receive(end.link, delivery.data!, this.now);
        break;
      case 'end':
        mesh.receiveEnd(end.link, this.now);
        if (end.finished) this.#close(end);
        break;
      case 'reset':
        this.#close(end, 'connection reset');
        break;
    }
    this.#pump(peer);
  }

  #close(end: End, message?: string): void {
    if (end.closed) return;
    end.closed = true;
    end.peer.ends.delete(end.link);
    end.peer.mesh.linkClosed(end.link, this.now, message);
  }

  /** Carries out a peer's actions, sends its bytes, and keeps its events. */
  #pump(peer: Peer): void {
    if (!peer.running) return;
    const mesh = peer.mesh;
    for (let round = 0; round < 100; round++) {
      let busy = false;
      for (let action = mesh.nextAction(); action !== undefined; action = mesh.nextAction()) {
        busy = true;
        if (action.type === 'dial') this.#dial(peer, action.link, action.host, action.port);
        else this.#closeAction(peer, action.link, action.graceful);
      }
      for (const end of [...peer.ends.values()]) this.#transmit(end);
      for (let event = mesh.nextEvent(); event !== undefined; event = mesh.nextEvent()) {
        peer.events.push(event);
      }
      if (!busy) return;
    }
  }

  #transmit(end: End): void {
    const mesh = end.peer.mesh;
    for (
      let data = mesh.pollTransmit(end.link);
      data !== undefined;
      data = mesh.pollTransmit(end.link)
    ) {
      if (end.finished || end.other === undefined || end.blackholed) continue;
      this.#schedule(end, 'data', data.slice());
    }
  }

  #dial(peer: Peer, link: number, host: string, port: number): void {
    const end: End = {
      peer,
      link,
      other: undefined,
      lastArrival: 0,
      finished: false,
      closed: false,
      blackholed: false,
    };
    peer.ends.set(link, end);
    const target = this.#addresses.get(`${host}|${port}`);
    if (target === undefined || !target.running) {
      this.#schedule(end, 'reset', undefined, end);
      return;
    }
    if (!this.#reachable(peer, target)) {
      // Unanswered: the dialler's handshake deadline ends it.
      end.blackholed = true;
      return;
    }
    const accepted = target.mesh.accept(this.now, { host: peer.host, port: 40_000 + link });
    if (accepted === undefined) {
      this.#schedule(end, 'reset', undefined, end);
      return;
    }
    const other: End = {
      peer: target,
      link: accepted,
      other: end,
      lastArrival: 0,
      finished: false,
      closed: false,
      blackholed: false,
    };
    end.other = other;
    target.ends.set(accepted, other);
    this.#pump(target);
  }

  #closeAction(peer: Peer, link: number, graceful: boolean): void {
    const end = peer.ends.get(link);
    if (end === undefined) {
      peer.mesh.linkClosed(link, this.now);
      return;
    }
    if (graceful) {
      this.#transmit(end);
      end.finished = true;
      if (end.other !== undefined && !end.blackholed) this.#schedule(end, 'end');
      // The connection closes once both sides have ended; a side that never ends is reset.
      if (end.other === undefined || end.other.finished || end.blackholed) this.#close(end);
      return;
    }
    end.finished = true;
    if (end.other !== undefined && !end.blackholed) this.#schedule(end, 'reset');
    this.#close(end);
  }

  #schedule(from: End, kind: Delivery['kind'], data?: Uint8Array, to = from.other!): void {
    const latency = this.#random.nextInt(this.#latency.min, this.#latency.max);
    const at = Math.max(this.now + latency, from.lastArrival);
    from.lastArrival = at;
    const delivery: Delivery = {
      at,
      sequence: this.#sequence++,
      to,
      kind,
      ...(data === undefined ? {} : { data }),
    };
    // Sorted by time, then by order of sending.
    const list = this.#deliveries;
    let low = 0;
    let high = list.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const item = list[middle]!;
      if (item.at < at || (item.at === at && item.sequence < delivery.sequence)) low = middle + 1;
      else high = middle;
    }
    list.splice(low, 0, delivery);
  }
}
