import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import { MalformedSessionMessageError } from '../errors/session-errors.js';
import type { Endpoint } from '../testing/endpoint.js';
import { TestingPair } from '../testing/testing-pair.js';
import {
  ChatClient,
  type ClientEvent,
  DATAGRAM_TRANSFER_HIGH_WATER,
  TRANSFER_HIGH_WATER,
} from './chat-client.js';
import { ChatServer } from './chat-server.js';
import {
  COMPACT_SAY_KIND,
  CONTROL_MESSAGE_KIND,
  type ClientMessage,
  ROOM_BATCH_KIND,
  ROOM_MESSAGE_KIND,
  type ServerMessage,
  decodeClientMessage,
  decodeServerMessage,
  decodeServerMessages,
  encodeSessionMessage,
} from './session-messages.js';

/** The server side of one connection, as an endpoint of the testing pair. */
class ServerConnection implements Endpoint {
  readonly connection: number;

  constructor(
    readonly server: ChatServer,
    now: number,
    transport: 'stream' | 'datagram' = 'stream',
  ) {
    this.connection = server.accept(now, 'pair', 'pair', transport)!;
  }

  receive(data: Uint8Array, now: number): void {
    this.server.receive(this.connection, data, now);
  }

  pollTransmit(): Uint8Array | undefined {
    return this.server.pollTransmitFor(this.connection);
  }

  pollTimeout(): number | undefined {
    return this.server.pollTimeout();
  }

  handleTimeout(now: number): void {
    this.server.handleTimeout(now);
  }
}

/** The client, logging in with `nick` as soon as the server is identified; events collected. */
class ClientEndpoint implements Endpoint {
  readonly events: ClientEvent[] = [];

  constructor(
    readonly client: ChatClient,
    readonly nick: string,
  ) {}

  receive(data: Uint8Array, now: number): void {
    this.client.receive(data, now);
    for (
      let event = this.client.nextEvent();
      event !== undefined;
      event = this.client.nextEvent()
    ) {
      this.events.push(event);
      if (event.type === 'server-identified') this.client.login({ nick: this.nick }, now);
    }
  }

  pollTransmit(): Uint8Array | undefined {
    return this.client.pollTransmit();
  }

  pollTimeout(): number | undefined {
    return this.client.pollTimeout();
  }

  handleTimeout(now: number): void {
    this.client.handleTimeout(now);
  }
}

const serverKeyPair = nodeCryptoProvider.generateX25519KeyPair();

describe('chat session over the testing pair', () => {
  it('logs in and exchanges messages under latency and arbitrary chunking, and stays alive for an hour of virtual time', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const server = new ChatServer({ staticKeyPair: serverKeyPair });
      const endpoint = new ClientEndpoint(new ChatClient({ now: 0 }), 'alice');
      const pair = new TestingPair(endpoint, new ServerConnection(server, 0), {
        mode: 'stream',
        seed,
        latency: { min: 1, max: 40 },
        chunking: { maxChunk: 7 },
      });
      pair.runUntil(() => endpoint.client.state === 'online');
      const ids = ['one', 'two', 'three'].map((text) =>
        endpoint.client.say('lobby', text, pair.now),
      );
      pair.runUntil(
        () => endpoint.events.filter((event) => event.type === 'message-delivered').length === 3,
      );
      expect(
        endpoint.events
          .filter((event) => event.type === 'message-delivered')
          .map((event) => event.id),
      ).toEqual(ids);
      pair.runFor(60 * 60_000);
      expect(endpoint.client.state).toBe('online');
      expect(server.statistics.users).toBe(1);
    }
  });
});

