import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PORT,
  type ServerAddress,
  checkHostName,
  formatHostKey,
  parsePort,
  parseServerAddress,
} from './address.js';
import { InvalidAddressError } from './errors.js';

type Expected = Pick<ServerAddress, 'host' | 'port' | 'family' | 'hostKey'>;

describe('parseServerAddress', () => {
  it.each<[string, Expected]>([
    [
      'example.com',
      { host: 'example.com', port: 9999, family: 'name', hostKey: 'example.com:9999' },
    ],
    [
      'Example.COM:4000',
      { host: 'example.com', port: 4000, family: 'name', hostKey: 'example.com:4000' },
    ],
    [
      'example.com.',
      { host: 'example.com', port: 9999, family: 'name', hostKey: 'example.com:9999' },
    ],
    ['localhost', { host: 'localhost', port: 9999, family: 'name', hostKey: 'localhost:9999' }],
    ['lab-pc-07:1', { host: 'lab-pc-07', port: 1, family: 'name', hostKey: 'lab-pc-07:1' }],
    ['  host:65535  ', { host: 'host', port: 65535, family: 'name', hostKey: 'host:65535' }],
    [
      '3com.example',
      { host: '3com.example', port: 9999, family: 'name', hostKey: '3com.example:9999' },
    ],
    [
      'bücher.example',
      {
        host: 'xn--bcher-kva.example',
        port: 9999,
        family: 'name',
        hostKey: 'xn--bcher-kva.example:9999',
      },
    ],
    [
      '192.168.1.20',
      { host: '192.168.1.20', port: 9999, family: 'ipv4', hostKey: '192.168.1.20:9999' },
    ],
    ['10.0.0.1:8080', { host: '10.0.0.1', port: 8080, family: 'ipv4', hostKey: '10.0.0.1:8080' }],
    ['::1', { host: '::1', port: 9999, family: 'ipv6', hostKey: '[::1]:9999' }],
    ['[::1]', { host: '::1', port: 9999, family: 'ipv6', hostKey: '[::1]:9999' }],
    ['[::1]:4000', { host: '::1', port: 4000, family: 'ipv6', hostKey: '[::1]:4000' }],
    ['[0:0:0:0:0:0:0:1]:4000', { host: '::1', port: 4000, family: 'ipv6', hostKey: '[::1]:4000' }],
    [
      '2001:DB8::1',
      { host: '2001:db8::1', port: 9999, family: 'ipv6', hostKey: '[2001:db8::1]:9999' },
    ],
    [
      'fe80::1%eth0',
      { host: 'fe80::1%eth0', port: 9999, family: 'ipv6', hostKey: '[fe80::1%eth0]:9999' },
    ],
    [
      '[FE80::1%Eth0]:7',
      { host: 'fe80::1%Eth0', port: 7, family: 'ipv6', hostKey: '[fe80::1%Eth0]:7' },
    ],
    [
      '::ffff:192.168.1.1',
      { host: '::ffff:c0a8:101', port: 9999, family: 'ipv6', hostKey: '[::ffff:c0a8:101]:9999' },
    ],
  ])('reads %j', (text, expected) => {
    expect(parseServerAddress(text)).toEqual(expected);
  });

  it('uses the default port given', () => {
    expect(parseServerAddress('host', 1234).port).toBe(1234);
    expect(parseServerAddress('[::1]', 1234).port).toBe(1234);
    expect(parseServerAddress('host:80', 1234).port).toBe(80);
    expect(DEFAULT_PORT).toBe(9999);
    expect(() => parseServerAddress('host', 0)).toThrow(RangeError);
  });

  it.each<[string, string]>([
    ['', 'invalid address "": give a host name or an IP address, and optionally :PORT'],
    ['   ', 'invalid address "   ": give a host name or an IP address, and optionally :PORT'],
    ['host:99999', 'invalid port "99999": a port is a number from 1 to 65535'],
    ['host:0', 'invalid port "0": a port is a number from 1 to 65535'],
    ['host:', 'invalid port "": a port is a number from 1 to 65535'],
    ['host:80a', 'invalid port "80a": a port is a number from 1 to 65535'],
    ['host:-1', 'invalid port "-1": a port is a number from 1 to 65535'],
    ['host:1e3', 'invalid port "1e3": a port is a number from 1 to 65535'],
    ['host:0x50', 'invalid port "0x50": a port is a number from 1 to 65535'],
    ['[::1]:70000', 'invalid port "70000": a port is a number from 1 to 65535'],
    [':80', 'invalid address ":80": the host is missing before ":"'],
    [
      'exa_mple.com',
      'invalid host name "exa_mple.com": a host name holds only letters, digits, "-" and "."',
    ],
    [
      'two words',
      'invalid host name "two words": a host name holds only letters, digits, "-" and "."',
    ],
    ['http://host', 'invalid address "http://host": give HOST or HOST:PORT, not a URL'],
    [
      'host/path',
      'invalid host name "host/path": a host name holds only letters, digits, "-" and "."',
    ],
    [
      '-host',
      'invalid host name "-host": a label (a part between dots) may not start or end with "-"',
    ],
    [
      'host-.com',
      'invalid host name "host-.com": a label (a part between dots) may not start or end with "-"',
    ],
    [
      'a..b',
      'invalid host name "a..b": it has an empty label (two dots in a row, or a leading dot)',
    ],
    [
      '.host',
      'invalid host name ".host": it has an empty label (two dots in a row, or a leading dot)',
    ],
    [
      `${'a'.repeat(64)}.com`,
      `invalid host name "${'a'.repeat(64)}.com": a label (a part between dots) is longer than 63 characters`,
    ],
    [
      '999.1.1.1',
      'invalid host name "999.1.1.1": it looks like an IPv4 address but is not one (four numbers from 0 to 255)',
    ],
    [
      '1.2.3',
      'invalid host name "1.2.3": it looks like an IPv4 address but is not one (four numbers from 0 to 255)',
    ],
    ['[::1', 'invalid address "[::1": a "[" without its "]"'],
    ['[::1]x', 'invalid address "[::1]x": after "]" only ":PORT" may follow'],
    ['[example.com]:80', 'invalid address "[example.com]:80": only IPv6 addresses go in brackets'],
    ['[10.0.0.1]', 'invalid address "[10.0.0.1]": only IPv6 addresses go in brackets'],
    ['[::g]', 'invalid address "[::g]": "::g" is not a valid IPv6 address'],
    [
      '::1:99999',
      'invalid address "::1:99999": not a valid IPv6 address (to give a port with an IPv6 address, write it in brackets: [::1]:9999)',
    ],
    [
      'a:b:c',
      'invalid address "a:b:c": not a valid IPv6 address (to give a port with an IPv6 address, write it in brackets: [::1]:9999)',
    ],
  ])('refuses %j', (text, message) => {
    let caught: unknown;
    try {
      parseServerAddress(text);
    } catch (error) {
      caught = error;
    }
    expect(InvalidAddressError.isInstance(caught)).toBe(true);
    expect((caught as InvalidAddressError).name).toBe('InvalidAddressError');
    expect((caught as InvalidAddressError).message).toBe(message);
  });

  it('limits host names to 253 characters', () => {
    const label = 'a'.repeat(63);
    const longest = [label, label, label, 'b'.repeat(61)].join('.');
    expect(longest).toHaveLength(253);
    expect(parseServerAddress(longest).host).toBe(longest);
    expect(() => parseServerAddress(`${longest}b`)).toThrow(
      'it has 254 characters; the limit is 253',
    );
  });

  it('cuts long input short in messages', () => {
    expect(() => parseServerAddress(`host:${'9'.repeat(500)}`)).toThrow(
      `invalid port "${'9'.repeat(80)}…": a port is a number from 1 to 65535`,
    );
  });
});

