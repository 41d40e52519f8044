import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import { OutgoingMessageTooLargeError } from '../errors/channel-errors.js';
import { InvalidArgumentError, InvalidStateError } from '../errors/lanchat-error.js';
import { HandshakeTimeoutError } from '../errors/noise-errors.js';
import { SeededRandom } from '../testing/random.js';
import { TestingPair, type TestingPairOptions } from '../testing/testing-pair.js';
import type { ChannelEvent } from './channel-events.js';
import { DatagramChannel, type DatagramChannelOptions } from './datagram-channel.js';
import { CookieChecker } from './handshake-cookies.js';

const crypto = nodeCryptoProvider;
const text = new TextEncoder();
const clientKey = crypto.generateX25519KeyPair();
const serverKey = crypto.generateX25519KeyPair();

function channels(options: Partial<DatagramChannelOptions> = {}) {
  const client = new DatagramChannel({
    initiator: true,
    now: 0,
    staticKeyPair: clientKey,
    capabilities: ['chat'],
    ...options,
  });
  const server = new DatagramChannel({
    initiator: false,
    now: 0,
    staticKeyPair: serverKey,
    ...options,
  });
  return { client, server };
}

function pairOf(
  pairOptions: Partial<TestingPairOptions> = {},
  options: Partial<DatagramChannelOptions> = {},
) {
  const { client, server } = channels(options);
  return new TestingPair(client, server, {
    mode: 'datagram',
    seed: 7,
    latency: { min: 1, max: 5 },
    ...pairOptions,
  });
}

/** Collects events as they come, so that the pair can keep running. */
function collector() {
  const seen: { client: ChannelEvent[]; server: ChannelEvent[] } = { client: [], server: [] };
  const drain = (pair: TestingPair<DatagramChannel, DatagramChannel>) => {
    for (let event = pair.a.nextEvent(); event !== undefined; event = pair.a.nextEvent())
      seen.client.push(event);
    for (let event = pair.b.nextEvent(); event !== undefined; event = pair.b.nextEvent())
      seen.server.push(event);
  };
  const messages = (events: ChannelEvent[]) =>
    events.flatMap((event) =>
      event.type === 'message-received' ? [new TextDecoder().decode(event.payload)] : [],
    );
  return { seen, drain, messages };
}

function openPair(
  pairOptions: Partial<TestingPairOptions> = {},
  options: Partial<DatagramChannelOptions> = {},
) {
  const pair = pairOf(pairOptions, options);
  pair.runUntil(() => pair.a.state === 'open' && pair.b.state === 'open', { maxTime: 30_000 });
  return pair;
}

describe('DatagramChannel handshake', () => {
  it('completes over a clean link and carries messages both ways', () => {
    const pair = pairOf();
    const { seen, drain, messages } = collector();
    pair.runUntil(() => {
      drain(pair);
      return pair.a.state === 'open' && pair.b.state === 'open';
    });
    drain(pair);
    expect(seen.client[0]).toMatchObject({
      type: 'handshake-completed',
      remoteStaticKey: serverKey.publicKey,
    });
    expect(seen.server[0]).toMatchObject({
      type: 'handshake-completed',
      remoteStaticKey: clientKey.publicKey,
      remoteCapabilities: ['chat'],
    });
    expect(pair.a.remoteIndex).toBe(pair.b.localIndex);
    expect(pair.b.remoteIndex).toBe(pair.a.localIndex);
    pair.a.send(text.encode('ping'));
    pair.b.send(text.encode('pong'));
    pair.runUntil(() => {
      drain(pair);
      return messages(seen.server).length === 1 && messages(seen.client).length === 1;
    });
    expect(messages(seen.server)).toEqual(['ping']);
    expect(messages(seen.client)).toEqual(['pong']);
  });

  it('completes despite heavy loss, by retransmitting with backoff', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const pair = openPair({ seed, loss: 0.25 });
      const retransmitted =
        pair.a.statistics.handshakeRetransmitted + pair.b.statistics.handshakeRetransmitted;
      expect(pair.a.state).toBe('open');
      expect(pair.b.state).toBe('open');
      expect(retransmitted).toBeGreaterThanOrEqual(0);
    }
    // With this seed the first messages are lost: retransmission must have happened.
    const lossy = openPair({ seed: 11, loss: 0.6 });
    expect(
      lossy.a.statistics.handshakeRetransmitted + lossy.b.statistics.handshakeRetransmitted,
    ).toBeGreaterThan(0);
  });

  it('fails with HandshakeTimeoutError when nothing gets through', () => {
    const pair = pairOf({ loss: 1 }, { handshakeTimeout: 3_000 });
    expect(() => pair.runUntil(() => false, { maxTime: 10_000 })).toThrow(HandshakeTimeoutError);
    expect(pair.a.state).toBe('failed');
    // It retried with a doubling delay: 500, 1000 (then the deadline at 3000).
    expect(pair.a.statistics.handshakeRetransmitted).toBe(2);
  });

  it('answers repeated handshake messages, but never queues more than maxBufferedBytes', () => {
    const { client, server } = channels({ maxBufferedBytes: 65_536 });
    const first = client.pollTransmit()!;
    server.receive(first, 0);
    const answer = server.pollTransmit()!;
    // The client never got the answer and repeats itself, many times, while nobody drains.
    for (let index = 0; index < 2_000; index++) server.receive(first, 0);
    let queued = 0;
    for (
      let datagram = server.pollTransmit();
      datagram !== undefined;
      datagram = server.pollTransmit()
    ) {
      expect(datagram).toEqual(answer);
      queued += datagram.length;
    }
    expect(queued).toBeLessThanOrEqual(65_536);
    expect(queued).toBeGreaterThan(65_536 - answer.length);
    expect(server.statistics.handshakeDuplicate).toBe(2_000);
  });

  it('refuses to send before the handshake and messages that do not fit a datagram', () => {
    const { client } = channels();
    expect(() => client.send(text.encode('x'))).toThrow(InvalidStateError);
    const pair = openPair();
    expect(pair.a.maxMessageLength).toBe(1200 - 33);
    expect(() => pair.a.send(new Uint8Array(1200 - 32))).toThrow(OutgoingMessageTooLargeError);
    pair.a.send(new Uint8Array(1200 - 33));
    expect(pair.a.pollTransmit()?.length).toBe(1200);
    expect(() => channels({ replayWindowSize: 512 })).toThrow(InvalidArgumentError);
  });
});

