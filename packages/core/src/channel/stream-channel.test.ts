import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { caught } from '../../test/caught.js';
import { byteByByte, concat } from '../../test/chunking.js';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import {
  BufferFullError,
  IncomingMessageTooLargeError,
  MalformedTransportMessageError,
  OutgoingMessageTooLargeError,
} from '../errors/channel-errors.js';
import {
  IncomingFrameTooLargeError,
  NotLanchatError,
  TruncatedFrameError,
  UnsupportedVersionError,
} from '../errors/frame-errors.js';
import { TamperedError } from '../errors/integrity-errors.js';
import {
  InvalidArgumentError,
  InvalidStateError,
  RemoteProtocolError,
} from '../errors/lanchat-error.js';
import { HandshakeTimeoutError } from '../errors/noise-errors.js';
import { PROTOCOL_VERSION, encodePreamble } from '../frame/preamble.js';
import { StreamFrameDecoder, encodeStreamFrame } from '../frame/stream-frame.js';
import type { ChannelEvent } from './channel-events.js';
import type { SecureChannelOptions } from './channel-options.js';
import { createHandshake } from './handshake-driver.js';
import { encodeHandshakeAnnouncement } from './handshake-payload.js';
import { TestingPair } from '../testing/testing-pair.js';
import { CLEAR_TAIL_CAPABILITY, MAX_CLEAR_TAIL_HEAD, StreamChannel } from './stream-channel.js';

const crypto = nodeCryptoProvider;
const text = new TextEncoder();
const clientKey = crypto.generateX25519KeyPair();
const serverKey = crypto.generateX25519KeyPair();

function makePair(
  options: Partial<SecureChannelOptions> = {},
  serverOptions: Partial<SecureChannelOptions> = {},
) {
  const client = new StreamChannel({
    initiator: true,
    now: 0,
    staticKeyPair: clientKey,
    capabilities: ['chat'],
    ...options,
  });
  const server = new StreamChannel({
    initiator: false,
    now: 0,
    staticKeyPair: serverKey,
    capabilities: ['chat', 'file-transfer'],
    ...options,
    ...serverOptions,
  });
  return { client, server };
}

function events(channel: StreamChannel): ChannelEvent[] {
  const all: ChannelEvent[] = [];
  for (let event = channel.nextEvent(); event !== undefined; event = channel.nextEvent())
    all.push(event);
  return all;
}

function messages(channel: StreamChannel): string[] {
  return events(channel).flatMap((event) =>
    event.type === 'message-received' ? [new TextDecoder().decode(event.payload)] : [],
  );
}

/** Checks that the messages among `received` are exactly `sent`, byte for byte, in order. */
function expectPayloads(received: readonly ChannelEvent[], sent: readonly Uint8Array[]): void {
  const payloads = received.flatMap((event) =>
    event.type === 'message-received' ? [event.payload] : [],
  );
  expect(payloads.length).toBe(sent.length);
  payloads.forEach((payload, index) => {
    expect(Buffer.compare(payload, sent[index]!)).toBe(0);
  });
}

/** Moves bytes both ways until neither side has anything to send. */
function pump(a: StreamChannel, b: StreamChannel, now = 0): void {
  for (let rounds = 0; rounds < 100; rounds++) {
    const fromA = a.pollTransmit(now);
    const fromB = b.pollTransmit(now);
    if (fromA === undefined && fromB === undefined) return;
    if (fromA !== undefined) b.receive(fromA, now);
    if (fromB !== undefined) a.receive(fromB, now);
  }
  throw new Error('pump: no quiescence');
}

function open() {
  const pair = makePair();
  pump(pair.client, pair.server);
  events(pair.client);
  events(pair.server);
  return pair;
}

describe('StreamChannel handshake', () => {
  it('completes XX: both sides learn the other key, version and capabilities, and agree on the hash', () => {
    const { client, server } = makePair();
    expect(client.state).toBe('handshaking');
    pump(client, server);
    const [clientDone] = events(client);
    const [serverDone] = events(server);
    expect(clientDone).toMatchObject({
      type: 'handshake-completed',
      remoteStaticKey: serverKey.publicKey,
      remoteVersion: { major: 1, minor: 0 },
      remoteCapabilities: ['chat', 'file-transfer'],
    });
    expect(serverDone).toMatchObject({
      type: 'handshake-completed',
      remoteStaticKey: clientKey.publicKey,
      remoteCapabilities: ['chat'],
    });
    expect(
      clientDone?.type === 'handshake-completed' && serverDone?.type === 'handshake-completed',
    ).toBe(true);
    if (clientDone?.type === 'handshake-completed' && serverDone?.type === 'handshake-completed') {
      expect(clientDone.handshakeHash).toEqual(serverDone.handshakeHash);
    }
    expect(client.state).toBe('open');
    expect(server.state).toBe('open');
    expect(client.pollTimeout()).toBeUndefined();
  });

  it('runs IK when the client knows the server key in advance', () => {
    const { client, server } = makePair(
      { protocolName: 'Noise_IK_25519_AESGCM_BLAKE2b', remoteStaticKey: serverKey.publicKey },
      { remoteStaticKey: undefined as never },
    );
    client.send(text.encode('early'));
    pump(client, server);
    expect(events(client)[0]).toMatchObject({ type: 'handshake-completed' });
    expect(events(server).map((event) => event.type)).toEqual([
      'handshake-completed',
      'message-received',
    ]);
  });

  it('delivers messages sent before the handshake finished, in order', () => {
    const { client, server } = makePair();
    client.send(text.encode('one'));
    client.send(text.encode('two'));
    pump(client, server);
    expect(messages(server)).toEqual(['one', 'two']);
  });

  it('works when every byte arrives on its own', () => {
    const { client, server } = makePair();
    client.send(text.encode('slowly'));
    for (let rounds = 0; rounds < 10; rounds++) {
      for (const [from, to] of [
        [client, server],
        [server, client],
      ] as const) {
        const bytes = from.pollTransmit();
        if (bytes !== undefined) for (const byte of byteByByte(bytes)) to.receive(byte, 0);
      }
    }
    expect(messages(server)).toEqual(['slowly']);
  });

  it('refuses a stranger and an incompatible version with clear errors', () => {
    const { server } = makePair();
    expect(
      NotLanchatError.isInstance(
        caught(() => server.receive(text.encode('GET / HTTP/1.1\r\n'), 0)),
      ),
    ).toBe(true);
    expect(server.state).toBe('failed');
    const other = makePair().server;
    expect(
      UnsupportedVersionError.isInstance(
        caught(() => other.receive(encodePreamble({ major: 2, minor: 0 }), 0)),
      ),
    ).toBe(true);
  });

  it('fails when the handshake does not finish in time', () => {
    const { client } = makePair({ handshakeTimeout: 5_000, now: 1_000 });
    expect(client.pollTimeout()).toBe(6_000);
    client.handleTimeout(5_999);
    expect(client.state).toBe('handshaking');
    expect(HandshakeTimeoutError.isInstance(caught(() => client.handleTimeout(6_000)))).toBe(true);
    expect(client.state).toBe('failed');
    expect(() => client.send(text.encode('x'))).toThrow(HandshakeTimeoutError);
  });

  it('checks its options', () => {
    expect(
      () =>
        new StreamChannel({
          initiator: true,
          now: 0,
          staticKeyPair: clientKey,
          capabilities: ['Bad Name'],
        }),
    ).toThrow(InvalidArgumentError);
    expect(() => new StreamChannel({ initiator: true, now: 0 })).toThrow(InvalidArgumentError);
    expect(
      () =>
        new StreamChannel({ initiator: true, now: 0, staticKeyPair: clientKey, rekeyInterval: 0 }),
    ).toThrow(InvalidArgumentError);
  });
});

