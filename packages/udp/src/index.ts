/**
 * The UDP adapter of lanchat, on node:dgram.
 *
 * - The chat over UDP (docs/protocol.md, section 7): {@link listenChatUdp} or
 *   {@link udpTransport} beside TCP on a server; {@link connectChatUdp} (or
 *   {@link udpClientTransport} given to `connectChat`) on a client, with files and reconnection
 *   as over TCP.
 * - LAN discovery (docs/protocol.md, section 10): a server calls {@link announceServer} to be
 *   found, a client calls {@link discoverServers} to find the servers of its network.
 *
 * ```ts
 * import { announceServer, discoverServers } from '@lanchat/udp';
 *
 * const announcer = await announceServer({ name: 'Lab 3', publicKey, ports: { tcp: 9999 } });
 * const servers = await discoverServers({ timeout: 2000 });
 * for (const server of servers) {
 *   console.log(server.name, server.addresses[0], server.ports.tcp, server.fingerprint);
 * }
 * await announcer.close();
 * ```
 *
 * @packageDocumentation
 */

export {
  type AnnounceServerOptions,
  DEFAULT_DISCOVERY_TIMEOUT,
  type DiscoverServersOptions,
  type DiscoveryInterface,
  type DiscoveryNetworkOptions,
  type ServerAnnouncer,
  announceServer,
  discoverServers,
  discoveryInterfaces,
} from './discovery.js';
export {
  type AdvertiseMdnsOptions,
  DEFAULT_MDNS_PORT,
  MDNS_SERVICE_TYPE,
  type MdnsAdvertisement,
  advertiseMdns,
} from './mdns.js';
export {
  type ChatUdpClient,
  type ChatUdpClientOptions,
  ChatUdpServer,
  type ChatUdpServerOptions,
  DEFAULT_UDP_PORT,
  SOCKET_BUFFER_BYTES,
  type UdpLoginVerifier,
  type UdpSendErrorEvent,
  type UdpServerEvent,
  type UdpClientTransportOptions,
  type UdpServerStatistics,
  UdpTransport,
  type UdpTransportOptions,
  connectChatUdp,
  listenChatUdp,
  udpClientTransport,
  udpTransport,
} from './chat-udp.js';
