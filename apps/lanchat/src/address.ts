/**
 * Server addresses as users type them: `host`, `host:port`, `[ipv6]:port`, a bare IPv6 address,
 * and ports given alone (`--port`).
 *
 * @module
 */

import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import { InvalidAddressError } from './errors.js';

/** The port a lanchat server listens on unless told otherwise. */
export const DEFAULT_PORT = 9999;

/** Longest host name, in characters (RFC 1035, without the final dot): 253. */
export const MAX_HOST_NAME_LENGTH = 253;

/** A server address, normalised. */
export interface ServerAddress {
  /**
   * The host: a lower-case DNS name (IDN names in their `xn--` form, no final dot), an IPv4
   * address, or an IPv6 address in its canonical compressed form, without brackets, with its
   * `%zone` if it had one.
   */
  readonly host: string;
  /** The port, from 1 to 65535. */
  readonly port: number;
  /** What `host` is. */
  readonly family: 'name' | 'ipv4' | 'ipv6';
  /**
   * `host:port`, with an IPv6 address in brackets: the key the known-hosts file files this
   * server under. Two spellings of the same address give the same key.
   */
  readonly hostKey: string;
}

/** Options of {@link parsePort}. */
export interface ParsePortOptions {
  /**
   * Accept `0`, which a server may listen on to get any free port (never a port to connect to).
   * Default `false`.
   */
  readonly allowZero?: boolean;
}

/** The input quoted for an error message, cut short when long. */
function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/**
 * Reads a port number: decimal digits only, from 1 to 65535 (from 0 with `allowZero`).
 *
 * @throws {@link InvalidAddressError}, e.g. `invalid port "99999": a port is a number from 1 to
 * 65535`.
 */
export function parsePort(text: string, options: ParsePortOptions = {}): number {
  const allowZero = options.allowZero === true;
  const trimmed = text.trim();
  const port = /^[0-9]{1,10}$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (port >= (allowZero ? 0 : 1) && port <= 65_535) return port;
  throw new InvalidAddressError(
    text,
    allowZero
      ? `invalid port ${quote(text)}: a port is a number from 0 to 65535 (0 picks any free port)`
      : `invalid port ${quote(text)}: a port is a number from 1 to 65535`,
  );
}