describe('StreamChannel transport', () => {
  it('carries messages both ways, of any size up to the limit, split into frames as needed', () => {
    const { client, server } = open();
    const big = new Uint8Array(200_000).map((_, index) => index % 251);
    client.send(text.encode('hello'));
    client.send(big);
    client.send(new Uint8Array(0));
    server.send(text.encode('hi back'));
    pump(client, server);
    const received = events(server);
    expect(
      received.map((event) => (event.type === 'message-received' ? event.payload.length : -1)),
    ).toEqual([5, 200_000, 0]);
    expect(
      received[1]?.type === 'message-received' && Buffer.compare(received[1].payload, big) === 0,
    ).toBe(true);
    expect(messages(client)).toEqual(['hi back']);
  });

  it('packs small messages into one frame, and fills a frame to the brim when a message is large', () => {
    const { client, server } = open();
    for (let index = 0; index < 3; index++) client.send(text.encode(`small ${index}`));
    const packed = client.pollTransmit();
    // One transport message: three records of 3 + 7 bytes, the tag, the frame header.
    expect(packed?.length).toBe(4 + 3 * (3 + 7) + 16);
    expect(client.pollTransmit()).toBeUndefined();
    client.send(new Uint8Array(65_518));
    client.send(text.encode('after'));
    const large = client.pollTransmit();
    const rest = client.pollTransmit();
    // 65516 bytes of the message fill the first transport message; the last 2 share the next one
    // with "after".
    expect(large?.length).toBe(4 + 65_535);
    expect(rest?.length).toBe(4 + (3 + 2) + (3 + 5) + 16);
    expect(client.pollTransmit()).toBeUndefined();
    for (const bytes of [packed!, large!, rest!]) server.receive(bytes, 0);
    expect(
      events(server).map((event) =>
        event.type === 'message-received' ? event.payload.length : -1,
      ),
    ).toEqual([7, 7, 7, 65_518, 5]);
  });

  it('refuses a message over maxMessageLength and keeps going', () => {
    const { client, server } = makePair({ maxMessageLength: 1_000 });
    pump(client, server);
    expect(() => client.send(new Uint8Array(1_001))).toThrow(OutgoingMessageTooLargeError);
    client.send(new Uint8Array(1_000));
    pump(client, server);
    expect(events(server).at(-1)).toMatchObject({ type: 'message-received' });
  });

  it('bounds what waits for the transport and for the application', () => {
    const { client, server } = makePair({ maxBufferedBytes: 65_536 });
    pump(client, server);
    events(server);
    client.send(new Uint8Array(40_000));
    expect(caught(() => client.send(new Uint8Array(40_000)))).toMatchObject({
      name: 'BufferFullError',
      direction: 'outgoing',
    });
    server.receive(client.pollTransmit()!, 0);
    client.send(new Uint8Array(40_000));
    // The server has not taken its first message yet: it refuses to read more.
    server.receive(client.pollTransmit()!, 0);
    const full = caught(() => server.receive(new Uint8Array(1), 0));
    expect(BufferFullError.isInstance(full)).toBe(true);
    expect(server.state).toBe('open');
  });

  it('rekeys every rekeyInterval transport messages on both sides', () => {
    const { client, server } = makePair({ rekeyInterval: 3 });
    pump(client, server);
    events(server);
    // One message per pollTransmit: each its own transport message.
    for (let index = 0; index < 20; index++) {
      client.send(text.encode(`m${index}`));
      server.receive(client.pollTransmit()!, 0);
    }
    // Then batches: the interval counts transport messages, not application messages.
    for (let index = 20; index < 80; index++) {
      client.send(text.encode(`m${index}`));
      if (index % 7 === 0) pump(client, server);
    }
    pump(client, server);
    expect(messages(server)).toEqual(Array.from({ length: 80 }, (_, index) => `m${index}`));
    // A side that does not rekey at the same points cannot read the traffic.
    const mismatched = makePair({ rekeyInterval: 3 }, { rekeyInterval: 4 });
    pump(mismatched.client, mismatched.server);
    const frames = Array.from({ length: 4 }, () => {
      mismatched.client.send(text.encode('x'));
      return mismatched.client.pollTransmit()!;
    });
    expect(
      TamperedError.isInstance(
        caught(() => {
          for (const frame of frames) mismatched.server.receive(frame, 0);
        }),
      ),
    ).toBe(true);
    expect(messages(mismatched.server)).toEqual(['x', 'x', 'x']);
  });

  it('closes gracefully: close, both see a graceful channel-closed, send is refused after', () => {
    const { client, server } = open();
    client.send(text.encode('last words'));
    client.close();
    expect(() => client.send(text.encode('too late'))).toThrow(InvalidStateError);
    pump(client, server);
    expect(events(server)).toEqual([
      { type: 'message-received', payload: text.encode('last words') },
      { type: 'channel-closed', graceful: true },
    ]);
    expect(events(client)).toEqual([{ type: 'channel-closed', graceful: true }]);
    expect(server.state).toBe('closed');
    expect(client.state).toBe('closed');
  });

  it('reports a stream that ends without goodbye as not graceful, and one cut mid-frame as truncated', () => {
    const { client, server } = open();
    server.receiveEnd(0);
    expect(events(server)).toEqual([{ type: 'channel-closed', graceful: false }]);
    client.send(text.encode('cut'));
    const frame = client.pollTransmit()!;
    const other = open();
    other.server.receive(frame.subarray(0, frame.length - 1), 0);
    expect(TruncatedFrameError.isInstance(caught(() => other.server.receiveEnd(0)))).toBe(true);
  });
});

