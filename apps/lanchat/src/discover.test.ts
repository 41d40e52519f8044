import { stripVTControlCharacters } from 'node:util';
import type { DiscoveredServer } from '@lanchat/core';
import { describe, expect, it } from 'vitest';
import { formatServerList, hostKeyOf, reachableServers } from './discover.js';

const server = (name: string, ports: DiscoveredServer['ports'], addresses: string[]) => ({
  instance: '0011223344556677',
  name,
  publicKey: new Uint8Array(32),
  fingerprint: `SHA256:${name}`,
  ports,
  addresses,
  lastHeard: 0,
  peer: false,
});

describe('servers found by discovery', () => {
  it('keeps those that offer TCP, at the first address each answered from', () => {
    const reachable = reachableServers([
      server('a', { tcp: 9999 }, ['192.168.1.20', '127.0.0.1']),
      server('udp only', { udp: 9999 }, ['192.168.1.21']),
      server('b', { tcp: 4000, udp: 4000 }, ['192.168.1.22']),
    ]);
    expect(reachable.map((entry) => [entry.name, entry.target])).toEqual([
      ['a', '192.168.1.20:9999'],
      ['b', '192.168.1.22:4000'],
    ]);
    expect(hostKeyOf(reachable[0]!)).toBe('192.168.1.20:9999');
  });

  it('keeps peers of serverless meshes apart from servers', () => {
    const peer = { ...server('ann', { tcp: 9997 }, ['192.168.1.30']), peer: true };
    const list = [server('a', { tcp: 9999 }, ['192.168.1.20']), peer];
    expect(reachableServers(list).map((entry) => entry.name)).toEqual(['a']);
    expect(reachableServers(list, 'tcp', true).map((entry) => entry.target)).toEqual([
      '192.168.1.30:9997',
    ]);
  });

  it('lists them numbered, with the fingerprint, what known_hosts says and whether they serve UDP', () => {
    const reachable = reachableServers([
      server('a', { tcp: 9999 }, ['192.168.1.20']),
      server('b', { tcp: 9999 }, ['192.168.1.22']),
      server('c', { tcp: 9999, udp: 9999 }, ['192.168.1.23']),
      server('d', { tcp: 9999, udp: 5000 }, ['192.168.1.24']),
    ]);
    const lines = formatServerList(reachable, (entry) =>
      entry.name === 'b'
        ? { status: 'changed', pinnedFingerprint: 'SHA256:old', presentedFingerprint: 'SHA256:b' }
        : { status: entry.name === 'a' ? 'known' : 'new' },
    );
    // Colours on or off (they are on under CI): the words are what counts.
    expect(lines.map((line) => stripVTControlCharacters(line))).toEqual([
      '  1. a  192.168.1.20:9999  SHA256:a  (key pinned)',
      '  2. b  192.168.1.22:9999  SHA256:b  (KEY DIFFERS from the pinned one)',
      '  3. c  192.168.1.23:9999  SHA256:c  (new key, UDP too)',
      '  4. d  192.168.1.24:9999  SHA256:d  (new key, UDP on port 5000)',
    ]);
  });
});