describe('chat session over datagrams', () => {
  it('logs in and delivers every message exactly once and in order through 5% loss, duplication and reordering', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const server = new ChatServer({ staticKeyPair: serverKeyPair });
      const sender = new ClientEndpoint(
        new ChatClient({ now: 0, transport: 'datagram', serverKey: serverKeyPair.publicKey }),
        'alice',
      );
      const pair = new TestingPair(sender, new ServerConnection(server, 0, 'datagram'), {
        mode: 'datagram',
        seed,
        latency: { min: 1, max: 20 },
        loss: 0.05,
        duplication: 0.02,
        reordering: 0.05,
      });
      pair.runUntil(() => sender.client.state === 'online', { maxTime: 120_000 });
      const texts = Array.from({ length: 100 }, (_, index) => `line ${index}`);
      const ids = texts.map((line) => sender.client.say('lobby', line, pair.now));
      pair.runUntil(
        () =>
          sender.events.filter((event) => event.type === 'message-delivered').length ===
          texts.length,
        { maxTime: 600_000 },
      );
      expect(
        sender.events
          .filter((event) => event.type === 'message-delivered')
          .map((event) => event.id),
      ).toEqual(ids);
      expect(server.statistics.users).toBe(1);
      // Quiet for ten minutes of virtual time: keepalives hold the session.
      pair.runFor(10 * 60_000);
      expect(sender.client.state).toBe('online');
    }
  });

  it("wakes the server for its datagram connections' resends (a lost datagram is resent in about a second, not at some later deadline)", () => {
    const server = new ChatServer({ staticKeyPair: serverKeyPair });
    const endpoint = new ClientEndpoint(
      new ChatClient({ now: 0, transport: 'datagram', serverKey: serverKeyPair.publicKey }),
      'alice',
    );
    let online = false;
    let dropped = 0;
    const pair = new TestingPair(endpoint, new ServerConnection(server, 0, 'datagram'), {
      mode: 'datagram',
      latency: { min: 1, max: 1 },
      // Once logged in, the server's next data datagram is lost (acknowledgements, 39 bytes,
      // pass: the client has nothing to resend, only the server's own timer can recover).
      intercept: (direction, data) => {
        if (
          online &&
          direction === 'b-to-a' &&
          data[3] === 4 &&
          data.length > 45 &&
          dropped === 0
        ) {
          dropped++;
          return [];
        }
        return data;
      },
    });
    pair.runUntil(() => endpoint.client.state === 'online');
    online = true;
    const start = pair.now;
    const id = endpoint.client.say('lobby', 'is anyone there?', pair.now);
    pair.runUntil(
      () => endpoint.events.some((event) => event.type === 'message-delivered' && event.id === id),
      { maxTime: start + 5000 },
    );
    expect(dropped).toBe(1);
    expect(pair.now - start).toBeLessThan(2500);
  });

  it('gives a silent peer up once output waits 10 s for an acknowledgement, not after the dead or idle timeout', () => {
    const server = new ChatServer({ staticKeyPair: serverKeyPair });
    const endpoint = new ClientEndpoint(
      new ChatClient({ now: 0, transport: 'datagram', serverKey: serverKeyPair.publicKey }),
      'alice',
    );
    const serverSide = new ServerConnection(server, 0, 'datagram');
    let cut = false;
    const pair = new TestingPair(endpoint, serverSide, {
      mode: 'datagram',
      latency: { min: 1, max: 1 },
      // The path is cut both ways: a restarted server, a client gone off the network.
      intercept: (_direction, data) => (cut ? [] : data),
    });
    pair.runUntil(() => endpoint.client.state === 'online');
    expect(server.statistics.users).toBe(1);
    cut = true;
    const start = pair.now;
    endpoint.client.say('lobby', 'anyone?', pair.now);
    pair.runUntil(() => endpoint.client.state === 'closed', { maxTime: start + 60_000 });
    const events: ClientEvent[] = [];
    for (let event = endpoint.client.nextEvent(); event !== undefined;) {
      events.push(event);
      event = endpoint.client.nextEvent();
    }
    const closed = events.find((event) => event.type === 'session-closed');
    expect(closed).toMatchObject({ reason: 'timeout', graceful: false });
    expect(pair.now - start).toBeGreaterThanOrEqual(10_000);
    expect(pair.now - start).toBeLessThan(12_000);
    // The server's side: a message to the gone client waits unacknowledged, and its session ends
    // 10 s later, freeing the nickname (the idle timeout would take 90 s).
    const other = new ChatServer({ staticKeyPair: serverKeyPair });
    const bob = new ClientEndpoint(
      new ChatClient({ now: pair.now, transport: 'datagram', serverKey: serverKeyPair.publicKey }),
      'bob',
    );
    const bobPair = new TestingPair(bob, new ServerConnection(other, pair.now, 'datagram'), {
      mode: 'datagram',
      latency: { min: 1, max: 1 },
      intercept: (direction, data) => (cut && direction === 'b-to-a' ? [] : data),
      startTime: pair.now,
    });
    cut = false;
    bobPair.runUntil(() => bob.client.state === 'online');
    cut = true;
    const before = bobPair.now;
    // The server has something to deliver to him (the answer to his line), and no answer comes.
    bob.client.say('lobby', 'hello?', bobPair.now);
    bobPair.runUntil(() => other.statistics.users === 0, { maxTime: before + 60_000 });
    expect(bobPair.now - before).toBeLessThan(12_000);
  });

  it('queues less file data ahead of chat over datagrams (64 KiB) than over a stream (1 MiB)', () => {
    const server = new ChatServer({ staticKeyPair: serverKeyPair });
    const endpoint = new ClientEndpoint(
      new ChatClient({ now: 0, transport: 'datagram', serverKey: serverKeyPair.publicKey }),
      'alice',
    );
    const pair = new TestingPair(endpoint, new ServerConnection(server, 0, 'datagram'), {
      mode: 'datagram',
      latency: { min: 1, max: 1 },
    });
    pair.runUntil(() => endpoint.client.state === 'online');
    expect(endpoint.client.transferCapacity).toBe(DATAGRAM_TRANSFER_HIGH_WATER);
    expect(DATAGRAM_TRANSFER_HIGH_WATER).toBeLessThan(TRANSFER_HIGH_WATER);
  });

  it('needs the server key for a datagram session', () => {
    expect(() => new ChatClient({ now: 0, transport: 'datagram' })).toThrow(/server key/);
  });
});

