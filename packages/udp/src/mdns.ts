/**
 * mDNS / DNS-SD advertisement of a lanchat server as `_lanchat._tcp`, so that standard tools
 * (`avahi-browse`, `dns-sd`, Bonjour browsers) see it beside lanchat's own discovery. Uses
 * bonjour-service (docs/decisions.md).
 *
 * @module
 */

import { Bonjour, type Service } from 'bonjour-service';

/** DNS-SD service type of lanchat: `_lanchat._tcp`. */
export const MDNS_SERVICE_TYPE = 'lanchat';
/** Default UDP port of mDNS: 5353. */
export const DEFAULT_MDNS_PORT = 5353;

/** Options of {@link advertiseMdns}. */
export interface AdvertiseMdnsOptions {
  /** The instance name shown by browsers (the server's name). */
  readonly name: string;
  /** The server's TCP port. */
  readonly port: number;
  /** The server key's fingerprint (`SHA256:...`), published in the TXT record as `fp`. */
  readonly fingerprint: string;
  /** The mDNS port. Default {@link DEFAULT_MDNS_PORT}; another one only for tests. */
  readonly mdnsPort?: number;
  /** The IPv4 address of the interface to advertise on. Default: the system's choice. */
  readonly interface?: string;
  /** Reports an error (a name conflict, a socket error). The server carries on. */
  readonly onError?: (error: Error) => void;
}

/** A running advertisement. */
export interface MdnsAdvertisement {
  /** Says goodbye on the network (so that browsers drop the server) and closes the socket. */
  close(): Promise<void>;
}

/**
 * Advertises a server over mDNS / DNS-SD: `NAME._lanchat._tcp.local`, its port, and a TXT record
 * with the protocol version (`v=1`) and the key's fingerprint (`fp=SHA256:...`). The fingerprint
 * lets a user compare; it proves nothing by itself, as anyone on the network can advertise.
 */
export function advertiseMdns(options: AdvertiseMdnsOptions): MdnsAdvertisement {
  const report = (error: unknown): void => {
    options.onError?.(error instanceof Error ? error : new Error(String(error)));
  };
  // bonjour-service hands these to multicast-dns. Bound to every address: a socket bound to one
  // unicast address would never receive the multicast queries.
  const network = {
    port: options.mdnsPort ?? DEFAULT_MDNS_PORT,
    bind: '0.0.0.0',
    ...(options.interface === undefined ? {} : { interface: options.interface }),
  };
  const bonjour = new Bonjour(network, report);
  const service: Service = bonjour.publish({
    name: options.name,
    type: MDNS_SERVICE_TYPE,
    protocol: 'tcp',
    port: options.port,
    txt: { v: '1', fp: options.fingerprint },
    disableIPv6: false,
  });
  service.on('error', report);
  let closed: Promise<void> | undefined;
  return {
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        service.removeAllListeners('error');
        bonjour.unpublishAll(() => {
          bonjour.destroy(() => {
            resolve();
          });
        });
      });
      return closed;
    },
  };
}