describe('DatagramChannel transport', () => {
  it('drops and counts duplicates, too-old, forged, foreign and garbage datagrams, and carries on', () => {
    const pair = openPair();
    const { seen, drain, messages } = collector();
    drain(pair);
    const sealed: Uint8Array[] = [];
    for (let index = 0; index < 1100; index++) {
      pair.a.send(text.encode(`m${index}`));
      sealed.push(pair.a.pollTransmit()!);
    }
    const server = pair.b;
    for (const datagram of sealed.slice(0, 1100)) server.receive(datagram, pair.now);
    drain(pair);
    expect(messages(seen.server)).toHaveLength(1100);

    server.receive(sealed[1099]!, pair.now); // a replay inside the window
    pair.a.send(text.encode('will be forged'));
    const forged = pair.a.pollTransmit()!;
    forged[forged.length - 1]! ^= 1;
    server.receive(forged, pair.now);
    const foreign = sealed[6]!.slice();
    foreign[4]! ^= 0xff; // another session index
    server.receive(foreign, pair.now);
    server.receive(new Uint8Array([1, 2, 3]), pair.now);
    server.receive(text.encode('GET / HTTP/1.1'), pair.now);

    // 3000 more, then the very first one again: it is now behind the 2048-packet window.
    for (let index = 0; index < 3000; index++) {
      pair.a.send(text.encode('x'));
      server.receive(pair.a.pollTransmit()!, pair.now);
    }
    server.receive(sealed[0]!, pair.now);
    drain(pair);
    expect(server.statistics).toMatchObject({
      duplicate: 1,
      forged: 1,
      unknownSession: 1,
      malformed: 2,
      tooOld: 1,
    });
    expect(server.state).toBe('open');
    expect(messages(seen.server)).toHaveLength(4100);
  });

  it('accepts reordered datagrams once, across rekey epochs', () => {
    const pair = openPair({}, { rekeyInterval: 10 });
    const { seen, drain, messages } = collector();
    drain(pair);
    const sealed = Array.from({ length: 100 }, (_, index) => {
      pair.a.send(text.encode(String(index)));
      return pair.a.pollTransmit()!;
    });
    // Reverse within blocks of 15: packets cross epoch boundaries backwards.
    const shuffled = [];
    for (let start = 0; start < sealed.length; start += 15)
      shuffled.push(...sealed.slice(start, start + 15).reverse());
    for (const datagram of [...shuffled, ...shuffled]) pair.b.receive(datagram, pair.now);
    drain(pair);
    const received = messages(seen.server).map(Number);
    expect(new Set(received).size).toBe(100);
    expect(received).toHaveLength(100);
    expect(pair.b.statistics.duplicate).toBe(100);
  });

  it('closes: the peer sees a graceful close, sending afterwards is refused', () => {
    const pair = openPair();
    const { seen, drain } = collector();
    pair.a.close();
    expect(() => pair.a.send(text.encode('x'))).toThrow(InvalidStateError);
    pair.runUntil(() => {
      drain(pair);
      return seen.server.some((event) => event.type === 'channel-closed');
    });
    expect(seen.server.at(-1)).toEqual({ type: 'channel-closed', graceful: true });
    expect(pair.b.state).toBe('closed');
  });
});

