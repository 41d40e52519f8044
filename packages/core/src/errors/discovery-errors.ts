/**
 * Errors of LAN discovery.
 *
 * @module
 */

import { RemoteProtocolError } from './lanchat-error.js';

/**
 * A discovery datagram (a query or a server's announcement) is not well formed: too short, a
 * field out of range, a name that is not UTF-8. Not fatal: discovery drops that datagram alone
 * and carries on, as with every datagram.
 */
export class MalformedDiscoveryMessageError extends RemoteProtocolError {
  static override readonly errorName: string = 'MalformedDiscoveryMessageError';
}