describe('StreamChannel batching', () => {
  /** The payload lengths the channel delivered. */
  function lengths(channel: StreamChannel): number[] {
    return events(channel).flatMap((event) =>
      event.type === 'message-received' ? [event.payload.length] : [],
    );
  }

  it('seals the small messages of one turn into ONE frame: one seal, one write', () => {
    const { client, server } = open();
    const sent = Array.from({ length: 100 }, (_, index) => text.encode(`message ${index}`));
    for (const payload of sent) client.send(payload);
    // Nothing is sealed before pollTransmit: the queue holds the plaintext.
    expect(client.bufferedOutgoingBytes).toBe(sent.reduce((sum, bytes) => sum + bytes.length, 0));
    const frame = client.pollTransmit();
    expect(client.pollTransmit()).toBeUndefined();
    expect(client.bufferedOutgoingBytes).toBe(0);
    expect(frame?.length).toBe(4 + sent.reduce((sum, payload) => sum + 3 + payload.length, 0) + 16);
    server.receive(frame!, 0);
    expect(messages(server)).toEqual(sent.map((payload) => new TextDecoder().decode(payload)));
  });

  it('sends messages queued during the handshake with its last message, in one write', () => {
    const { client, server } = makePair();
    client.send(text.encode('one'));
    client.send(text.encode('two'));
    client.close();
    server.receive(client.pollTransmit()!, 0);
    client.receive(server.pollTransmit()!, 0);
    expect(client.state).toBe('closing');
    // The last handshake message, then one transport message with both messages and the close.
    const write = client.pollTransmit()!;
    expect(client.pollTransmit()).toBeUndefined();
    server.receive(write, 0);
    expect(events(server).map((event) => event.type)).toEqual([
      'handshake-completed',
      'message-received',
      'message-received',
      'channel-closed',
    ]);
    expect(write.length).toBeGreaterThan(4 + 3 + 3 + 3 + 3 + 3 + 16);
  });

  it('never splits a message that fits one transport message whole: it waits for the next one', () => {
    const { client, server } = open();
    const chunk = (fill: number): Uint8Array => new Uint8Array(64_000).fill(fill);
    client.send(text.encode('a'));
    for (let index = 0; index < 3; index++) client.send(chunk(index));
    client.send(text.encode('b'));
    const frames: Uint8Array[] = [];
    for (let bytes = client.pollTransmit(); bytes !== undefined; bytes = client.pollTransmit()) {
      frames.push(bytes);
    }
    // Each 64,000-byte message in a transport message of its own (with the small ones beside
    // it), though 1,512 bytes of room were left each time.
    expect(frames.map((frame) => frame.length)).toEqual([
      4 + (3 + 1) + (3 + 64_000) + 16,
      4 + (3 + 64_000) + 16,
      4 + (3 + 64_000) + (3 + 1) + 16,
    ]);
    for (const frame of frames) server.receive(frame, 0);
    const received = events(server).flatMap((event) =>
      event.type === 'message-received' ? [event.payload] : [],
    );
    expect(received.map((payload) => payload.length)).toEqual([1, 64_000, 64_000, 64_000, 1]);
    expect(received.slice(1, 4).map((payload) => payload[0])).toEqual([0, 1, 2]);
  });

  it('carries a 200,000-byte message between small ones, sharing frames, with no frame over the limit', () => {
    const { client, server } = open();
    const big = new Uint8Array(200_000).map((_, index) => (index * 7) % 251);
    const sent = [
      text.encode('a'),
      big,
      text.encode('b'),
      new Uint8Array(0),
      big,
      text.encode('c'),
    ];
    for (const payload of sent) client.send(payload);
    const frames: Uint8Array[] = [];
    for (let bytes = client.pollTransmit(); bytes !== undefined; bytes = client.pollTransmit()) {
      frames.push(bytes);
    }
    // 400,003 payload bytes in 12 records (6 messages, each full frame ending in a fragment):
    // 6 full transport messages, and the rest in a seventh.
    expect(frames.map((frame) => frame.length)).toEqual([
      ...Array.from({ length: 6 }, () => 4 + 65_535),
      4 + (400_003 + 12 * 3 - 6 * 65_519) + 16,
    ]);
    for (const frame of frames) server.receive(frame, 0);
    const received = events(server).flatMap((event) =>
      event.type === 'message-received' ? [event.payload] : [],
    );
    expect(received.length).toBe(sent.length);
    received.forEach((payload, index) => {
      expect(Buffer.compare(payload, sent[index]!)).toBe(0);
    });
    // The caller's buffer was only read.
    expect(big.every((byte, index) => byte === (index * 7) % 251)).toBe(true);
  });

  it('hands out the frames of a long queue in writes of at most 64 KiB, uncopied', () => {
    const { client, server } = open();
    for (let index = 0; index < 5_000; index++) client.send(new Uint8Array(100).fill(index));
    let writes = 0;
    for (let bytes = client.pollTransmit(); bytes !== undefined; bytes = client.pollTransmit()) {
      expect(bytes.length).toBeLessThanOrEqual(4 + 65_535);
      server.receive(bytes, 0);
      writes++;
    }
    expect(writes).toBe(Math.ceil((5_000 * 103) / 65_519));
    expect(lengths(server)).toEqual(Array.from({ length: 5_000 }, () => 100));
  });

  it('counts queued plaintext against maxBufferedBytes, and frees it as it is sealed', () => {
    const { client, server } = makePair({ maxBufferedBytes: 65_536 });
    client.send(new Uint8Array(30_000));
    client.send(new Uint8Array(30_000));
    expect(client.bufferedOutgoingBytes).toBeGreaterThan(60_000);
    expect(BufferFullError.isInstance(caught(() => client.send(new Uint8Array(6_000))))).toBe(true);
    pump(client, server);
    expect(client.bufferedOutgoingBytes).toBe(0);
    client.send(new Uint8Array(60_000));
    pump(client, server);
    expect(lengths(server)).toEqual([30_000, 30_000, 60_000]);
  });

  it('still seals what was queued when the peer closes, before its keys are wiped', () => {
    const { client, server } = open();
    server.close();
    client.send(text.encode('crossing'));
    client.receive(server.pollTransmit()!, 0);
    expect(client.state).toBe('closed');
    expect(client.bufferedOutgoingBytes).toBeGreaterThan(0);
    pump(client, server);
    expect(messages(server)).toEqual(['crossing']);
    expect(server.state).toBe('closed');
  });

  it('clears its queues when it fails', () => {
    const { client } = open();
    client.send(new Uint8Array(1_000));
    expect(caught(() => client.receive(new Uint8Array(5).fill(0xff), 0))).toBeDefined();
    expect(client.state).toBe('failed');
    expect(client.bufferedOutgoingBytes).toBe(0);
    expect(client.pollTransmit()).toBeUndefined();
  });

  // Each run needs a fresh handshake, and a run carries up to a few MB: fewer runs than the
  // codec properties, still every layout of records the sender makes.
  it('property: any message sizes, any interleaving of send, pollTransmit and receive, any chunking: every message arrives whole, in order', () => {
    const source = new Uint8Array(crypto.randomBytes(200_000 + 251));
    const payloadOf = (index: number, size: number) =>
      source.subarray(index % 251, (index % 251) + size);
    // Sizes near a full transport message (65,516 bytes in one record) leave the next message a
    // room of a few bytes: tiny fragments, an empty message that just fits, no room at all.
    const size = fc.oneof(
      { arbitrary: fc.nat(40), weight: 4 },
      { arbitrary: fc.nat(5_000), weight: 2 },
      { arbitrary: fc.integer({ min: 65_490, max: 65_520 }), weight: 1 },
      { arbitrary: fc.nat(200_000), weight: 1 },
    );
    const step = fc.oneof(
      size.map((bytes) => ({ kind: 'send' as const, bytes })),
      fc.constant({ kind: 'poll' as const, bytes: 0 }),
      fc.oneof(fc.nat(16), fc.nat(140_000)).map((bytes) => ({ kind: 'deliver' as const, bytes })),
      fc.constant({ kind: 'server' as const, bytes: 0 }),
    );
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 40 }),
        fc.integer({ min: 1_000, max: 70_000 }),
        fc.boolean(),
        (steps, lastChunk, closeAtEnd) => {
          const { client, server } = makePair();
          const sent: Uint8Array[] = [];
          const inFlight: Uint8Array[] = [];
          /** Feeds the next `bytes` bytes in flight to the server, in one chunk. */
          const deliver = (bytes: number) => {
            const taken: Uint8Array[] = [];
            for (let wanted = bytes; wanted > 0 && inFlight.length > 0;) {
              const first = inFlight[0]!;
              taken.push(first.subarray(0, wanted));
              if (first.length > wanted) inFlight[0] = first.subarray(wanted);
              else inFlight.shift();
              wanted -= taken.at(-1)!.length;
            }
            server.receive(taken.length === 1 ? taken[0]! : concat(taken), 0);
          };
          const serverToClient = () => {
            for (let bytes = server.pollTransmit(); bytes !== undefined;) {
              client.receive(bytes, 0);
              bytes = server.pollTransmit();
            }
          };
          for (const { kind, bytes } of steps) {
            if (kind === 'send') {
              const payload = payloadOf(sent.length, bytes);
              client.send(payload);
              sent.push(payload);
            } else if (kind === 'poll') {
              const transmitted = client.pollTransmit();
              if (transmitted !== undefined) inFlight.push(transmitted);
            } else if (kind === 'deliver') {
              deliver(bytes);
            } else {
              serverToClient();
            }
          }
          if (closeAtEnd) client.close();
          for (let rounds = 0; rounds < 100; rounds++) {
            for (let bytes = client.pollTransmit(); bytes !== undefined;) {
              inFlight.push(bytes);
              bytes = client.pollTransmit();
            }
            while (inFlight.length > 0) deliver(lastChunk);
            serverToClient();
            if (client.bufferedOutgoingBytes === 0 && server.bufferedOutgoingBytes === 0) break;
          }
          const received = events(server);
          expectPayloads(received, sent);
          if (closeAtEnd) {
            expect(received.at(-1)).toEqual({ type: 'channel-closed', graceful: true });
            expect(client.state).toBe('closed');
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('StreamChannel record format', () => {
  /**
   * An open server channel whose client the test plays itself, with its own Noise handshake: the
   * test holds the transport keys, so it can seal any plaintext and read what the server sealed.
   */
  function craftingClient(
    serverOptions: Partial<SecureChannelOptions> = {},
    clientCapabilities: string[] = [],
  ) {
    const server = new StreamChannel({
      initiator: false,
      now: 0,
      staticKeyPair: serverKey,
      ...serverOptions,
    });
    const handshake = createHandshake(
      { initiator: true, now: 0, staticKeyPair: clientKey },
      ' stream',
    );
    const announcement = encodeHandshakeAnnouncement({
      version: PROTOCOL_VERSION,
      capabilities: clientCapabilities,
    });
    server.receive(
      concat([encodePreamble(), encodeStreamFrame(handshake.writeMessage(announcement))]),
      0,
    );
    const decoder = new StreamFrameDecoder();
    decoder.receive(server.pollTransmit()!.subarray(10));
    handshake.readMessage(decoder.nextFrame()!);
    server.receive(encodeStreamFrame(handshake.writeMessage()), 0);
    const { send, receive } = handshake.split();
    expect(events(server).map((event) => event.type)).toEqual(['handshake-completed']);
    return {
      server,
      /** A frame as a client would send it, with this plaintext. */
      seal: (plaintext: Uint8Array) =>
        encodeStreamFrame(send.encryptWithAd(new Uint8Array(0), plaintext)),
      /** The plaintexts of what the server wrote. */
      open: (bytes: Uint8Array) => {
        decoder.receive(bytes);
        const plaintexts: Uint8Array[] = [];
        for (let frame = decoder.nextFrame(); frame !== undefined; frame = decoder.nextFrame()) {
          plaintexts.push(receive.decryptWithAd(new Uint8Array(0), frame));
        }
        return plaintexts;
      },
    };
  }

  it('lays out two small messages as two records in one transport message (the worked example)', () => {
    const { server, open: openFrames } = craftingClient();
    server.send(text.encode('hi'));
    server.send(text.encode('yo!'));
    expect(openFrames(server.pollTransmit()!)).toEqual([
      Uint8Array.of(0x01, 0x00, 0x02, 0x68, 0x69, 0x01, 0x00, 0x03, 0x79, 0x6f, 0x21),
    ]);
    server.close();
    expect(openFrames(server.pollTransmit()!)).toEqual([Uint8Array.of(0x03, 0x00, 0x00)]);
    expect(server.pollTransmit()).toBeUndefined();
  });

  it('reads any valid layout: records of every type together, empty fragments, a close after messages', () => {
    const { server, seal } = craftingClient();
    server.receive(
      concat([
        seal(Uint8Array.of(0x01, 0x00, 0x02, 0x68, 0x69, 0x01, 0x00, 0x00, 0x02, 0x00, 0x01, 0x61)),
        seal(Uint8Array.of(0x02, 0x00, 0x00, 0x02, 0x00, 0x01, 0x62)),
        seal(Uint8Array.of(0x01, 0x00, 0x01, 0x63, 0x01, 0x00, 0x01, 0x64, 0x03, 0x00, 0x00)),
      ]),
      0,
    );
    expect(events(server)).toEqual([
      { type: 'message-received', payload: text.encode('hi') },
      { type: 'message-received', payload: new Uint8Array(0) },
      { type: 'message-received', payload: text.encode('abc') },
      { type: 'message-received', payload: text.encode('d') },
      { type: 'channel-closed', graceful: true },
    ]);
  });

  it.each([
    ['an empty transport message', [[]]],
    ['a record header cut short', [[0x01, 0x00]]],
    ['a record header cut short after a record', [[0x01, 0x00, 0x00, 0x01]]],
    ['a record whose length runs past the end', [[0x01, 0x00, 0x03, 0x61, 0x62]]],
    ['a length that runs past the end by one byte', [[0x01, 0x00, 0x02, 0x61, 0x01, 0x00, 0x01]]],
    ['type 0', [[0x00, 0x00, 0x00]]],
    ['an unknown type after a valid record', [[0x01, 0x00, 0x00, 0x04, 0x00, 0x00]]],
    ['a close with a body', [[0x03, 0x00, 0x01, 0x00]]],
    ['a record after a close', [[0x03, 0x00, 0x00, 0x01, 0x00, 0x00]]],
    ['an empty record after a close', [[0x03, 0x00, 0x00, 0x02, 0x00, 0x00]]],
    ['a close in the middle of a message', [[0x02, 0x00, 0x01, 0x61, 0x03, 0x00, 0x00]]],
    [
      'a close in the next transport message',
      [
        [0x02, 0x00, 0x01, 0x61],
        [0x03, 0x00, 0x00],
      ],
    ],
  ])('refuses %s: MalformedTransportMessageError, and fails closed', (_what, plaintexts) => {
    const { server, seal } = craftingClient();
    const error = caught(() => {
      for (const plaintext of plaintexts) server.receive(seal(Uint8Array.from(plaintext)), 0);
    });
    expect(MalformedTransportMessageError.isInstance(error)).toBe(true);
    expect(server.state).toBe('failed');
    expect(server.pollTransmit()).toBeUndefined();
  });

  it('refuses a message as soon as its fragments pass maxMessageLength', () => {
    const { server, seal } = craftingClient({ maxMessageLength: 1_000 });
    const fragment = (type: number, length: number) =>
      concat([Uint8Array.of(type, length >>> 8, length & 0xff), new Uint8Array(length)]);
    server.receive(seal(concat([fragment(0x02, 600), fragment(0x01, 400)])), 0);
    expect(messages(server)).toHaveLength(1);
    server.receive(seal(fragment(0x02, 600)), 0);
    const error = caught(() => {
      server.receive(seal(fragment(0x02, 401)), 0);
    });
    expect(IncomingMessageTooLargeError.isInstance(error)).toBe(true);
    expect(server.state).toBe('failed');
  });

  describe('clear tails', () => {
    const tailFrame = (bytes: number[]) =>
      Uint8Array.of(0x00, 0x00, bytes.length >>> 8, bytes.length & 0xff, ...bytes);
    const tailRecord = (tail: number, head: number[]) =>
      Uint8Array.of(0x04, 0x00, 4 + head.length, 0x00, 0x00, tail >>> 8, tail & 0xff, ...head);
    const both = { capabilities: [CLEAR_TAIL_CAPABILITY] };

    it('lays out a message with a clear tail: a clear-tail record ends its transport message, the tail follows as it is', () => {
      const { server, open: openFrames } = craftingClient(both, [CLEAR_TAIL_CAPABILITY]);
      const tail = Uint8Array.of(0xaa, 0xbb, 0xcc);
      server.send(text.encode('hi'));
      server.sendWithClearTail(text.encode('yo'), tail);
      server.send(text.encode('!'));
      const written: Uint8Array[] = [];
      for (let bytes = server.pollTransmit(); bytes !== undefined; bytes = server.pollTransmit()) {
        written.push(bytes);
      }
      // The sealed frame and the tail's header leave joined; the tail leaves alone, uncopied.
      expect(written[1]).toBe(tail);
      const stream = concat(written);
      const decoder = new StreamFrameDecoder();
      decoder.receive(stream);
      const frames: Uint8Array[] = [];
      for (let frame = decoder.nextFrame(); frame !== undefined; frame = decoder.nextFrame()) {
        frames.push(frame);
      }
      expect(frames).toHaveLength(3);
      expect(frames[1]).toEqual(tail);
      expect(openFrames(encodeStreamFrame(frames[0]!))).toEqual([
        concat([Uint8Array.of(0x01, 0x00, 0x02, 0x68, 0x69), tailRecord(3, [0x79, 0x6f])]),
      ]);
      // The tail took no nonce: the next transport message opens with the next one.
      expect(openFrames(encodeStreamFrame(frames[2]!))).toEqual([
        Uint8Array.of(0x01, 0x00, 0x01, 0x21),
      ]);
    });

    it('reads a clear tail, unauthenticated by the channel, and goes on with the next sealed frame', () => {
      const { server, seal } = craftingClient(both);
      server.receive(
        concat([
          seal(concat([Uint8Array.of(0x02, 0x00, 0x01, 0x61), tailRecord(2, [0x62])])),
          tailFrame([0x63, 0x64]),
          seal(Uint8Array.of(0x01, 0x00, 0x01, 0x65)),
          // A tail is the application's to authenticate: any bytes of the announced length pass.
          seal(tailRecord(1, [])),
          tailFrame([0xff]),
        ]),
        0,
      );
      expect(events(server)).toEqual([
        { type: 'message-received', payload: text.encode('abcd') },
        { type: 'message-received', payload: text.encode('e') },
        { type: 'message-received', payload: Uint8Array.of(0xff) },
      ]);
    });

    it('keeps nothing of the input: a tail read inside one chunk is copied out of it', () => {
      const { server, seal } = craftingClient(both);
      const chunk = concat([seal(tailRecord(3, [0x61])), tailFrame([0x62, 0x63, 0x64])]);
      server.receive(chunk, 0);
      // The caller reuses its buffer once receive() has returned.
      chunk.fill(0);
      expect(events(server)).toEqual([
        { type: 'message-received', payload: Uint8Array.of(0x61, 0x62, 0x63, 0x64) },
      ]);
    });

    it('reads a tail that arrives a byte at a time', () => {
      const { server, seal } = craftingClient(both);
      const tail = Array.from({ length: 300 }, (_, index) => index & 0xff);
      for (const chunk of byteByByte(concat([seal(tailRecord(300, [0x01])), tailFrame(tail)]))) {
        server.receive(chunk, 0);
      }
      expect(events(server)).toEqual([
        { type: 'message-received', payload: Uint8Array.of(0x01, ...tail) },
      ]);
    });

    it.each([
      ['a clear tail to a side that did not announce it', {}, [tailRecord(1, []), tailFrame([1])]],
      [
        'a clear-tail record before another record',
        both,
        [concat([tailRecord(1, []), Uint8Array.of(0x01, 0x00, 0x00)]), tailFrame([1])],
      ],
      [
        'a clear-tail record too short for its length',
        both,
        [Uint8Array.of(0x04, 0x00, 0x03, 0x00, 0x00, 0x01)],
      ],
      ['an empty tail', both, [tailRecord(0, [0x61])]],
      ['a tail shorter than announced', both, [tailRecord(3, []), tailFrame([1, 2])]],
    ])('refuses %s: MalformedTransportMessageError, and fails closed', (_what, options, frames) => {
      const { server, seal } = craftingClient(options);
      const error = caught(() => {
        for (const [index, frame] of frames.entries()) {
          // Every other item is sealed: a record, then the raw frame of its tail.
          server.receive(index === 0 ? seal(frame) : frame, 0);
        }
      });
      expect(MalformedTransportMessageError.isInstance(error)).toBe(true);
      expect(server.state).toBe('failed');
    });

    it('refuses a tail longer than announced as soon as its header arrives', () => {
      const { server, seal } = craftingClient(both);
      server.receive(seal(tailRecord(2, [])), 0);
      const error = caught(() => {
        server.receive(Uint8Array.of(0x00, 0x00, 0x00, 0x03), 0);
      });
      expect(IncomingFrameTooLargeError.isInstance(error)).toBe(true);
      expect(server.state).toBe('failed');
    });

    it('counts the tail against maxMessageLength before reading it', () => {
      const { server, seal } = craftingClient({ ...both, maxMessageLength: 1_000 });
      const error = caught(() => {
        server.receive(seal(tailRecord(999, [0x01, 0x02])), 0);
      });
      expect(IncomingMessageTooLargeError.isInstance(error)).toBe(true);
    });

    it('reports a stream that ends before an announced tail as truncated', () => {
      const { server, seal } = craftingClient(both);
      server.receive(seal(tailRecord(5, [])), 0);
      const error = caught(() => {
        server.receiveEnd(0);
      });
      expect(TruncatedFrameError.isInstance(error)).toBe(true);
    });
  });
});

describe('StreamChannel tampering', () => {
  /** Two open channels and three sealed frames from the client, as separate buffers. */
  function threeFrames() {
    const pair = open();
    const frames = ['first', 'second', 'third'].map((word) => {
      pair.client.send(text.encode(word));
      return pair.client.pollTransmit()!;
    });
    return { ...pair, frames };
  }

  it.each([
    [
      'a changed byte',
      (frames: Uint8Array[]) => [
        frames[0]!.map((byte, index) => (index === 10 ? byte ^ 0x40 : byte)),
      ],
    ],
    ['a dropped frame', (frames: Uint8Array[]) => [frames[0]!, frames[2]!]],
    ['reordered frames', (frames: Uint8Array[]) => [frames[1]!, frames[0]!]],
    ['a replayed frame', (frames: Uint8Array[]) => [frames[0]!, frames[0]!]],
    [
      'a truncated frame followed by the next',
      (frames: Uint8Array[]) => [
        concat([frames[0]!.subarray(0, 4), frames[0]!.subarray(5)]),
        frames[1]!,
      ],
    ],
  ])('%s fails authentication: TamperedError, and the channel fails closed', (_what, alter) => {
    const { server, frames } = threeFrames();
    const error = caught(() => {
      for (const bytes of alter(frames)) server.receive(bytes, 0);
    });
    expect(TamperedError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/tampered/);
    expect(server.state).toBe('failed');
    expect(() => server.receive(frames[2]!, 0)).toThrow(error);
  });

  // Each run needs a fresh handshake (a failed channel stays failed), so channel properties run
  // 2,000 times rather than the 10,000 of the pure codec properties.
  it('property: any single-bit flip anywhere in a sealed frame is detected, never delivered', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (payload, where) => {
        const pair = makePair();
        pump(pair.client, pair.server);
        events(pair.server);
        pair.client.send(payload);
        const sealed = pair.client.pollTransmit()!.slice();
        const bit = where % (sealed.length * 8);
        sealed[bit >>> 3]! ^= 1 << (bit & 7);
        const error = caught(() => {
          pair.server.receive(sealed, 0);
          pair.server.receiveEnd(0);
        });
        expect(RemoteProtocolError.isInstance(error)).toBe(true);
        expect(pair.server.state).toBe('failed');
        expect(events(pair.server).some((event) => event.type === 'message-received')).toBe(false);
      }),
      { numRuns: 2_000 },
    );
  });

  it('property: random payload sequences round-trip under any chunking of the stream', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 }),
        (payloads, chunkSizes) => {
          const { client, server } = makePair();
          for (const payload of payloads) client.send(payload);
          let index = 0;
          for (let rounds = 0; rounds < 20; rounds++) {
            for (const [from, to] of [
              [client, server],
              [server, client],
            ] as const) {
              const bytes = from.pollTransmit();
              if (bytes === undefined) continue;
              for (let offset = 0; offset < bytes.length; index++) {
                const size = chunkSizes[index % chunkSizes.length]!;
                to.receive(bytes.subarray(offset, offset + size), 0);
                offset += size;
              }
            }
          }
          const received = events(server).flatMap((event) =>
            event.type === 'message-received' ? [event.payload] : [],
          );
          expect(received.length).toBe(payloads.length);
          received.forEach((payload, at) => {
            expect(Buffer.compare(payload, payloads[at]!)).toBe(0);
          });
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('StreamChannel handshake properties', () => {
  it('property: garbage in place of any handshake frame gives a RemoteProtocolError, never a crash', () => {
    fc.assert(
      fc.property(
        fc.nat(2),
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.uint8Array({ maxLength: 300 }).map((bytes) => encodeStreamFrame(bytes)),
        ),
        (which, garbage) => {
          const { client, server } = makePair();
          // Let the first `which` handshake transmissions through, then replace the next one.
          let sides: [StreamChannel, StreamChannel] = [client, server];
          const error = caught(() => {
            for (let index = 0; index < 3; index++) {
              const [from, to] = sides;
              let bytes = from.pollTransmit();
              if (bytes === undefined) return;
              if (index === which) {
                // Keep the preamble (10 bytes) where it leads, so that the garbage reaches Noise.
                bytes =
                  index === 0 || (index === 1 && bytes.length > 10)
                    ? concat([bytes.subarray(0, 10), garbage])
                    : garbage;
              }
              to.receive(bytes, 0);
              sides = [to, from];
            }
          });
          if (error !== undefined) {
            expect(RemoteProtocolError.isInstance(error)).toBe(true);
          } else {
            // Nothing failed yet (the garbage is an incomplete frame): the channel must not be open.
            expect(client.state === 'open' && server.state === 'open').toBe(false);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('StreamChannel over the testing pair', () => {
  it('property: messages both ways arrive intact and in order under random chunking and latency', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 2_000 }),
        fc.array(fc.uint8Array({ maxLength: 3_000 }), { maxLength: 8 }),
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
        (seed, maxChunk, fromClient, fromServer) => {
          const { client, server } = makePair();
          const pair = new TestingPair(client, server, {
            mode: 'stream',
            seed,
            latency: { min: 0, max: 20 },
            chunking: { maxChunk },
          });
          for (const payload of fromClient) client.send(payload);
          const received = { client: [] as Uint8Array[], server: [] as Uint8Array[] };
          const collect = () => {
            for (const [channel, into] of [
              [client, received.client],
              [server, received.server],
            ] as const) {
              for (
                let event = channel.nextEvent();
                event !== undefined;
                event = channel.nextEvent()
              ) {
                if (event.type === 'message-received') into.push(event.payload);
                if (event.type === 'handshake-completed' && channel === server) {
                  for (const payload of fromServer) server.send(payload);
                }
              }
            }
          };
          pair.runUntil(() => {
            collect();
            return (
              received.server.length === fromClient.length &&
              received.client.length === fromServer.length
            );
          });
          const same = (actual: Uint8Array[], expected: Uint8Array[]) =>
            actual.length === expected.length &&
            actual.every((payload, index) => Buffer.compare(payload, expected[index]!) === 0);
          expect(same(received.server, fromClient) && same(received.client, fromServer)).toBe(true);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('fails the handshake on time when the peer never answers', () => {
    const { client, server } = makePair({ handshakeTimeout: 2_000 });
    const pair = new TestingPair(client, server, { mode: 'stream', intercept: () => undefined });
    expect(() => pair.runUntil(() => false)).toThrow(HandshakeTimeoutError);
    expect(pair.now).toBe(2_000);
  });
});

describe('StreamChannel clear tails between two channels', () => {
  function tailPair(clientTails: boolean, serverTails: boolean) {
    const pair = makePair(
      { capabilities: clientTails ? [CLEAR_TAIL_CAPABILITY] : [] },
      { capabilities: serverTails ? [CLEAR_TAIL_CAPABILITY] : [] },
    );
    pump(pair.client, pair.server);
    events(pair.client);
    events(pair.server);
    return pair;
  }

  /** Everything the client writes for the queued messages. */
  function written(channel: StreamChannel): Uint8Array {
    const all: Uint8Array[] = [];
    for (let bytes = channel.pollTransmit(); bytes !== undefined; bytes = channel.pollTransmit()) {
      all.push(bytes);
    }
    return concat(all);
  }

  const marker = new Uint8Array(64).fill(0x5a);
  const contains = (haystack: Uint8Array, needle: Uint8Array) =>
    Buffer.from(haystack).includes(Buffer.from(needle));

  it('sends the tail in the clear only to a peer that announced clear-tail, and seals it otherwise', () => {
    for (const [clientTails, serverTails, clear] of [
      [true, true, true],
      [true, false, false],
      [false, true, true],
      [false, false, false],
    ] as const) {
      // The client sends; what counts is whether the server takes tails.
      const { client, server } = tailPair(clientTails, serverTails);
      client.sendWithClearTail(text.encode('head'), marker);
      const bytes = written(client);
      expect(contains(bytes, marker)).toBe(clear);
      server.receive(bytes, 0);
      expect(events(server)).toEqual([
        { type: 'message-received', payload: concat([text.encode('head'), marker]) },
      ]);
    }
  });

  it('checks what it is given: the head, the whole, the buffer; queues a shared head twice safely', () => {
    const { client, server } = makePair(
      {
        capabilities: [CLEAR_TAIL_CAPABILITY],
        maxMessageLength: 100_000,
        maxBufferedBytes: 200_000,
      },
      {},
    );
    pump(client, server);
    events(server);
    expect(
      InvalidArgumentError.isInstance(
        caught(() => {
          client.sendWithClearTail(new Uint8Array(MAX_CLEAR_TAIL_HEAD + 1), marker);
        }),
      ),
    ).toBe(true);
    expect(
      OutgoingMessageTooLargeError.isInstance(
        caught(() => {
          client.sendWithClearTail(new Uint8Array(10), new Uint8Array(100_000 - 9));
        }),
      ),
    ).toBe(true);
    const head = text.encode('h');
    client.sendWithClearTail(head, new Uint8Array(90_000));
    client.sendWithClearTail(head, new Uint8Array(90_000));
    expect(client.bufferedOutgoingBytes).toBe(2 * (4 + 1 + 90_000));
    expect(
      BufferFullError.isInstance(
        caught(() => {
          client.sendWithClearTail(head, new Uint8Array(90_000));
        }),
      ),
    ).toBe(true);
    server.receive(written(client), 0);
    const received = events(server);
    expect(
      received.map((event) => event.type === 'message-received' && event.payload.length),
    ).toEqual([90_001, 90_001]);
    expect(client.bufferedOutgoingBytes).toBe(0);
  });

  it('property: sealed messages and messages with clear tails, any sizes, any chunking: every one arrives whole and in order, and a close comes after them', () => {
    const source = new Uint8Array(crypto.randomBytes(300_000 + 251));
    const message = fc.record({
      head: fc.oneof(fc.nat(40), fc.integer({ min: 65_400, max: MAX_CLEAR_TAIL_HEAD })),
      tail: fc.oneof(fc.constant(0), fc.nat(100), fc.nat(200_000)),
      clear: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(fc.oneof(message, fc.constant('poll' as const)), { maxLength: 24 }),
        fc.integer({ min: 1, max: 70_000 }),
        fc.boolean(),
        fc.boolean(),
        (steps, chunk, serverTails, closeAtEnd) => {
          const { client, server } = tailPair(true, serverTails);
          const sent: Uint8Array[] = [];
          const wire: Uint8Array[] = [];
          for (const step of steps) {
            if (step === 'poll') {
              const bytes = client.pollTransmit();
              if (bytes !== undefined) wire.push(bytes);
              continue;
            }
            const at = sent.length % 251;
            const head = source.subarray(at, at + step.head);
            const tail = source.subarray(at + step.head, at + step.head + step.tail);
            if (step.clear) client.sendWithClearTail(head, tail);
            else client.send(concat([head, tail]));
            sent.push(concat([head, tail]));
          }
          if (closeAtEnd) client.close();
          wire.push(written(client));
          const stream = concat(wire);
          for (let at = 0; at < stream.length; at += chunk) {
            server.receive(stream.subarray(at, at + chunk), 0);
          }
          const received = events(server);
          expectPayloads(received, sent);
          if (closeAtEnd)
            expect(received.at(-1)).toEqual({ type: 'channel-closed', graceful: true });
        },
      ),
      { numRuns: 200 },
    );
  });
});
