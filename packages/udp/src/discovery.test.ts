import { createSocket } from 'node:dgram';
import {
  type DiscoveredServer,
  encodeDiscoveryQuery,
  keyFingerprint,
  nodeCryptoProvider,
} from '@lanchat/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServerAnnouncer, announceServer, discoverServers } from './discovery.js';

const LOOPBACK = ['127.0.0.1'];
const announcers: ServerAnnouncer[] = [];

afterEach(async () => {
  await Promise.all(announcers.splice(0).map((announcer) => announcer.close()));
});

async function announce(
  name: string,
  port = 0,
  extra: { maxAnswersPerSecond?: number } = {},
): Promise<{ announcer: ServerAnnouncer; publicKey: Uint8Array }> {
  const { publicKey } = nodeCryptoProvider.generateX25519KeyPair();
  const announcer = await announceServer({
    name,
    publicKey,
    ports: { tcp: 9999, udp: 9999 },
    port,
    interfaces: LOOPBACK,
    ...extra,
  });
  announcers.push(announcer);
  return { announcer, publicKey };
}

/** Searches until `count` servers are found (then aborts), or 10 s pass. */
async function findServers(port: number, count: number): Promise<DiscoveredServer[]> {
  const controller = new AbortController();
  let found = 0;
  return discoverServers({
    port,
    interfaces: LOOPBACK,
    timeout: 10_000,
    signal: controller.signal,
    onServer: () => {
      if (++found >= count) controller.abort();
    },
  });
}

describe('LAN discovery on loopback', () => {
  it('finds a server: name, address, ports, key and fingerprint', async () => {
    const { announcer, publicKey } = await announce('Lab 3');
    const servers = await findServers(announcer.port, 1);
    expect(servers).toEqual([
      {
        instance: announcer.instance,
        name: 'Lab 3',
        publicKey,
        fingerprint: keyFingerprint(publicKey),
        ports: { tcp: 9999, udp: 9999 },
        addresses: ['127.0.0.1'],
        lastHeard: expect.any(Number) as number,
        peer: false,
      },
    ]);
    expect(announcer.statistics.accepted).toBeGreaterThanOrEqual(1);
  });

  it('answers with the new name once renamed', async () => {
    const { announcer } = await announce('sam');
    expect((await findServers(announcer.port, 1))[0]?.name).toBe('sam');
    announcer.rename('sam-4f2a');
    expect((await findServers(announcer.port, 1))[0]?.name).toBe('sam-4f2a');
    expect(() => {
      announcer.rename('');
    }).toThrow(/name/);
  });

  it('finds two servers sharing the discovery port of one machine', async () => {
    const first = await announce('first');
    const second = await announce('second', first.announcer.port);
    const servers = await findServers(first.announcer.port, 2);
    expect(servers.map((server) => server.name).sort()).toEqual(['first', 'second']);
    expect(new Set(servers.map((server) => server.instance))).toEqual(
      new Set([first.announcer.instance, second.announcer.instance]),
    );
  });

  it('shrugs off garbage, short queries and floods, and still answers', async () => {
    const { announcer } = await announce('sturdy', 0, { maxAnswersPerSecond: 5 });
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const answers: Buffer[] = [];
    socket.on('message', (datagram) => answers.push(datagram));
    const send = (datagram: Uint8Array): Promise<void> =>
      new Promise((resolve, reject) => {
        socket.send(datagram, announcer.port, '127.0.0.1', (error) => {
          if (error) reject(error);
          else resolve();
        });
      });
    try {
      await send(Uint8Array.of(1, 2, 3));
      await send(new Uint8Array(2000));
      await send(encodeDiscoveryQuery('0123456789abcdef').subarray(0, 40));
      for (let index = 0; index < 20; index++) await send(encodeDiscoveryQuery('0123456789abcdef'));
      await expect
        .poll(() => announcer.statistics.rateLimited, { timeout: 5000 })
        .toBeGreaterThan(0);
      await expect.poll(() => answers.length, { timeout: 5000 }).toBe(5);
      expect(announcer.statistics.malformed).toBe(3);
    } finally {
      socket.close();
    }
    // The server is still there for a real search (its rate has refilled by then, or will).
    const servers = await findServers(announcer.port, 1);
    expect(servers.map((server) => server.name)).toEqual(['sturdy']);
  });

  it('asks a named host directly, by unicast, without multicast or broadcast', async () => {
    const { announcer } = await announce('Direct');
    const controller = new AbortController();
    const servers = await discoverServers({
      port: announcer.port,
      interfaces: [],
      hosts: ['127.0.0.1'],
      timeout: 10_000,
      signal: controller.signal,
      onServer: () => {
        controller.abort();
      },
    });
    expect(servers.map((server) => [server.name, server.addresses])).toEqual([
      ['Direct', ['127.0.0.1']],
    ]);
  });

  it('stops answering once closed, and an abort ends a search at once', async () => {
    const { announcer } = await announce('closing');
    await announcer.close();
    const controller = new AbortController();
    const search = discoverServers({
      port: announcer.port,
      interfaces: LOOPBACK,
      timeout: 60_000,
      signal: controller.signal,
    });
    controller.abort();
    expect(await search).toEqual([]);
    expect(announcer.statistics.accepted).toBe(0);
  });

  it('refuses bad options before binding anything', async () => {
    await expect(
      announceServer({ name: '', publicKey: new Uint8Array(32), ports: { tcp: 1 }, port: 0 }),
    ).rejects.toThrow(/server name/);
    await expect(discoverServers({ timeout: -1 })).rejects.toThrow(RangeError);
  });
});
