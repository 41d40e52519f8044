/**
 * A lossy UDP relay for tests: it stands between clients and a server on loopback and drops,
 * duplicates, delays and reorders datagrams, decided by a seeded generator, so that a failing
 * schedule replays from its seed. `tc netem` is not available on the machines that run the tests;
 * this does the same job in-process.
 *
 * Each client gets its own upstream socket (as behind a NAT), so the server sees one address per
 * client, and answers go back to the client they belong to. Exported from `@lanchat/udp/testing`.
 *
 * @module
 */

import { type RemoteInfo, type Socket, createSocket } from 'node:dgram';
import { SeededRandom } from '@lanchat/core/testing';

/** How the relay treats each datagram, in each direction. */
export interface LossyRelayOptions {
  /** Where the server listens. */
  readonly target: { readonly host: string; readonly port: number };
  /** Seed of the decisions. */
  readonly seed: number;
  /** Probability that a datagram is dropped, 0 to 1. */
  readonly loss?: number;
  /** Probability that a datagram is sent twice, 0 to 1. */
  readonly duplication?: number;
  /** Probability that a datagram is held back (so that later ones overtake it), 0 to 1. */
  readonly reordering?: number;
  /** How long a held-back datagram waits, in ms. Default 5. */
  readonly holdMs?: number;
  /** Receive buffer of each socket, in bytes (the system may cap it). Default 4 MiB. */
  readonly socketBufferBytes?: number;
}

/** What went through the relay in one direction. */
export interface LossyRelayStatistics {
  received: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  forwarded: number;
}

/** A running relay. */
export interface LossyRelay {
  /** The port clients send to (on 127.0.0.1). */
  readonly port: number;
  /** Client to server, and server to client. */
  readonly statistics: {
    readonly toServer: Readonly<LossyRelayStatistics>;
    readonly toClient: Readonly<LossyRelayStatistics>;
  };
  /**
   * Drops every client's upstream socket: the next datagram of each leaves from a new port, as
   * after a NAT rebinding or a client changing network.
   */
  rebind(): Promise<void>;
  /**
   * Changes the rates from now on (a `loss` of 1 cuts the path, as a cable pulled out; back to 0,
   * it is plugged in again).
   */
  configure(rates: Pick<LossyRelayOptions, 'loss' | 'duplication' | 'reordering'>): void;
  /** Closes every socket and cancels held datagrams. */
  close(): Promise<void>;
}

function bound(socket: Socket, port = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

/** Starts a relay on a free loopback port. */
export async function startLossyRelay(options: LossyRelayOptions): Promise<LossyRelay> {
  const random = new SeededRandom(options.seed);
  let loss = options.loss ?? 0;
  let duplication = options.duplication ?? 0;
  let reordering = options.reordering ?? 0;
  const holdMs = options.holdMs ?? 5;
  const counts = (): LossyRelayStatistics => ({
    received: 0,
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    forwarded: 0,
  });
  const statistics = { toServer: counts(), toClient: counts() };
  const timers = new Set<NodeJS.Timeout>();
  const buffer = options.socketBufferBytes ?? 4 * 1024 * 1024;
  const socketOptions = { type: 'udp4', recvBufferSize: buffer, sendBufferSize: buffer } as const;
  const front = createSocket(socketOptions);
  await bound(front);
  /** Upstream socket per client address. */
  const upstreams = new Map<string, Socket>();
  let closed = false;

  const pass = (
    statistics: LossyRelayStatistics,
    datagram: Buffer,
    send: (datagram: Buffer) => void,
  ): void => {
    statistics.received++;
    if (random.chance(loss)) {
      statistics.dropped++;
      return;
    }
    const copies = random.chance(duplication) ? 2 : 1;
    if (copies === 2) statistics.duplicated++;
    for (let copy = 0; copy < copies; copy++) {
      if (random.chance(reordering)) {
        statistics.reordered++;
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!closed) {
            statistics.forwarded++;
            send(datagram);
          }
        }, holdMs);
        timers.add(timer);
      } else {
        statistics.forwarded++;
        send(datagram);
      }
    }
  };

  const upstreamFor = async (client: RemoteInfo): Promise<Socket> => {
    const key = `${client.address}:${client.port}`;
    let upstream = upstreams.get(key);
    if (upstream === undefined) {
      const socket = createSocket(socketOptions);
      upstreams.set(key, socket);
      socket.on('message', (datagram) => {
        pass(statistics.toClient, datagram, (out) => {
          front.send(out, client.port, client.address);
        });
      });
      await bound(socket);
      upstream = socket;
    }
    return upstream;
  };

  front.on('message', (datagram, client) => {
    void upstreamFor(client).then((upstream) => {
      pass(statistics.toServer, datagram, (out) => {
        upstream.send(out, options.target.port, options.target.host);
      });
    });
  });

  const closeSocket = (socket: Socket): Promise<void> =>
    new Promise((resolve) => {
      socket.close(() => {
        resolve();
      });
    });

  return {
    port: front.address().port,
    statistics,
    configure: (rates) => {
      loss = rates.loss ?? loss;
      duplication = rates.duplication ?? duplication;
      reordering = rates.reordering ?? reordering;
    },
    rebind: async () => {
      const old = [...upstreams.values()];
      upstreams.clear();
      await Promise.all(old.map(closeSocket));
    },
    close: async () => {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all([front, ...upstreams.values()].map(closeSocket));
    },
  };
}

/**
 * A UDP port on 127.0.0.1 that was free a moment ago: bound to port 0, read, released. For a
 * program that must be told a port number before it binds (a child process, a library that takes
 * no socket). Another program may take it meanwhile; on a test machine that is rare.
 */
export async function unusedUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}