/** Writes `host:port`, with an IPv6 address in brackets. */
export function formatHostKey(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${String(port)}` : `${host}:${String(port)}`;
}

/**
 * Checks a host name against RFC 1123 and returns it normalised: lower case, without a final
 * dot, an internationalised name in its ASCII (`xn--`) form.
 *
 * @throws {@link InvalidAddressError} naming the rule it breaks.
 */
export function checkHostName(name: string): string {
  const refuse = (reason: string): InvalidAddressError =>
    new InvalidAddressError(name, `invalid host name ${quote(name)}: ${reason}`);
  let ascii = name.endsWith('.') ? name.slice(0, -1) : name;
  if (ascii === '') throw refuse('it is empty');
  // eslint-disable-next-line no-control-regex -- any character outside ASCII means an IDN
  if (/[^\u0000-\u007f]/.test(ascii)) {
    const converted = domainToASCII(ascii);
    if (converted === '') throw refuse('it is not a valid internationalised domain name');
    ascii = converted;
  }
  ascii = ascii.toLowerCase();
  if (ascii.length > MAX_HOST_NAME_LENGTH) {
    throw refuse(
      `it has ${String(ascii.length)} characters; the limit is ${String(MAX_HOST_NAME_LENGTH)}`,
    );
  }
  const labels = ascii.split('.');
  for (const label of labels) {
    if (label === '') throw refuse('it has an empty label (two dots in a row, or a leading dot)');
    if (label.length > 63)
      throw refuse('a label (a part between dots) is longer than 63 characters');
    if (!/^[a-z0-9-]+$/.test(label)) {
      throw refuse('a host name holds only letters, digits, "-" and "."');
    }
    if (label.startsWith('-') || label.endsWith('-')) {
      throw refuse('a label (a part between dots) may not start or end with "-"');
    }
  }
  if (/^[0-9]+$/.test(labels.at(-1)!)) {
    throw refuse('it looks like an IPv4 address but is not one (four numbers from 0 to 255)');
  }
  return ascii;
}

/**
 * The canonical form of an IPv6 address (lower case, zeros compressed as in RFC 5952), keeping a
 * `%zone` as it was (zone names are case-sensitive), or `undefined` when it is not one.
 */
function canonicalIPv6(text: string): string | undefined {
  if (!isIPv6(text)) return undefined;
  const percent = text.indexOf('%');
  const address = percent < 0 ? text : text.slice(0, percent);
  const zone = percent < 0 ? '' : text.slice(percent);
  if (zone === '%' || /[\s[\]/]/.test(zone)) return undefined;
  let canonical: string;
  try {
    canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  return canonical + zone;
}

function serverAddress(host: string, port: number, family: ServerAddress['family']): ServerAddress {
  return { host, port, family, hostKey: formatHostKey(host, port) };
}

/**
 * Reads a server address as a user types it:
 *
 * - `host` or `host:port`, where host is a DNS name (RFC 1123) or an IPv4 address;
 * - `[ipv6]` or `[ipv6]:port`;
 * - a bare IPv6 address such as `::1` or `fe80::1%eth0` (no port: write `[::1]:9999` for one).
 *
 * Surrounding whitespace is ignored.
 *
 * @param defaultPort - The port when none is given; {@link DEFAULT_PORT} (9999) by default.
 * @throws {@link InvalidAddressError} with a message that quotes the input and says what is
 * allowed.
 */
export function parseServerAddress(
  text: string,
  defaultPort: number = DEFAULT_PORT,
): ServerAddress {
  const input = text.trim();
  const refuse = (reason: string): InvalidAddressError =>
    new InvalidAddressError(text, `invalid address ${quote(text)}: ${reason}`);
  if (input === '') throw refuse('give a host name or an IP address, and optionally :PORT');
  if (input.includes('://')) throw refuse('give HOST or HOST:PORT, not a URL');

  if (input.startsWith('[')) {
    const close = input.indexOf(']');
    if (close < 0) throw refuse('a "[" without its "]"');
    const inside = input.slice(1, close);
    const host = canonicalIPv6(inside);
    if (host === undefined) {
      throw refuse(
        isIPv4(inside) || !inside.includes(':')
          ? 'only IPv6 addresses go in brackets'
          : `${quote(inside)} is not a valid IPv6 address`,
      );
    }
    const rest = input.slice(close + 1);
    if (rest === '') return serverAddress(host, checkDefaultPort(defaultPort), 'ipv6');
    if (!rest.startsWith(':')) throw refuse('after "]" only ":PORT" may follow');
    return serverAddress(host, parsePort(rest.slice(1)), 'ipv6');
  }

  const colons = input.split(':').length - 1;
  if (colons >= 2) {
    const host = canonicalIPv6(input);
    if (host === undefined) {
      throw refuse(
        'not a valid IPv6 address (to give a port with an IPv6 address, write it in brackets: [::1]:9999)',
      );
    }
    return serverAddress(host, checkDefaultPort(defaultPort), 'ipv6');
  }

  const colon = input.indexOf(':');
  const hostPart = colon < 0 ? input : input.slice(0, colon);
  const port = colon < 0 ? checkDefaultPort(defaultPort) : parsePort(input.slice(colon + 1));
  if (hostPart === '') throw refuse('the host is missing before ":"');
  if (isIPv4(hostPart)) return serverAddress(hostPart, port, 'ipv4');
  return serverAddress(checkHostName(hostPart), port, 'name');
}

function checkDefaultPort(port: number): number {
  if (Number.isInteger(port) && port >= 1 && port <= 65_535) return port;
  throw new RangeError(`the default port must be an integer from 1 to 65535, not ${String(port)}`);
}