const nick = fc.stringMatching(/^[a-z0-9_.-]{1,32}$/);
const text = fc.string({ minLength: 1, maxLength: 200 });
const uint = fc.nat({ max: Number.MAX_SAFE_INTEGER });

const clientMessage: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.record({
    type: fc.constant('login' as const),
    id: uint,
    nick,
    rooms: fc.array(nick, { maxLength: 3 }),
  }),
  fc.record({ type: fc.constant('say' as const), id: uint, ts: uint, room: nick, text }),
  fc.record({
    type: fc.constant('private' as const),
    id: uint,
    ts: uint,
    to: nick,
    text,
    chat: fc.boolean(),
  }),
  fc.record({ type: fc.constant('join' as const), id: uint, room: nick }),
  fc.record({
    type: fc.constant('presence' as const),
    id: uint,
    presence: fc.constantFrom('online' as const, 'away' as const, 'busy' as const),
  }),
  fc.record({ type: fc.constant('ping' as const), n: uint }),
  fc.record({ type: fc.constant('bye' as const) }),
);

const serverMessage: fc.Arbitrary<ServerMessage> = fc.oneof(
  fc.record({
    type: fc.constant('message' as const),
    id: uint,
    ts: uint,
    room: nick,
    from: nick,
    text,
  }),
  fc.record({ type: fc.constant('nack' as const), re: uint, code: nick, message: text }),
  fc.record({
    type: fc.constant('user-list' as const),
    re: uint,
    users: fc.array(
      fc.record({
        nick,
        presence: fc.constantFrom('online' as const, 'away' as const),
        rooms: fc.array(nick, { maxLength: 3 }),
      }),
      { maxLength: 5 },
    ),
  }),
  fc.record({
    type: fc.constant('user-left' as const),
    room: nick,
    nick,
    reason: fc.constantFrom('left' as const, 'bye' as const, 'too-slow' as const),
  }),
);

describe('session messages', () => {
  it('round-trip exactly (MessagePack, and the compact room message)', () => {
    fc.assert(
      fc.property(clientMessage, (message) => {
        expect(decodeClientMessage(encodeSessionMessage(message))).toEqual(message);
      }),
    );
    fc.assert(
      fc.property(serverMessage, (message) => {
        expect(decodeServerMessage(encodeSessionMessage(message))).toEqual(message);
      }),
    );
  });

  it('any bytes decode to a message or a MalformedSessionMessageError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        for (const decode of [decodeClientMessage, decodeServerMessage, decodeServerMessages]) {
          for (const kind of [
            CONTROL_MESSAGE_KIND,
            ROOM_MESSAGE_KIND,
            ROOM_BATCH_KIND,
            COMPACT_SAY_KIND,
          ]) {
            try {
              decode(Uint8Array.of(kind, ...bytes));
            } catch (error) {
              expect(MalformedSessionMessageError.isInstance(error)).toBe(true);
            }
          }
        }
      }),
    );
  });

  it('a valid message with one field of the wrong type is refused', () => {
    fc.assert(
      fc.property(
        clientMessage,
        fc.constantFrom(-1, 'x', true, null, [1], { a: 1 }, 1.5),
        (message, wrong) => {
          const fields = Object.keys(message).filter((key) => key !== 'type' && key !== 'chat');
          fc.pre(fields.length > 0);
          const field = fields[0]!;
          const original = (message as unknown as Record<string, unknown>)[field];
          fc.pre(
            typeof original !== typeof wrong ||
              (typeof wrong === 'number' && !Number.isSafeInteger(wrong)) ||
              wrong === -1,
          );
          const broken = { ...message, [field]: wrong };
          expect(() => decodeClientMessage(encodeSessionMessage(broken))).toThrow(
            MalformedSessionMessageError,
          );
        },
      ),
    );
  });
});
