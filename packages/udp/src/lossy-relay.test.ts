import { type Socket, createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { type LossyRelay, type LossyRelayOptions, startLossyRelay } from './lossy-relay.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function socketOn(port = 0): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return socket;
}

/** An echo server behind a relay, and a client in front of it. */
async function setUp(
  options: Omit<LossyRelayOptions, 'target'>,
): Promise<{ relay: LossyRelay; client: Socket; echoes: number[] }> {
  const echo = await socketOn();
  echo.on('message', (datagram, from) => echo.send(datagram, from.port, from.address));
  const relay = await startLossyRelay({
    ...options,
    target: { host: '127.0.0.1', port: echo.address().port },
  });
  cleanups.push(() => relay.close());
  const client = await socketOn();
  const echoes: number[] = [];
  client.on('message', (datagram) => echoes.push(datagram.readUInt32BE(0)));
  return { relay, client, echoes };
}

function sendNumbers(client: Socket, port: number, from: number, count: number): void {
  for (let index = from; index < from + count; index++) {
    const datagram = Buffer.alloc(4);
    datagram.writeUInt32BE(index);
    client.send(datagram, port, '127.0.0.1');
  }
}

describe('lossy relay (test support)', () => {
  it('passes everything once and in order when it is told to change nothing', async () => {
    const { relay, client, echoes } = await setUp({ seed: 1 });
    sendNumbers(client, relay.port, 0, 200);
    await expect.poll(() => echoes.length, { timeout: 10_000 }).toBe(200);
    expect(echoes).toEqual(Array.from({ length: 200 }, (_, index) => index));
  });

  it('drops, duplicates and reorders as its statistics say, both ways', async () => {
    const { relay, client, echoes } = await setUp({
      seed: 7,
      loss: 0.1,
      duplication: 0.1,
      reordering: 0.2,
    });
    const { toServer, toClient } = relay.statistics;
    // In batches, each once the relay has judged the last: a burst of hundreds would overflow a
    // socket buffer, and the kernel's own drops are not what this test counts.
    for (let batch = 0; batch < 10; batch++) {
      sendNumbers(client, relay.port, batch * 50, 50);
      await expect.poll(() => toServer.received, { timeout: 10_000 }).toBe((batch + 1) * 50);
    }
    // Every echo judged coming back, and every survivor arrived.
    await expect
      .poll(
        () => toClient.received === toServer.forwarded && echoes.length === toClient.forwarded,
        { timeout: 10_000 },
      )
      .toBe(true);
    for (const direction of [toServer, toClient]) {
      expect(direction.dropped).toBeGreaterThan(0);
      expect(direction.duplicated).toBeGreaterThan(0);
      expect(direction.reordered).toBeGreaterThan(0);
      expect(direction.forwarded).toBe(
        direction.received - direction.dropped + direction.duplicated,
      );
    }
    expect(echoes.length).toBeLessThan(500 * 4);
    expect(new Set(echoes).size).toBeLessThan(500);
    expect(echoes.some((value, index) => index > 0 && value < echoes[index - 1]!)).toBe(true);
  });
});
