/**
 * LAN discovery over node:dgram (docs/protocol.md, section 10): {@link announceServer} makes a
 * server findable, {@link discoverServers} finds the servers of the local network. The protocol
 * is in `@lanchat/core` (`DiscoveryAnnouncer`, `DiscoveryBrowser`); this module owns the sockets
 * and timers.
 *
 * @module
 */

import { type Socket, createSocket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import {
  DEFAULT_DISCOVERY_PORT,
  DISCOVERY_MULTICAST_GROUP,
  type DiscoveredServer,
  type DiscoveryAddress,
  DiscoveryAnnouncer,
  DiscoveryBrowser,
  type DiscoveryOutput,
  type DiscoveryStatistics,
  type ServerPorts,
} from '@lanchat/core';

/** An IPv4 interface discovery uses: its address, and its broadcast address (none on loopback). */
export interface DiscoveryInterface {
  readonly address: string;
  readonly broadcast: string | undefined;
}

/** Where discovery datagrams go, shared by both sides. */
export interface DiscoveryNetworkOptions {
  /** The discovery port. Default {@link DEFAULT_DISCOVERY_PORT} (9998). */
  readonly port?: number;
  /**
   * IPv4 addresses of the interfaces to use. Default: every IPv4 interface of the machine,
   * loopback included (so that a server on the same machine is found).
   */
  readonly interfaces?: readonly string[];
  /** Multicast group. Default {@link DISCOVERY_MULTICAST_GROUP}. */
  readonly group?: string;
  /** Also send to each interface's broadcast address (not on loopback). Default true. */
  readonly broadcast?: boolean;
}

/** Options of {@link announceServer}. */
export interface AnnounceServerOptions extends DiscoveryNetworkOptions {
  /** The server's name, 1 to 64 bytes of UTF-8. */
  readonly name: string;
  /** The server's static public key. */
  readonly publicKey: Uint8Array;
  /** The ports it listens on, by transport. */
  readonly ports: ServerPorts;
  /** Announce a peer of a serverless mesh (`lanchat peer`), not a server. Default false. */
  readonly peer?: boolean;
  /** Milliseconds between beacons. Default 10 s. */
  readonly beaconInterval?: number;
  /** Most answers per second. Default 20. */
  readonly maxAnswersPerSecond?: number;
  /** Aborting stops announcing (as {@link ServerAnnouncer.close}). */
  readonly signal?: AbortSignal;
  /** Reports a send or socket error (an interface that went away). Announcing carries on. */
  readonly onError?: (error: Error) => void;
}

/** A server being announced. */
export interface ServerAnnouncer {
  /** The port it listens on for queries (useful with `port: 0`). */
  readonly port: number;
  /** The announcement's instance id. */
  readonly instance: string;
  /** What it answered and dropped. */
  readonly statistics: Readonly<DiscoveryStatistics>;
  /**
   * Announces another name from now on, with a beacon at once (a peer that changed nickname).
   *
   * @throws `InvalidArgumentError` for a bad name.
   */
  rename(name: string): void;
  /** Stops announcing and closes the sockets. */
  close(): Promise<void>;
}

/** Options of {@link discoverServers}. */
export interface DiscoverServersOptions extends DiscoveryNetworkOptions {
  /** How long to listen for answers, in ms. Default 2000. */
  readonly timeout?: number;
  /** Called for each server as it is found. Must not throw. */
  readonly onServer?: (server: DiscoveredServer) => void;
  /** Aborting ends the search early: the promise resolves with what was found so far. */
  readonly signal?: AbortSignal;
  /** Reports a send or socket error on an interface. The search carries on on the others. */
  readonly onError?: (error: Error) => void;
  /**
   * Hosts (IPv4 addresses or names) to ask directly as well, by unicast to their discovery
   * port: for servers that multicast and broadcast do not reach (another subnet, a network that
   * filters them). With `interfaces: []`, only these are asked.
   */
  readonly hosts?: readonly string[];
}

/** Default time {@link discoverServers} listens: 2 s (the last query goes out after 1 s). */
export const DEFAULT_DISCOVERY_TIMEOUT = 2000;

/** The machine's IPv4 interfaces, or those named, with their broadcast addresses. */
export function discoveryInterfaces(only?: readonly string[]): DiscoveryInterface[] {
  const found: DiscoveryInterface[] = [];
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.family !== 'IPv4') continue;
      if (only !== undefined && !only.includes(entry.address)) continue;
      found.push({
        address: entry.address,
        broadcast: entry.internal ? undefined : broadcastAddress(entry.address, entry.netmask),
      });
    }
  }
  // Named addresses that no interface has (yet) are used as given: binding will tell.
  for (const address of only ?? []) {
    if (!found.some((entry) => entry.address === address)) {
      found.push({ address, broadcast: undefined });
    }
  }
  return found;
}

