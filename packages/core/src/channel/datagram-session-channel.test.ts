import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import { BufferFullError } from '../errors/channel-errors.js';
import { InvalidStateError } from '../errors/lanchat-error.js';
import { TestingPair } from '../testing/testing-pair.js';
import type { ChannelEvent } from './channel-events.js';
import { DatagramSessionChannel } from './datagram-session-channel.js';

const clientKey = nodeCryptoProvider.generateX25519KeyPair();
const serverKey = nodeCryptoProvider.generateX25519KeyPair();

function sides(now = 0) {
  const client = new DatagramSessionChannel({
    initiator: true,
    now,
    staticKeyPair: clientKey,
    handshakeMacs: serverKey.publicKey,
    handshakeTimeout: 120_000,
  });
  const server = new DatagramSessionChannel({
    initiator: false,
    now,
    staticKeyPair: serverKey,
    handshakeMacs: serverKey.publicKey,
    handshakeTimeout: 120_000,
  });
  return { client, server };
}

function take(side: DatagramSessionChannel, into: ChannelEvent[]): void {
  for (let event = side.nextEvent(); event !== undefined; event = side.nextEvent()) {
    into.push(event);
  }
}

function payloads(events: ChannelEvent[]): Uint8Array[] {
  return events.flatMap((event) => (event.type === 'message-received' ? [event.payload] : []));
}

function same(received: Uint8Array[], sent: Uint8Array[]): boolean {
  return (
    received.length === sent.length &&
    received.every((message, index) => Buffer.from(message).equals(sent[index]!))
  );
}

const messages = fc.array(
  fc.oneof(fc.uint8Array({ maxLength: 60 }), fc.uint8Array({ minLength: 1000, maxLength: 6000 })),
  { maxLength: 20 },
);

describe('DatagramSessionChannel', () => {
  it('property: through loss, duplication and reordering, the handshake completes and every message arrives once, in order, both ways', () => {
    fc.assert(
      fc.property(
        messages,
        messages,
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        fc.double({ min: 0, max: 0.1, noNaN: true }),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        (toServer, toClient, seed, loss, duplication, reordering) => {
          const { client, server } = sides();
          // Queued before the handshake: they wait for it.
          for (const message of toServer) client.send(message);
          for (const message of toClient) server.send(message);
          const pair = new TestingPair(client, server, {
            mode: 'datagram',
            seed,
            latency: { min: 1, max: 10 },
            loss,
            duplication,
            reordering,
          });
          const atClient: ChannelEvent[] = [];
          const atServer: ChannelEvent[] = [];
          pair.runUntil(
            () => {
              take(client, atClient);
              take(server, atServer);
              return (
                client.state === 'open' &&
                server.state === 'open' &&
                payloads(atServer).length === toServer.length &&
                payloads(atClient).length === toClient.length &&
                client.reliability.idle &&
                server.reliability.idle
              );
            },
            { maxTime: 600_000, maxSteps: 2_000_000 },
          );
          expect(atClient[0]?.type).toBe('handshake-completed');
          expect(atServer[0]?.type).toBe('handshake-completed');
          expect(same(payloads(atServer), toServer)).toBe(true);
          expect(same(payloads(atClient), toClient)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('closes after the peer acknowledged everything; the peer sees a graceful close', () => {
    const { client, server } = sides();
    const pair = new TestingPair(client, server, { mode: 'datagram', latency: { min: 1, max: 1 } });
    const atClient: ChannelEvent[] = [];
    const atServer: ChannelEvent[] = [];
    client.send(new TextEncoder().encode('bye'));
    client.close();
    expect(client.state).toBe('closing');
    expect(() => {
      client.send(Uint8Array.of(1));
    }).toThrow(InvalidStateError);
    pair.runUntil(() => {
      take(client, atClient);
      take(server, atServer);
      return atServer.some((event) => event.type === 'channel-closed');
    });
    expect(new TextDecoder().decode(payloads(atServer)[0])).toBe('bye');
    expect(atServer.at(-1)).toEqual({ type: 'channel-closed', graceful: true });
    expect(atClient.at(-1)).toEqual({ type: 'channel-closed', graceful: true });
    expect(client.state).toBe('closed');
  });

  it('bounds the messages waiting for the application, and takes more once they are read', () => {
    const client = new DatagramSessionChannel({
      initiator: true,
      now: 0,
      staticKeyPair: clientKey,
      handshakeMacs: serverKey.publicKey,
    });
    const server = new DatagramSessionChannel({
      initiator: false,
      now: 0,
      staticKeyPair: serverKey,
      handshakeMacs: serverKey.publicKey,
      maxBufferedBytes: 65_536,
    });
    const pair = new TestingPair(client, server, { mode: 'datagram', latency: { min: 1, max: 1 } });
    pair.runUntil(() => client.state === 'open' && server.state === 'open');
    for (let index = 0; index < 4; index++) client.send(new Uint8Array(30_000).fill(index));
    // The server reads nothing: past 64 KiB waiting, a datagram is refused.
    expect(() => {
      pair.runUntil(() => false, { maxTime: 10_000 });
    }).toThrow(BufferFullError);
    const received: ChannelEvent[] = [];
    take(server, received);
    expect(payloads(received).length).toBe(3);
    // Read, it takes the rest (the refused datagram is resent).
    pair.runUntil(() => {
      take(server, received);
      return payloads(received).length === 4;
    });
    expect(payloads(received).map((payload) => payload[0])).toEqual([0, 1, 2, 3]);
  });

  it('gives up waiting for acknowledgements after the linger, and says the close was not graceful', () => {
    const { client, server } = sides();
    const pair = new TestingPair(client, server, {
      mode: 'datagram',
      latency: { min: 1, max: 1 },
      // Once open, nothing more reaches the server.
      intercept: (direction, data) => (direction === 'a-to-b' && data[3] === 4 ? [] : data),
    });
    pair.runUntil(() => client.state === 'open' && server.state === 'open');
    client.send(Uint8Array.of(1, 2, 3));
    client.close();
    const atClient: ChannelEvent[] = [];
    pair.runUntil(() => {
      take(client, atClient);
      return client.state === 'closed';
    });
    expect(atClient.at(-1)).toEqual({ type: 'channel-closed', graceful: false });
    expect(pair.now).toBeGreaterThanOrEqual(5000);
  });
});
