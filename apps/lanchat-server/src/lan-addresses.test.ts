import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  type NetworkInterfaceMap,
  formatHostPort,
  isWildcardHost,
  lanAddresses,
} from './lan-addresses.js';

function ipv4(address: string, internal = false): NetworkInterfaceInfo {
  return {
    address,
    netmask: '255.255.255.0',
    family: 'IPv4',
    mac: '00:00:00:00:00:00',
    internal,
    cidr: `${address}/24`,
  };
}

function ipv6(address: string, scopeid = 0, internal = false): NetworkInterfaceInfo {
  return {
    address,
    netmask: 'ffff:ffff:ffff:ffff::',
    family: 'IPv6',
    mac: '00:00:00:00:00:00',
    internal,
    cidr: `${address}/64`,
    scopeid,
  };
}

const interfaces: NetworkInterfaceMap = {
  lo: [ipv4('127.0.0.1', true), ipv6('::1', 0, true)],
  eth0: [ipv4('192.168.1.20'), ipv6('fe80::a00:27ff:fe4e:66a1', 2), ipv6('2001:db8::20')],
  wlan0: [ipv4('10.0.0.5'), ipv6('fe80::1', 3)],
  down: undefined,
};

describe('lanAddresses', () => {
  it('lists every address for ::, LAN first, link-local with its interface, loopback last', () => {
    expect(lanAddresses('::', 9999, interfaces)).toEqual([
      '192.168.1.20:9999',
      '10.0.0.5:9999',
      '[2001:db8::20]:9999',
      '[fe80::a00:27ff:fe4e:66a1%eth0]:9999',
      '[fe80::1%wlan0]:9999',
      '127.0.0.1:9999',
      '[::1]:9999',
    ]);
  });

  it('lists IPv4 addresses only for 0.0.0.0', () => {
    expect(lanAddresses('0.0.0.0', 4000, interfaces)).toEqual([
      '192.168.1.20:4000',
      '10.0.0.5:4000',
      '127.0.0.1:4000',
    ]);
  });

  it('adds 127.0.0.1 when no loopback interface is listed', () => {
    expect(lanAddresses('0.0.0.0', 1, { eth0: [ipv4('192.168.1.2')] })).toEqual([
      '192.168.1.2:1',
      '127.0.0.1:1',
    ]);
    expect(lanAddresses('::', 1, {})).toEqual(['127.0.0.1:1']);
  });

  it('keeps a zone already in the address and drops duplicates', () => {
    expect(
      lanAddresses('::', 5, {
        eth0: [ipv6('fe80::2%eth0', 2), ipv4('192.168.1.2')],
        alias: [ipv4('192.168.1.2')],
      }),
    ).toEqual(['192.168.1.2:5', '[fe80::2%eth0]:5', '127.0.0.1:5']);
  });

  it('gives a specific host as it is', () => {
    expect(lanAddresses('192.168.1.20', 9999, interfaces)).toEqual(['192.168.1.20:9999']);
    expect(lanAddresses('::1', 9999, interfaces)).toEqual(['[::1]:9999']);
    expect(lanAddresses('[::1]', 9999, interfaces)).toEqual(['[::1]:9999']);
    expect(lanAddresses('localhost', 80, interfaces)).toEqual(['localhost:80']);
  });

  it('reads the real interfaces by default', () => {
    const addresses = lanAddresses('0.0.0.0', 9999);
    expect(addresses.length).toBeGreaterThan(0);
    for (const address of addresses) expect(address).toMatch(/^[0-9.]+:9999$/);
  });
});

describe('formatHostPort and isWildcardHost', () => {
  it('bracket IPv6 only', () => {
    expect(formatHostPort('10.1.2.3', 80)).toBe('10.1.2.3:80');
    expect(formatHostPort('fe80::1%eth0', 80)).toBe('[fe80::1%eth0]:80');
    expect(formatHostPort('example.com', 80)).toBe('example.com:80');
  });

  it('know the wildcards', () => {
    expect(['0.0.0.0', '::', '[::]', ''].every(isWildcardHost)).toBe(true);
    expect(['127.0.0.1', '::1', 'localhost'].some(isWildcardHost)).toBe(false);
  });
});