function broadcastAddress(address: string, netmask: string): string | undefined {
  const a = address.split('.').map(Number);
  const m = netmask.split('.').map(Number);
  if (a.length !== 4 || m.length !== 4) return undefined;
  return a.map((byte, index) => (byte | (~m[index]! & 0xff)) & 0xff).join('.');
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function bind(socket: Socket, port: number, address?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(error);
    };
    socket.once('error', onError);
    socket.bind({ port, ...(address === undefined ? {} : { address }), exclusive: false }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => {
        resolve();
      });
    } catch {
      // Already closed.
      resolve();
    }
  });
}

/** A socket per interface that sends "to everyone" from that interface. */
interface Sender {
  readonly socket: Socket;
  readonly network: DiscoveryInterface;
}

async function openSenders(
  interfaces: readonly DiscoveryInterface[],
  onError: (error: Error) => void,
): Promise<Sender[]> {
  const senders: Sender[] = [];
  for (const network of interfaces) {
    const socket = createSocket({ type: 'udp4' });
    socket.on('error', onError);
    try {
      await bind(socket, 0, network.address);
      socket.setMulticastInterface(network.address);
      socket.setMulticastTTL(1);
      socket.setMulticastLoopback(true);
      socket.setBroadcast(true);
      senders.push({ socket, network });
    } catch (error) {
      onError(asError(error));
      await closeSocket(socket);
    }
  }
  return senders;
}

function sendTo(socket: Socket, datagram: Uint8Array, port: number, address: string): void {
  socket.send(datagram, port, address, () => undefined);
}

/** Sends "to everyone": to the group and (off loopback) the broadcast address, on each interface. */
function sendEveryone(
  senders: readonly Sender[],
  datagram: Uint8Array,
  port: number,
  group: string,
  broadcast: boolean,
): void {
  for (const { socket, network } of senders) {
    sendTo(socket, datagram, port, group);
    if (broadcast && network.broadcast !== undefined) {
      sendTo(socket, datagram, port, network.broadcast);
    }
  }
}

/**
 * Announces a server on the local network: a beacon now and every 10 s or so, and an answer to
 * every query (at most 20 a second). Listens on the discovery port, shared with other servers of
 * the machine, and joins the multicast group on every interface it can.
 *
 * @throws if the discovery port cannot be bound, or the options are invalid.
 */
export async function announceServer(options: AnnounceServerOptions): Promise<ServerAnnouncer> {
  const onError = (error: Error): void => {
    options.onError?.(error);
  };
  const group = options.group ?? DISCOVERY_MULTICAST_GROUP;
  const broadcast = options.broadcast ?? true;
  const announcer = new DiscoveryAnnouncer({
    name: options.name,
    publicKey: options.publicKey,
    ports: options.ports,
    ...(options.peer === true ? { peer: true } : {}),
    now: Date.now(),
    ...(options.beaconInterval === undefined ? {} : { beaconInterval: options.beaconInterval }),
    ...(options.maxAnswersPerSecond === undefined
      ? {}
      : { maxAnswersPerSecond: options.maxAnswersPerSecond }),
  });
  const interfaces = discoveryInterfaces(options.interfaces);
  const listener = createSocket({ type: 'udp4', reuseAddr: true });
  listener.on('error', onError);
  try {
    await bind(listener, options.port ?? DEFAULT_DISCOVERY_PORT);
  } catch (error) {
    await closeSocket(listener);
    throw error;
  }
  const port = listener.address().port;
  for (const network of interfaces) {
    try {
      listener.addMembership(group, network.address);
    } catch (error) {
      onError(asError(error));
    }
  }
  const senders = await openSenders(interfaces, onError);

  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const flush = (): void => {
    if (closed) return;
    const now = Date.now();
    for (
      let output: DiscoveryOutput | undefined = announcer.pollTransmit(now);
      output !== undefined;
      output = announcer.pollTransmit(now)
    ) {
      if (output.to === 'everyone') {
        sendEveryone(senders, output.datagram, port, group, broadcast);
      } else {
        sendTo(listener, output.datagram, output.to.port, output.to.address);
      }
    }
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(flush, Math.max(0, announcer.pollTimeout() - Date.now()));
    timer.unref();
  };
  listener.on('message', (datagram, remote) => {
    const from: DiscoveryAddress = { address: remote.address, port: remote.port };
    announcer.receive(datagram, from, Date.now());
    flush();
  });
  flush();

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    if (timer !== undefined) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    listener.removeAllListeners('message');
    await Promise.all([listener, ...senders.map((sender) => sender.socket)].map(closeSocket));
  };
  const onAbort = (): void => {
    void close();
  };
  if (options.signal?.aborted === true) await close();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  return {
    port,
    instance: announcer.instance,
    statistics: announcer.statistics,
    rename: (name) => {
      announcer.rename(name, Date.now());
      flush();
    },
    close,
  };
}