describe('parsePort', () => {
  it.each([
    ['1', 1],
    ['9999', 9999],
    ['65535', 65535],
    ['08080', 8080],
    [' 80 ', 80],
  ])('reads %j', (text, port) => {
    expect(parsePort(text)).toBe(port);
  });

  it('accepts 0 only when allowed, and says what 0 means', () => {
    expect(parsePort('0', { allowZero: true })).toBe(0);
    expect(() => parsePort('0')).toThrow('invalid port "0": a port is a number from 1 to 65535');
    expect(() => parsePort('65536', { allowZero: true })).toThrow(
      'invalid port "65536": a port is a number from 0 to 65535 (0 picks any free port)',
    );
  });

  it.each(['', '-1', '+80', '1.5', '1e3', 'eighty', '٨٠', '99999999999'])('refuses %j', (text) => {
    expect(() => parsePort(text)).toThrow(InvalidAddressError);
  });
});

describe('checkHostName and formatHostKey', () => {
  it('normalise names and keys', () => {
    expect(checkHostName('LAB.Example.')).toBe('lab.example');
    expect(formatHostKey('lab.example', 9999)).toBe('lab.example:9999');
    expect(formatHostKey('fe80::1%eth0', 9999)).toBe('[fe80::1%eth0]:9999');
    expect(() => checkHostName('')).toThrow('invalid host name "": it is empty');
    expect(() => checkHostName('.')).toThrow('invalid host name ".": it is empty');
  });
});
