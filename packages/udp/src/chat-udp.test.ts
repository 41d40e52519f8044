import { createSocket } from 'node:dgram';
import { encodeDiscoveryQuery, nodeCryptoProvider } from '@lanchat/core';
import type { TcpClientEvent } from '@lanchat/tcp';
import { afterEach, describe, expect, it } from 'vitest';
import type { Events } from '@lanchat/tcp/testing';
import { udpTransport } from './chat-udp.js';
import { startLossyRelay } from './lossy-relay.js';
import { cleanups, runCleanups, serverKeys, startClient, startServer } from './test-support.js';

afterEach(runCleanups);

function client(
  port: number,
  nick: string,
  serverKey = serverKeys.publicKey,
): ReturnType<typeof startClient> {
  return startClient(port, nick, { serverKey });
}

function texts(events: Events<TcpClientEvent>, from: string): string[] {
  return events.all.flatMap((event) =>
    event.type === 'message-received' && event.from === from ? [event.text] : [],
  );
}

describe('chat over UDP', () => {
  it('logs two clients in and carries a room message between them', async () => {
    const chat = await startServer();
    const port = chat.address().port;
    const alice = client(port, 'alice');
    const bob = client(port, 'bob');
    await expect.poll(() => alice.client.online, { timeout: 10_000 }).toBe(true);
    await expect.poll(() => bob.client.online, { timeout: 10_000 }).toBe(true);
    alice.client.say('lobby', 'hello over udp');
    await expect
      .poll(() => texts(bob.events, 'alice'), { timeout: 10_000 })
      .toEqual(['hello over udp']);
    expect(chat.sessionCount).toBe(2);
  });

  it('delivers 200 lines exactly once and in order through 5% loss, duplication and reordering', async () => {
    const chat = await startServer();
    const relay = await startLossyRelay({
      target: { host: '127.0.0.1', port: chat.address().port },
      seed: 42,
      loss: 0.05,
      duplication: 0.02,
      reordering: 0.05,
    });
    cleanups.push(() => relay.close());
    const alice = client(relay.port, 'alice');
    const bob = client(relay.port, 'bob');
    await expect.poll(() => alice.client.online, { timeout: 30_000 }).toBe(true);
    await expect.poll(() => bob.client.online, { timeout: 30_000 }).toBe(true);
    const lines = Array.from({ length: 200 }, (_, index) => `line ${index}`);
    // In a few bursts, as people type: not more than a window at once.
    for (let start = 0; start < lines.length; start += 20) {
      for (const line of lines.slice(start, start + 20)) alice.client.say('lobby', line);
      await expect
        .poll(() => texts(bob.events, 'alice').length, { timeout: 10_000 })
        .toBeGreaterThanOrEqual(start + 20);
    }
    expect(texts(bob.events, 'alice')).toEqual(lines);
    expect(relay.statistics.toServer.dropped + relay.statistics.toClient.dropped).toBeGreaterThan(
      0,
    );
  });

  it('keeps a session whose client changes address, once a datagram from the new one authenticates', async () => {
    const chat = await startServer();
    const relay = await startLossyRelay({
      target: { host: '127.0.0.1', port: chat.address().port },
      seed: 3,
    });
    cleanups.push(() => relay.close());
    const alice = client(relay.port, 'alice');
    const bob = client(chat.address().port, 'bob');
    await expect.poll(() => alice.client.online, { timeout: 10_000 }).toBe(true);
    await expect.poll(() => bob.client.online, { timeout: 10_000 }).toBe(true);
    // Alice's datagrams now reach the server from another port.
    await relay.rebind();
    alice.client.say('lobby', 'from my new address');
    await expect
      .poll(() => texts(bob.events, 'alice'), { timeout: 10_000 })
      .toEqual(['from my new address']);
    expect(chat.udpStatistics.roamed).toBe(1);
    // Answers follow her: bob's reply reaches her at the new address.
    bob.client.say('lobby', 'welcome back');
    await expect
      .poll(() => texts(alice.events, 'bob'), { timeout: 10_000 })
      .toEqual(['welcome back']);
    expect(chat.sessionCount).toBe(2);
  });

  it('keeps no state for garbage, forged handshakes or unknown sessions, and carries on', async () => {
    const chat = await startServer();
    const port = chat.address().port;
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
    const send = (datagram: Uint8Array): Promise<void> =>
      new Promise((resolve) => socket.send(datagram, port, '127.0.0.1', () => resolve()));
    await send(Uint8Array.of(1, 2, 3));
    await send(encodeDiscoveryQuery('0123456789abcdef'));
    // A handshake initiation without a valid mac1.
    const forged = new Uint8Array(120);
    forged.set([0x4c, 0x43, 1, 1, 0, 0, 0, 0, 7, 0, 0, 0, 0]);
    await send(forged);
    // A transport datagram for a session that does not exist.
    await send(Uint8Array.from([0x4c, 0x43, 1, 4, 0, 0, 0, 9, ...new Uint8Array(40)]));
    await expect
      .poll(
        () =>
          chat.udpStatistics.malformed +
          chat.udpStatistics.badMac +
          chat.udpStatistics.unknownSession,
        { timeout: 10_000 },
      )
      .toBe(4);
    expect(chat.sessionCount).toBe(0);
    const alice = client(port, 'alice');
    await expect.poll(() => alice.client.online, { timeout: 10_000 }).toBe(true);
  });

  it('reports send errors instead of swallowing them, and gives up a port where nothing listens', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const closedPort = socket.address().port;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    const lonely = client(closedPort, 'lonely');
    // The kernel's "port unreachable" comes back as an error, and, the server never heard from,
    // it ends the attempt as a refused TCP connection would.
    await lonely.client.stopped;
    expect(lonely.errors).toContain('ECONNREFUSED');
    expect(lonely.events.all.at(-1)).toMatchObject({
      type: 'client-stopped',
      reason: 'could not connect',
    });
  });

  it('gets in when a server on a wildcard address answers from another local address than the one asked', async () => {
    const wildcard = await startServer({ host: '0.0.0.0' });
    // Asked at 127.0.0.2, the server's socket answers from 127.0.0.1 (the kernel picks the source
    // of a wildcard socket's datagrams): a socket connected to 127.0.0.2 would drop every answer.
    const elsewhere = startClient(wildcard.address().port, 'multi', { host: '127.0.0.2' });
    await expect.poll(() => elsewhere.client.online, { timeout: 10_000 }).toBe(true);
    elsewhere.client.say('lobby', 'heard you');
    await elsewhere.events.waitFor('message-delivered');
  });

  it('a client given another key never gets in: the server drops its handshake after one HMAC', async () => {
    const chat = await startServer();
    const stranger = nodeCryptoProvider.generateX25519KeyPair().publicKey;
    const mallory = client(chat.address().port, 'mallory', stranger);
    await expect.poll(() => chat.udpStatistics.badMac, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(chat.sessionCount).toBe(0);
    expect(mallory.client.session?.state).toBe('handshaking');
  });
});