/**
 * Looks for lanchat servers on the local network: asks every interface (three times, in case a
 * datagram is lost) and collects the answers for `timeout` ms. Resolves with the servers found,
 * first heard first; aborting resolves early with those found so far.
 */
export async function discoverServers(
  options: DiscoverServersOptions = {},
): Promise<DiscoveredServer[]> {
  const onError = (error: Error): void => {
    options.onError?.(error);
  };
  const port = options.port ?? DEFAULT_DISCOVERY_PORT;
  const group = options.group ?? DISCOVERY_MULTICAST_GROUP;
  const broadcast = options.broadcast ?? true;
  const timeout = options.timeout ?? DEFAULT_DISCOVERY_TIMEOUT;
  if (!Number.isFinite(timeout) || timeout < 0) {
    throw new RangeError('timeout must be a number of milliseconds, 0 or more');
  }
  const browser = new DiscoveryBrowser({ now: Date.now() });
  if (options.signal?.aborted === true) return browser.servers;
  const senders = await openSenders(
    options.interfaces?.length === 0 ? [] : discoveryInterfaces(options.interfaces),
    onError,
  );
  // Direct questions leave from a socket of their own, routed as the system sees fit.
  const hosts = options.hosts ?? [];
  if (hosts.length > 0) {
    const socket = createSocket({ type: 'udp4' });
    socket.on('error', onError);
    await bind(socket, 0);
    senders.push({ socket, network: { address: '0.0.0.0', broadcast: undefined } });
  }
  const direct = hosts.length > 0 ? senders.at(-1)!.socket : undefined;

  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', finish);
      for (const { socket } of senders) socket.removeAllListeners('message');
      void Promise.all(senders.map((sender) => closeSocket(sender.socket))).then(() => {
        resolve(browser.servers);
      });
    };
    const flush = (): void => {
      if (done) return;
      const now = Date.now();
      for (
        let output = browser.pollTransmit(now);
        output !== undefined;
        output = browser.pollTransmit(now)
      ) {
        sendEveryone(
          direct === undefined ? senders : senders.slice(0, -1),
          output.datagram,
          port,
          group,
          broadcast,
        );
        for (const host of hosts) sendTo(direct!, output.datagram, port, host);
      }
      for (let event = browser.nextEvent(); event !== undefined; event = browser.nextEvent()) {
        options.onServer?.(event.server);
      }
      const next = browser.pollTimeout();
      if (timer !== undefined) clearTimeout(timer);
      timer = next === undefined ? undefined : setTimeout(flush, Math.max(0, next - Date.now()));
    };
    for (const { socket } of senders) {
      socket.on('message', (datagram, remote) => {
        browser.receive(datagram, { address: remote.address, port: remote.port }, Date.now());
        flush();
      });
    }
    // Declared after finish(), which only runs once this line has (the listener comes later).
    const deadline = setTimeout(finish, timeout);
    // The signal may have fired while the sockets were being opened.
    if (options.signal?.aborted === true) finish();
    else options.signal?.addEventListener('abort', finish, { once: true });
    flush();
  });
}
