/**
 * `lanchat discover` and `lanchat connect` without an address: the servers of the local network,
 * found with LAN discovery (docs/protocol.md, section 10), listed with what known_hosts says of
 * their keys.
 *
 * @module
 */

import type { DiscoveredServer } from '@lanchat/core';
import pc from 'picocolors';
import { formatHostKey } from './address.js';
import type { KnownHostStatus } from './known-hosts.js';

/** A discovered server as `lanchat connect` can reach it, over TCP (or UDP with `--udp`). */
export interface ReachableServer {
  readonly name: string;
  /** `address:port` to connect to. */
  readonly target: string;
  readonly host: string;
  readonly port: number;
  readonly fingerprint: string;
  readonly publicKey: Uint8Array;
  /** Every address it answered from. */
  readonly addresses: readonly string[];
  /** Its UDP port, when it serves the chat over UDP too (`lanchat connect --udp`). */
  readonly udpPort: number | undefined;
}

/**
 * The servers that offer TCP (or UDP), with the first address each answered from; with `peers`,
 * the peers of serverless meshes (`lanchat peer`) instead, at their peer port.
 */
export function reachableServers(
  servers: readonly DiscoveredServer[],
  transport: 'tcp' | 'udp' = 'tcp',
  peers = false,
): ReachableServer[] {
  const reachable: ReachableServer[] = [];
  for (const server of servers) {
    if (server.peer !== peers) continue;
    const port = server.ports[transport];
    const host = server.addresses[0];
    if (port === undefined || host === undefined) continue;
    reachable.push({
      name: server.name,
      target: `${host}:${port}`,
      host,
      port,
      fingerprint: server.fingerprint,
      publicKey: server.publicKey,
      addresses: server.addresses,
      udpPort: server.ports.udp,
    });
  }
  return reachable;
}

/** What known_hosts says of a server's key, as a word for the list. */
export function keyNote(status: KnownHostStatus): string {
  switch (status.status) {
    case 'known':
      return pc.green('key pinned');
    case 'new':
      return 'new key';
    case 'changed':
      return pc.red('KEY DIFFERS from the pinned one');
  }
}

/** `, UDP too` (or `, UDP on port N` when its number differs) for a server that serves UDP. */
function udpNote(server: ReachableServer): string {
  if (server.udpPort === undefined) return '';
  return server.udpPort === server.port ? ', UDP too' : `, UDP on port ${String(server.udpPort)}`;
}

/** Lines of the list: a number, the name, where, the fingerprint, what known_hosts says, UDP. */
export function formatServerList(
  servers: readonly ReachableServer[],
  status: (server: ReachableServer) => KnownHostStatus,
): string[] {
  return servers.map(
    (server, index) =>
      `${String(index + 1).padStart(3)}. ${pc.bold(server.name)}  ${pc.cyan(server.target)}  ` +
      `${server.fingerprint}  (${keyNote(status(server))}${udpNote(server)})`,
  );
}

/** The known_hosts key of a server found by discovery. */
export function hostKeyOf(server: ReachableServer): string {
  return formatHostKey(server.host, server.port);
}
