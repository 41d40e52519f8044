/**
 * The addresses a user can type into a client to reach this server, for the start-up banner.
 *
 * @module
 */

import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';

/** What `os.networkInterfaces()` returns: interface name → its addresses. */
export type NetworkInterfaceMap = NodeJS.Dict<readonly NetworkInterfaceInfo[]>;

/** Writes `host:port`, with an IPv6 address in brackets: `[fe80::1%eth0]:9999`. */
export function formatHostPort(host: string, port: number): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.includes(':') ? `[${bare}]:${String(port)}` : `${bare}:${String(port)}`;
}

/** Whether `host` is a wildcard listening address (every interface). */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]' || host === '';
}

function isIPv4Info(info: NetworkInterfaceInfo): boolean {
  // Node 18.0 to 18.3 reported the family as a number; be kind to both.
  return (info.family as string | number) === 'IPv4' || (info.family as string | number) === 4;
}

function isLinkLocal(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address);
}

/**
 * The addresses of a server listening on `host` and `port`, as printable `HOST:PORT` strings.
 *
 * When `host` is a wildcard, every address of every interface the server can be reached on:
 * for `0.0.0.0` the IPv4 addresses; for `::` (which Node binds dual-stack) the IPv4 and IPv6
 * addresses. LAN addresses come first (IPv4, then IPv6, then IPv6 link-local ones, which carry
 * `%interface` because they mean nothing without it), and loopback ones last. Otherwise just
 * `host` itself.
 *
 * @param interfaces - The machine's interfaces; `os.networkInterfaces()` unless given (tests
 * give their own).
 */
export function lanAddresses(
  host: string,
  port: number,
  interfaces: NetworkInterfaceMap = networkInterfaces(),
): string[] {
  if (!isWildcardHost(host)) return [formatHostPort(host, port)];
  const withIPv6 = host !== '0.0.0.0';
  const groups: [ipv4: string[], ipv6: string[], linkLocal: string[], loopback: string[]] = [
    [],
    [],
    [],
    [],
  ];
  for (const [name, infos] of Object.entries(interfaces)) {
    for (const info of infos ?? []) {
      const ipv4 = isIPv4Info(info);
      if (!ipv4 && !withIPv6) continue;
      let address = info.address;
      let group: 0 | 1 | 2 | 3;
      if (info.internal) group = 3;
      else if (ipv4) group = 0;
      else if (isLinkLocal(address)) {
        group = 2;
        if (!address.includes('%')) address = `${address}%${name}`;
      } else group = 1;
      groups[group].push(formatHostPort(address, port));
    }
  }
  if (groups[3].length === 0) groups[3].push(formatHostPort('127.0.0.1', port));
  else groups[3].sort((a, b) => Number(a.startsWith('[')) - Number(b.startsWith('[')));
  return [...new Set(groups.flat())];
}