describe('TCP and UDP on one server', () => {
  it('puts a UDP user and a TCP user in the same rooms', async () => {
    const { connectChat, listenChat } = await import('@lanchat/tcp');
    const transport = udpTransport({ host: '127.0.0.1', port: 0 });
    const both = await listenChat({
      staticKeyPair: serverKeys,
      host: '127.0.0.1',
      port: 0,
      transports: [transport],
    });
    cleanups.push(() => both.close());
    const tcpEvents: string[] = [];
    const tcp = connectChat({
      host: '127.0.0.1',
      port: both.address().port,
      login: { nick: 'tina' },
      reconnect: false,
      onEvent: (event) => {
        if (event.type === 'message-received') tcpEvents.push(`${event.from}: ${event.text}`);
      },
    });
    cleanups.push(() => tcp.bye());
    const udp = client(transport.address().port, 'ulla');
    await expect.poll(() => udp.client.online, { timeout: 10_000 }).toBe(true);
    await expect.poll(() => both.statistics.users, { timeout: 10_000 }).toBe(2);
    udp.client.say('lobby', 'hello from udp');
    await expect.poll(() => tcpEvents, { timeout: 10_000 }).toEqual(['ulla: hello from udp']);
    tcp.say('lobby', 'hello from tcp');
    await expect
      .poll(() => texts(udp.events, 'tina'), { timeout: 10_000 })
      .toEqual(['hello from tcp']);
    expect(transport.sessionCount).toBe(1);
  });
});