describe('DatagramChannel properties', () => {
  // Each run makes two channels and a handshake, so this runs 500 times rather than 10,000.
  it('under any seeded loss, duplication and reordering: no message altered, duplicated or invented; none lost at 0% loss', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(0, 0.05, 0.2),
        fc.constantFrom(0, 0.1),
        fc.constantFrom(0, 0.2),
        fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 30 }),
        (seed, loss, duplication, reordering, payloads) => {
          // Loss starts once the channel is open: a handshake can time out under loss (tested
          // above with fixed seeds), and a random seed must never fail this test by bad luck.
          let lossActive = false;
          const random = new SeededRandom(seed ^ 0x5bd1e995);
          const pair = openPair(
            {
              seed,
              duplication,
              reordering,
              intercept: (_direction, data) =>
                lossActive && random.chance(loss) ? undefined : data,
            },
            { rekeyInterval: 7 },
          );
          lossActive = true;
          const { seen, drain } = collector();
          drain(pair);
          const sent = new Map<string, number>();
          payloads.forEach((payload, index) => {
            const tagged = new Uint8Array([index, ...payload]);
            sent.set(Buffer.from(tagged).toString('hex'), index);
            pair.a.send(tagged);
          });
          pair.runUntilIdle();
          drain(pair);
          const received = seen.server.flatMap((event) =>
            event.type === 'message-received' ? [Buffer.from(event.payload).toString('hex')] : [],
          );
          // Nothing invented or altered, nothing twice.
          expect(received.every((message) => sent.has(message))).toBe(true);
          expect(new Set(received).size).toBe(received.length);
          if (loss === 0) expect(received.length).toBe(payloads.length);
          expect(pair.b.state).toBe('open');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('DatagramChannel handshake MACs and cookies', () => {
  it('completes with MACs on both sides, through loss', () => {
    const pair = openPair(
      { loss: 0.3, seed: 11 },
      { handshakeMacs: serverKey.publicKey, handshakeTimeout: 60_000 },
    );
    expect(pair.a.remoteIndex).toBe(pair.b.localIndex);
    expect(pair.b.remoteIndex).toBe(pair.a.localIndex);
    expect(pair.b.statistics.malformed).toBe(0);
    expect(pair.a.statistics.cookies).toBe(0);
  });

  it('a server drops handshakes keyed for another server, and the client times out', () => {
    const client = new DatagramChannel({
      initiator: true,
      now: 0,
      staticKeyPair: clientKey,
      handshakeMacs: crypto.generateX25519KeyPair().publicKey,
    });
    const server = new DatagramChannel({
      initiator: false,
      now: 0,
      staticKeyPair: serverKey,
      handshakeMacs: serverKey.publicKey,
    });
    server.receive(client.pollTransmit()!, 1);
    expect(server.statistics.malformed).toBe(1);
    expect(server.pollTransmit()).toBeUndefined();
    // Without MACs at all, the same.
    const bare = new DatagramChannel({ initiator: true, now: 0, staticKeyPair: clientKey });
    server.receive(bare.pollTransmit()!, 2);
    expect(server.statistics.malformed).toBe(2);
    expect(() => {
      client.handleTimeout(10_000);
    }).toThrow(HandshakeTimeoutError);
  });

  it('a client under a loaded server takes the cookie reply and retries with mac2 at once', () => {
    const client = new DatagramChannel({
      initiator: true,
      now: 0,
      staticKeyPair: clientKey,
      handshakeMacs: serverKey.publicKey,
    });
    const checker = new CookieChecker({ staticPublicKey: serverKey.publicKey, now: 0 });
    const first = client.pollTransmit()!;
    expect(checker.check(first, 'client', true, 1)).toBe('send-cookie');
    const senderIndex = new DataView(first.buffer, first.byteOffset).getUint32(5);
    expect(senderIndex).toBe(client.localIndex);
    // A reply for another index, or forged, is dropped.
    client.receive(checker.cookieReply(first, 'client', senderIndex + 1, 1), 2);
    expect(client.pollTransmit()).toBeUndefined();
    client.receive(checker.cookieReply(first, 'client', senderIndex, 1), 3);
    expect(client.statistics.cookies).toBe(1);
    const retry = client.pollTransmit()!;
    expect(checker.check(retry, 'client', true, 4)).toBe('accept');
    // The server's channel takes the retry (its MACs stripped after mac1 is checked).
    const server = new DatagramChannel({
      initiator: false,
      now: 4,
      staticKeyPair: serverKey,
      handshakeMacs: serverKey.publicKey,
    });
    server.receive(retry, 4);
    expect(server.pollTransmit()).toBeDefined();
    expect(server.statistics.accepted).toBe(1);
  });
});
