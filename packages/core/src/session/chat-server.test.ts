import { describe, expect, it } from 'vitest';
import { ChatNetwork } from '../../test/chat-network.js';
import { caught } from '../../test/caught.js';
import { InvalidNameError, InvalidTextError } from '../errors/session-errors.js';
import { encodeStreamFrame } from '../frame/stream-frame.js';
import {
  COMPACT_SAY_KIND,
  CONTROL_MESSAGE_KIND,
  ROOM_BATCH_KIND,
  ROOM_MESSAGE_KIND,
  type RoomMessage,
  decodeClientMessage,
  decodeServerMessages,
  encodeSessionMessage,
} from './session-messages.js';
import { keyFingerprint } from './fingerprint.js';
import { ChatClient } from './chat-client.js';
import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { StreamChannel } from '../channel/stream-channel.js';
import {
  CHAT_CAPABILITY,
  COMPACT_SAY_CAPABILITY,
  ROOM_BATCH_CAPABILITY,
  ROOM_BATCH_TEXT_BUDGET,
} from './session-options.js';

/**
 * A client that speaks the channel but not the session rules: sends whatever payload it is given,
 * and keeps every session message it receives, raw.
 */
function rawClient(
  network: ChatNetwork,
  capabilities: readonly string[] = [CHAT_CAPABILITY],
): { connection: number; received: Uint8Array[]; send(...payloads: Uint8Array[]): void } {
  const connection = network.server.accept(network.now, '10.0.0.66')!;
  const channel = new StreamChannel({
    initiator: true,
    now: network.now,
    capabilities,
    staticKeyPair: network.clientKeyPair,
  });
  const received: Uint8Array[] = [];
  const take = (): void => {
    for (let event = channel.nextEvent(); event !== undefined; event = channel.nextEvent()) {
      if (event.type === 'message-received') received.push(event.payload.slice());
    }
  };
  // What the network's own runs take out for this connection comes here too.
  network.attach(connection, (data) => {
    if (channel.error !== undefined) return;
    channel.receive(data, network.now);
    take();
    for (let out = channel.pollTransmit(); out !== undefined; out = channel.pollTransmit()) {
      network.server.receive(connection, out, network.now);
    }
  });
  const pump = (): void => {
    for (let moved = true; moved;) {
      moved = false;
      for (let data = channel.pollTransmit(); data !== undefined; data = channel.pollTransmit()) {
        moved = true;
        network.server.receive(connection, data, network.now);
      }
      for (
        let data = network.server.pollTransmitFor(connection);
        data !== undefined;
        data = network.server.pollTransmitFor(connection)
      ) {
        moved = true;
        if (channel.error === undefined) channel.receive(data, network.now);
      }
      take();
    }
    for (
      let event = network.server.nextEvent();
      event !== undefined;
      event = network.server.nextEvent()
    ) {
      network.serverEvents.push(event);
    }
  };
  pump();
  return {
    connection,
    received,
    send(...payloads) {
      // Sent together: the server reads them in one go.
      for (const payload of payloads) channel.send(payload);
      pump();
    },
  };
}

describe('chat session: login and names', () => {
  it('logs in on an open server, joins the lobby and tells the others', () => {
    const network = new ChatNetwork();
    network.login('alice');
    const bob = network.login('bob');
    expect(bob.client.nick).toBe('bob');
    expect(bob.client.rooms).toEqual(['lobby']);
    expect(network.eventsOf('bob', 'login-succeeded')[0]).toMatchObject({
      nick: 'bob',
      accounts: false,
      lobby: 'lobby',
      rooms: ['lobby'],
      maxTextBytes: 4096,
    });
    expect(network.eventsOf('bob', 'room-joined')[0]).toEqual({
      type: 'room-joined',
      room: 'lobby',
      members: ['alice', 'bob'],
    });
    expect(network.eventsOf('alice', 'user-connected').map((event) => event.nick)).toEqual(['bob']);
    expect(network.eventsOf('alice', 'user-joined')).toEqual([
      { type: 'user-joined', room: 'lobby', nick: 'bob' },
    ]);
    expect(network.serverEventsOf('user-logged-in').map((event) => event.nick)).toEqual([
      'alice',
      'bob',
    ]);
  });

  it('reports the server key and whether login is required before any login', () => {
    const network = new ChatNetwork({ accounts: { alice: 'correct horse' } });
    const test = network.connect('alice');
    const identified = network.eventsOf('alice', 'server-identified')[0]!;
    expect(identified.serverKey).toEqual(network.serverKey);
    expect(identified.loginRequired).toBe(true);
    expect(test.client.state).toBe('identified');
  });

  it('keeps nicknames unique without regard to case, and lets the loser try again', () => {
    const network = new ChatNetwork();
    network.login('Alice');
    const second = network.connect('second');
    second.client.login({ nick: 'ALICE' }, network.now);
    network.run();
    expect(network.eventsOf('second', 'login-failed')[0]).toMatchObject({ code: 'nickname-taken' });
    expect(second.client.state).toBe('identified');
    second.client.login({ nick: 'ａｌｉｃｅ' }, network.now);
    network.run();
    expect(network.eventsOf('second', 'login-failed')[1]).toMatchObject({ code: 'nickname-taken' });
    second.client.login({ nick: 'alice2' }, network.now);
    network.run();
    expect(second.client.state).toBe('online');
  });

  it('refuses invalid nicknames on the client with a clear error, and on the server too', () => {
    const network = new ChatNetwork();
    const test = network.connect('x');
    const error = caught(() => test.client.login({ nick: 'two words' }, network.now));
    expect(InvalidNameError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(
      'invalid nickname: "two words" holds a space; use letters, digits, "_", "-" and "." only',
    );
    expect(
      (caught(() => test.client.login({ nick: 'a'.repeat(33) }, network.now)) as Error).message,
    ).toBe('invalid nickname: it has 33 characters; the limit is 32');
    // A client that skips the check meets the server's.
    network.server.receive(test.connection, new Uint8Array(0), network.now);
    expect(test.client.state).toBe('identified');
  });

  it('renames, announces it to everyone, and refuses a taken name', () => {
    const network = new ChatNetwork();
    const alice = network.login('alice');
    network.login('bob');
    alice.client.setNick('alicia', network.now);
    network.run();
    expect(alice.client.nick).toBe('alicia');
    expect(network.eventsOf('bob', 'nick-changed')).toEqual([
      { type: 'nick-changed', old: 'alice', nick: 'alicia', self: false },
    ]);
    expect(network.eventsOf('alice', 'nick-changed')[0]).toMatchObject({ self: true });
    alice.client.setNick('BOB', network.now);
    network.run();
    expect(network.eventsOf('alice', 'request-failed')[0]).toMatchObject({
      request: 'nick',
      code: 'nickname-taken',
    });
    expect(alice.client.nick).toBe('alicia');
  });
});

describe('chat session: rooms and messages', () => {
  it('creates, joins, lists and leaves rooms, with notices', () => {
    const network = new ChatNetwork();
    const alice = network.login('alice');
    const bob = network.login('bob');
    alice.client.join('#games', network.now);
    network.run();
    bob.client.join('Games', network.now);
    network.run();
    expect(bob.client.rooms).toEqual(['lobby', 'games']);
    expect(network.eventsOf('bob', 'room-joined')[1]).toMatchObject({
      room: 'games',
      members: ['alice', 'bob'],
    });
    expect(network.eventsOf('alice', 'user-joined').at(-1)).toMatchObject({
      room: 'games',
      nick: 'bob',
    });
    alice.client.listRooms(network.now);
    network.run();
    expect(network.eventsOf('alice', 'rooms-listed')[0]!.rooms).toEqual([
      { name: 'games', members: 2 },
      { name: 'lobby', members: 2 },
    ]);
    bob.client.leave('games', network.now);
    network.run();
    expect(network.eventsOf('bob', 'room-left')).toEqual([{ type: 'room-left', room: 'games' }]);
    expect(network.eventsOf('alice', 'user-left')[0]).toMatchObject({
      room: 'games',
      nick: 'bob',
      reason: 'left',
    });
    alice.client.leave('games', network.now);
    network.run();
    expect(network.serverEventsOf('room-removed')).toEqual([
      { type: 'room-removed', room: 'games' },
    ]);
  });

  it('relays a room message to the other members only, with id and timestamp, and acknowledges it', () => {
    const network = new ChatNetwork();
    const alice = network.login('alice');
    network.login('bob');
    network.login('carol');
    network.get('carol').client.leave('lobby', network.now);
    network.run();
    const id = alice.client.say('lobby', 'hello, world', network.now);
    network.run();
    expect(network.eventsOf('alice', 'message-delivered')).toEqual([
      { type: 'message-delivered', id },
    ]);
    expect(network.eventsOf('alice', 'message-received')).toEqual([]);
    const received = network.eventsOf('bob', 'message-received');
    expect(received).toEqual([
      {
        type: 'message-received',
        id: received[0]!.id,
        ts: network.now,
        room: 'lobby',
        from: 'alice',
        text: 'hello, world',
      },
    ]);
    expect(network.eventsOf('carol', 'message-received')).toEqual([]);
  });

  it('refuses a message to a room one is not in, and an over-long text, with codes', () => {
    const network = new ChatNetwork({ server: { maxTextBytes: 10 } });
    const alice = network.login('alice');
    expect(alice.client.maxTextBytes).toBe(10);
    const error = caught(() => alice.client.say('lobby', 'x'.repeat(11), network.now));
    expect(InvalidTextError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(
      'the text is 11 bytes long; the limit is 10 bytes (send a longer text as a file)',
    );
    const id = alice.client.say('elsewhere', 'hi', network.now);
    network.run();
    expect(network.eventsOf('alice', 'message-failed')).toEqual([
      {
        type: 'message-failed',
        id,
        code: 'not-in-room',
        message: 'you are not in the room elsewhere; /join it first',
      },
    ]);
    expect(
      (caught(() => alice.client.say('lobby', 'a\u001b[2Jb', network.now)) as Error).message,
    ).toBe(
      'the text holds the control character the invisible character U+001B; only newline and tab are allowed',
    );
  });

  it('delivers private messages to one user only', () => {
    const network = new ChatNetwork();
    const alice = network.login('alice');
    network.login('bob');
    network.login('carol');
    const id = alice.client.sendPrivate('BOB', 'psst', network.now);
    network.run();
    expect(network.eventsOf('bob', 'private-message-received')).toMatchObject([
      { from: 'alice', text: 'psst', chat: false },
    ]);
    expect(network.eventsOf('carol', 'private-message-received')).toEqual([]);
    expect(network.eventsOf('alice', 'message-delivered')).toEqual([
      { type: 'message-delivered', id },
    ]);
    alice.client.sendPrivate('nobody', 'hello?', network.now);
    network.run();
    expect(network.eventsOf('alice', 'message-failed')[0]).toMatchObject({ code: 'no-such-user' });
  });

  it('lists users with their presence and rooms', () => {
    const network = new ChatNetwork();
    const alice = network.login('alice');
    const bob = network.login('bob');
    bob.client.setPresence('away', network.now);
    bob.client.join('dev', network.now);
    network.run();
    expect(network.eventsOf('alice', 'presence-changed')).toEqual([
      { type: 'presence-changed', nick: 'bob', presence: 'away' },
    ]);
    alice.client.listUsers(undefined, network.now);
    alice.client.listUsers('dev', network.now);
    alice.client.listUsers('nowhere', network.now);
    network.run();
    const [all, dev] = network.eventsOf('alice', 'users-listed');
    expect(all!.users).toEqual([
      { nick: 'alice', presence: 'online', rooms: ['lobby'] },
      { nick: 'bob', presence: 'away', rooms: ['lobby', 'dev'] },
    ]);
    expect(dev).toMatchObject({ room: 'dev', users: [{ nick: 'bob' }], more: 0 });
    expect(network.eventsOf('alice', 'request-failed')[0]).toMatchObject({
      request: 'users',
      code: 'no-such-room',
    });
  });
});

describe('chat session: private chat with consent', () => {
  it('asks, accepts, chats, and ends with /end', () => {
    const network = new ChatNetwork();
    const alice = network.login('alice');
    const bob = network.login('bob');
    const early = alice.client.sendPrivate('bob', 'hi', network.now, { chat: true });
    network.run();
    expect(network.eventsOf('alice', 'message-failed')).toMatchObject([
      { id: early, code: 'chat-not-active' },
    ]);

    alice.client.requestChat('bob', network.now);
    network.run();
    expect(network.eventsOf('bob', 'chat-requested')).toEqual([
      { type: 'chat-requested', nick: 'alice' },
    ]);
    bob.client.acceptChat('alice', network.now);
    network.run();
    expect(network.eventsOf('alice', 'chat-started')).toEqual([
      { type: 'chat-started', nick: 'bob' },
    ]);
    expect(network.eventsOf('bob', 'chat-started')).toEqual([
      { type: 'chat-started', nick: 'alice' },
    ]);
    expect(alice.client.chats).toEqual(['bob']);

    alice.client.sendPrivate('bob', 'now we may talk', network.now, { chat: true });
    network.run();
    expect(network.eventsOf('bob', 'private-message-received')).toMatchObject([
      { text: 'now we may talk', chat: true },
    ]);

    bob.client.endChat('alice', network.now);
    network.run();
    expect(network.eventsOf('alice', 'chat-ended')).toEqual([
      { type: 'chat-ended', nick: 'bob', by: 'bob' },
    ]);
    expect(alice.client.chats).toEqual([]);
  });

  it('starts the chat when both ask each other, and tells a decline', () => {
    const network = new ChatNetwork();
    const alice = network.login('alice');
    const bob = network.login('bob');
    const carol = network.login('carol');
    alice.client.requestChat('bob', network.now);
    bob.client.requestChat('alice', network.now);
    network.run();
    expect(network.eventsOf('alice', 'chat-started')).toHaveLength(1);
    expect(network.eventsOf('bob', 'chat-started')).toHaveLength(1);
    carol.client.requestChat('alice', network.now);
    network.run();
    alice.client.declineChat('carol', network.now);
    network.run();
    expect(network.eventsOf('carol', 'chat-declined')).toEqual([
      { type: 'chat-declined', nick: 'alice' },
    ]);
    alice.client.acceptChat('carol', network.now);
    network.run();
    expect(network.eventsOf('alice', 'request-failed')[0]).toMatchObject({
      code: 'no-chat-request',
    });
  });

  it('ends the chat when a partner disconnects', () => {
    const network = new ChatNetwork();
    const alice = network.login('alice');
    const bob = network.login('bob');
    alice.client.requestChat('bob', network.now);
    bob.client.acceptChat('alice', network.now);
    network.run();
    bob.client.bye(network.now);
    network.run();
    expect(network.eventsOf('alice', 'chat-ended')).toEqual([
      { type: 'chat-ended', nick: 'bob', by: 'bob' },
    ]);
    expect(alice.client.chats).toEqual([]);
  });
});

describe('chat session: endings', () => {
  it('ends gracefully on bye, telling the others "bye"', () => {
    const network = new ChatNetwork({ maxChunk: 7 });
    network.login('alice');
    const bob = network.login('bob');
    bob.client.bye(network.now);
    network.run();
    expect(network.eventsOf('bob', 'session-closed')).toEqual([
      { type: 'session-closed', reason: 'bye', graceful: true, error: undefined },
    ]);
    expect(network.eventsOf('alice', 'user-left')).toMatchObject([{ nick: 'bob', reason: 'bye' }]);
    expect(network.eventsOf('alice', 'user-disconnected')).toMatchObject([
      { nick: 'bob', reason: 'bye' },
    ]);
    expect(network.serverEventsOf('connection-ending')).toMatchObject([
      { reason: 'bye', graceful: true },
    ]);
    expect(network.server.statistics).toMatchObject({ connections: 1, users: 1 });
  });

  it('reports a dropped connection as "disconnected" and fails its unanswered messages', () => {
    const network = new ChatNetwork();
    network.login('alice');
    const bob = network.login('bob');
    const id = bob.client.say('lobby', 'lost', network.now);
    network.drop('bob');
    expect(network.eventsOf('bob', 'message-failed')).toMatchObject([
      { id, code: 'session-closed' },
    ]);
    expect(network.eventsOf('bob', 'session-closed')).toMatchObject([
      { reason: 'connection-lost', graceful: false },
    ]);
    expect(network.eventsOf('alice', 'user-disconnected')).toMatchObject([
      { nick: 'bob', reason: 'disconnected' },
    ]);
  });

  it('tells every client about a shutdown, then ends each session gracefully', () => {
    const network = new ChatNetwork();
    network.login('alice');
    network.login('bob');
    network.server.shutdown('maintenance, back in 5 minutes', network.now);
    network.run();
    for (const name of ['alice', 'bob']) {
      expect(network.eventsOf(name, 'server-shutdown')).toEqual([
        { type: 'server-shutdown', message: 'maintenance, back in 5 minutes' },
      ]);
      expect(network.eventsOf(name, 'session-closed')).toMatchObject([{ reason: 'shutdown' }]);
    }
    expect(network.server.accept(network.now)).toBeUndefined();
    network.run();
    expect(network.serverEventsOf('connection-refused')).toMatchObject([
      { reason: 'shutting-down' },
    ]);
  });
});

describe('chat session: timers', () => {
  it('keeps an idle session alive with pings', () => {
    const network = new ChatNetwork();
    network.login('alice');
    network.advance(10 * 60_000);
    expect(network.get('alice').client.state).toBe('online');
    expect(network.serverEventsOf('connection-ending')).toEqual([]);
  });

  it('ends a connection that sends nothing within the idle timeout', () => {
    const network = new ChatNetwork();
    const alice = network.login('alice', {});
    // A client with keepalive slower than the server's idle timeout is a silent client.
    const silent = network.connect('silent', {
      keepaliveInterval: 10 * 60_000,
      deadTimeout: 20 * 60_000,
    });
    silent.client.login({ nick: 'silent' }, network.now);
    network.run();
    network.advance(91_000);
    expect(network.eventsOf('silent', 'server-error')).toMatchObject([{ code: 'idle-timeout' }]);
    expect(network.eventsOf('silent', 'session-closed')).toMatchObject([{ reason: 'server-bye' }]);
    expect(network.eventsOf('alice', 'user-disconnected')).toMatchObject([
      { nick: 'silent', reason: 'timeout' },
    ]);
    expect(alice.client.state).toBe('online');
  });

  it('ends a connection that never finishes its handshake, or never logs in', () => {
    const network = new ChatNetwork();
    const stranger = network.server.accept(network.now, '10.9.9.9')!;
    const lazy = network.connect('lazy');
    network.advance(10_000);
    expect(network.serverEventsOf('connection-ending')).toMatchObject([
      { connection: stranger, reason: 'handshake-timeout', graceful: false },
    ]);
    network.advance(20_000);
    expect(network.serverEventsOf('connection-ending')[1]).toMatchObject({
      connection: lazy.connection,
      reason: 'login-timeout',
    });
    expect(network.eventsOf('lazy', 'server-error')).toMatchObject([{ code: 'login-timeout' }]);
  });

  it('ends an idle session on time when the idle timeout is shorter than the login timeout', () => {
    const network = new ChatNetwork({ server: { idleTimeout: 5_000, loginTimeout: 30_000 } });
    const start = network.now;
    const silent = network.connect('silent', { keepaliveInterval: 60_000, deadTimeout: 120_000 });
    silent.client.login({ nick: 'silent' }, network.now);
    network.run();
    // The bound pollTimeout() gives must follow the session into its shorter idle deadline.
    expect(network.server.pollTimeout()).toBeLessThanOrEqual(start + 5_000);
    network.advance(5_000);
    expect(network.serverEventsOf('connection-ending')).toMatchObject([
      { connection: silent.connection, reason: 'idle-timeout' },
    ]);
    expect(network.server.pollTimeout()).toBeUndefined();
  });

  it('finds nothing due when a session was heard from since, and moves to its next deadline', () => {
    const network = new ChatNetwork();
    const alice = network.login('alice', {});
    const first = network.server.pollTimeout()!;
    network.now += 5_000;
    const spoke = network.now;
    alice.client.say('lobby', 'still here', network.now);
    network.run();
    // A bound, possibly early: the idle deadline moved on with the message.
    expect(network.server.pollTimeout()).toBe(first);
    network.now = first;
    network.server.handleTimeout(network.now);
    expect(alice.client.state).toBe('online');
    expect(network.server.pollTimeout()).toBe(spoke + 90_000);
  });

  it('gives up a server that stops answering', () => {
    const network = new ChatNetwork();
    const alice = network.login('alice');
    network.server.setWritable(alice.connection, false);
    network.advance(80_000);
    expect(network.eventsOf('alice', 'session-closed')).toMatchObject([
      { reason: 'timeout', graceful: false },
    ]);
  });
});

describe('chat session: accounts', () => {
  it('logs in with the right password, nickname defaulting to the username', () => {
    const network = new ChatNetwork({ accounts: { alice: 'correct horse' } });
    const alice = network.connect('alice');
    alice.client.login({ user: 'alice', password: 'correct horse' }, network.now);
    network.run();
    expect(network.eventsOf('alice', 'login-succeeded')[0]).toMatchObject({
      nick: 'alice',
      user: 'alice',
      accounts: true,
    });
    const requested = network.serverEventsOf('login-requested')[0]!;
    expect(JSON.stringify(requested)).not.toContain('correct horse');
    expect(String(requested.password)).toBe('[redacted]');
  });

  it('refuses a login without credentials or with a wrong password, then rate-limits', () => {
    const network = new ChatNetwork({ accounts: { alice: 'correct horse' } });
    const attacker = network.connect('attacker');
    attacker.client.login({ nick: 'alice' }, network.now);
    network.run();
    expect(network.eventsOf('attacker', 'login-failed')[0]).toMatchObject({
      code: 'login-required',
    });
    for (let attempt = 0; attempt < 4; attempt++) {
      attacker.client.login({ user: 'alice', password: `guess ${attempt}` }, network.now);
      network.run();
    }
    const failures = network.eventsOf('attacker', 'login-failed').slice(1);
    expect(failures.map((failure) => failure.code)).toEqual(Array(4).fill('bad-credentials'));
    expect(failures[3]!.retryAfter).toBe(1000);
    attacker.client.login({ user: 'alice', password: 'correct horse' }, network.now);
    network.run();
    expect(network.eventsOf('attacker', 'login-failed')[5]).toMatchObject({
      code: 'rate-limited',
      retryAfter: 1000,
    });
    expect(network.serverEventsOf('login-requested')).toHaveLength(4);
    network.advance(1000);
    attacker.client.login({ user: 'alice', password: 'correct horse' }, network.now);
    network.run();
    expect(attacker.client.state).toBe('online');
  });
});

describe('chat session: rate limits per host', () => {
  it('counts failed logins per host as well as per account', () => {
    const network = new ChatNetwork({
      accounts: { alice: 'correct horse', bob: 'battery staple' },
    });
    const attacker = network.connect('attacker');
    for (let attempt = 0; attempt < 4; attempt++) {
      attacker.client.login({ user: 'alice', password: `guess ${attempt}` }, network.now);
      network.run();
    }
    // Another account from the same host: refused while the host waits.
    attacker.client.login({ user: 'bob', password: 'battery staple' }, network.now);
    network.run();
    expect(network.eventsOf('attacker', 'login-failed').at(-1)).toMatchObject({
      code: 'rate-limited',
    });
  });
});

describe('chat session: hostile and slow clients', () => {
  it('fails a connection that sends a malformed message; the others carry on', () => {
    const network = new ChatNetwork();
    network.login('alice');
    const cases: [Uint8Array, string][] = [
      [encodeSessionMessage({ type: 'rooms', id: 1, extra: 1 } as never), 'unknown field "extra"'],
      [
        encodeSessionMessage({ type: 'say', id: 1, ts: -5, room: 'lobby', text: 'x' } as never),
        'ts must be',
      ],
      [encodeSessionMessage({ type: 'launch', id: 1 } as never), 'unknown type "launch"'],
      [Uint8Array.of(0, 0xc1), 'not valid MessagePack'],
      [Uint8Array.of(9, 0x80), 'unknown kind 9'],
    ];
    for (const [payload, reason] of cases) {
      const raw = rawClient(network);
      raw.send(payload);
      const failed = network.serverEventsOf('connection-failed').at(-1)!;
      expect(failed.connection).toBe(raw.connection);
      expect(failed.error.name).toBe('MalformedSessionMessageError');
      expect(failed.error.message).toContain(reason);
    }
    network.get('alice').client.say('lobby', 'still here', network.now);
    network.run();
    expect(network.eventsOf('alice', 'message-delivered')).toHaveLength(1);
    expect(network.server.statistics).toMatchObject({ users: 1, protocolErrors: cases.length });
  });

  it('answers an HTTP request with a plain-text 400 and keeps serving', () => {
    const network = new ChatNetwork();
    const stranger = network.server.accept(network.now, '10.0.0.99')!;
    network.server.receive(
      stranger,
      new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      network.now,
    );
    const reply = new TextDecoder().decode(network.server.pollTransmitFor(stranger));
    // The answer is all the stranger gets: no lanchat preamble before it.
    expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(network.server.pollTransmitFor(stranger)).toBeUndefined();
    expect(reply).toContain('lanchat connect HOST[:PORT]');
    expect(network.server.nextEvent()).toMatchObject({
      type: 'connection-failed',
      connection: stranger,
    });
    expect(network.server.nextEvent()).toMatchObject({
      type: 'connection-ending',
      graceful: true,
      reason: 'protocol-error',
    });
    network.server.connectionClosed(stranger, network.now);
    network.login('alice');
    expect(network.server.statistics.users).toBe(1);
  });

  it('fails a connection that sends garbage frames; the others carry on', () => {
    const network = new ChatNetwork();
    const alice = network.login('alice');
    const bob = network.login('bob');
    network.server.receive(
      bob.connection,
      encodeStreamFrame(new Uint8Array(40).fill(7)),
      network.now,
    );
    network.run();
    expect(network.serverEventsOf('connection-failed')[0]!.error.name).toBe('TamperedError');
    expect(network.eventsOf('alice', 'user-disconnected')).toMatchObject([
      { nick: 'bob', reason: 'disconnected' },
    ]);
    alice.client.say('lobby', 'still here', network.now);
    network.run();
    expect(network.eventsOf('alice', 'message-delivered')).toHaveLength(1);
  });

  it('drops a client that stops reading once its backlog passes the bound; others are unaffected', () => {
    const network = new ChatNetwork({ server: { maxBacklogBytes: 65_536 } });
    const alice = network.login('alice');
    const bob = network.login('bob');
    const stuck = network.login('stuck');
    network.server.setWritable(stuck.connection, false);
    const text = 'x'.repeat(1000);
    for (let index = 0; index < 200; index++) {
      alice.client.say('lobby', text, network.now);
      network.run();
    }
    expect(network.serverEventsOf('connection-ending')).toMatchObject([
      { connection: stuck.connection, reason: 'too-slow', graceful: false },
    ]);
    expect(network.server.statistics.slowConsumersDropped).toBe(1);
    expect(network.eventsOf('bob', 'message-received')).toHaveLength(200);
    expect(network.eventsOf('alice', 'message-delivered')).toHaveLength(200);
    expect(network.eventsOf('bob', 'user-disconnected')).toMatchObject([
      { nick: 'stuck', reason: 'too-slow' },
    ]);
    expect(bob.client.state).toBe('online');
  });
});

describe('keyFingerprint', () => {
  it('is SHA-256 in unpadded base64, as OpenSSH prints it', () => {
    // sha256 of 32 zero bytes = 66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925
    expect(keyFingerprint(new Uint8Array(32))).toBe(
      'SHA256:Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU',
    );
    expect(InvalidArgumentError.isInstance(caught(() => keyFingerprint(new Uint8Array(31))))).toBe(
      true,
    );
  });
});

describe('ChatServer output', () => {
  it('hands out handshake answers the channel queued by itself, after everything was drained', () => {
    const network = new ChatNetwork();
    const connection = network.server.accept(network.now)!;
    // Nothing before the client's first bytes: its preamble, then its first handshake message.
    expect(network.server.pollTransmit()).toBeUndefined();
    const client = new ChatClient({ now: network.now });
    const hello = client.pollTransmit()!;
    network.server.receive(connection, hello.subarray(0, 10), network.now);
    expect(network.server.pollTransmit()?.data).toEqual(hello.subarray(0, 10));
    expect(network.server.pollTransmit()).toBeUndefined();
    network.server.receive(connection, hello.subarray(10), network.now);
    expect(network.server.pollTransmit()?.connection).toBe(connection);
  });
});

describe('chat session: room batches', () => {
  /** A raw client logged in as `nick`, reading batches or not. */
  function rawMember(network: ChatNetwork, nick: string, batches: boolean) {
    const raw = rawClient(
      network,
      batches ? [CHAT_CAPABILITY, ROOM_BATCH_CAPABILITY] : [CHAT_CAPABILITY],
    );
    raw.send(encodeSessionMessage({ type: 'login', id: 1, nick, rooms: [] }));
    network.run();
    raw.received.length = 0;
    return raw;
  }

  /** The kinds of the room messages and batches `raw` received, and the messages they held. */
  function roomTraffic(received: readonly Uint8Array[]) {
    const carrying = received.filter(
      (bytes) => bytes[0] === ROOM_MESSAGE_KIND || bytes[0] === ROOM_BATCH_KIND,
    );
    return {
      kinds: carrying.map((bytes) => bytes[0]),
      messages: carrying.flatMap((bytes) => decodeServerMessages(bytes)),
    };
  }

  it('relays what a sender said in one read as one batch to a client that reads batches, one by one to the others, in order', () => {
    const network = new ChatNetwork();
    const alice = network.login('alice');
    network.login('bob');
    const carol = rawMember(network, 'carol', false);
    const dave = rawMember(network, 'dave', true);
    for (const text of ['one', 'two', 'thrée']) alice.client.say('lobby', text, network.now);
    network.run();

    const atBob = network.eventsOf('bob', 'message-received');
    expect(atBob.map((event) => [event.from, event.text])).toEqual([
      ['alice', 'one'],
      ['alice', 'two'],
      ['alice', 'thrée'],
    ]);
    const ids = atBob.map((event) => event.id);
    expect(ids[1]).toBe(ids[0]! + 1);
    expect(ids[2]).toBe(ids[0]! + 2);
    const expected = atBob.map(({ type: _type, ...fields }) => ({ type: 'message', ...fields }));

    const atDave = roomTraffic(dave.received);
    expect(atDave.kinds).toEqual([ROOM_BATCH_KIND]);
    expect(atDave.messages).toEqual(expected);
    const atCarol = roomTraffic(carol.received);
    expect(atCarol.kinds).toEqual([ROOM_MESSAGE_KIND, ROOM_MESSAGE_KIND, ROOM_MESSAGE_KIND]);
    expect(atCarol.messages).toEqual(expected);
    expect(network.eventsOf('alice', 'message-delivered')).toHaveLength(3);
    expect(network.server.statistics.messagesRelayed).toBe(3);
  });

  it('sends a lone message as a compact room message, even to a client that reads batches', () => {
    const network = new ChatNetwork();
    const alice = network.login('alice');
    const dave = rawMember(network, 'dave', true);
    alice.client.say('lobby', 'just one', network.now);
    network.run();
    alice.client.say('lobby', 'and another', network.now);
    network.run();
    const atDave = roomTraffic(dave.received);
    expect(atDave.kinds).toEqual([ROOM_MESSAGE_KIND, ROOM_MESSAGE_KIND]);
    expect(atDave.messages.map((message) => (message as RoomMessage).text)).toEqual([
      'just one',
      'and another',
    ]);
  });

  it('keeps the order of everything else one read causes: renames, joins, other rooms', () => {
    const network = new ChatNetwork();
    const alice = network.login('alice');
    const bob = network.login('bob');
    bob.client.join('side', network.now);
    network.run();
    bob.events.length = 0;
    alice.client.say('lobby', 'm1', network.now);
    alice.client.say('lobby', 'm2', network.now);
    alice.client.setNick('alicia', network.now);
    alice.client.say('lobby', 'm3', network.now);
    alice.client.join('side', network.now);
    alice.client.say('side', 'm4', network.now);
    alice.client.say('lobby', 'm5', network.now);
    alice.client.say('lobby', 'm6', network.now);
    network.run();
    const seen = bob.events.flatMap((event) => {
      switch (event.type) {
        case 'message-received':
          return [`${event.room} ${event.from}: ${event.text}`];
        case 'nick-changed':
          return [`${event.old} is now ${event.nick}`];
        case 'user-joined':
          return [`${event.nick} joined ${event.room}`];
        default:
          return [];
      }
    });
    expect(seen).toEqual([
      'lobby alice: m1',
      'lobby alice: m2',
      'alice is now alicia',
      'lobby alicia: m3',
      'alicia joined side',
      'side alicia: m4',
      'lobby alicia: m5',
      'lobby alicia: m6',
    ]);
  });

  it(`cuts batches at about ${ROOM_BATCH_TEXT_BUDGET} bytes of text`, () => {
    const network = new ChatNetwork();
    const alice = network.login('alice');
    const dave = rawMember(network, 'dave', true);
    const texts = Array.from({ length: 10 }, (_, index) => `${index}`.repeat(4000));
    for (const text of texts) alice.client.say('lobby', text, network.now);
    network.run();
    const batches = dave.received.filter((bytes) => bytes[0] === ROOM_BATCH_KIND);
    expect(batches.length).toBeGreaterThanOrEqual(3);
    for (const batch of batches) {
      const messages = decodeServerMessages(batch) as RoomMessage[];
      const textLength = messages.reduce((sum, message) => sum + message.text.length, 0);
      expect(textLength).toBeLessThanOrEqual(ROOM_BATCH_TEXT_BUDGET);
    }
    expect(
      roomTraffic(dave.received).messages.map((message) => (message as RoomMessage).text),
    ).toEqual(texts);
  });

  it('sends what a sender said before its connection failed in the same read, then that it left', () => {
    const network = new ChatNetwork();
    const alice = rawMember(network, 'alice', true);
    const bob = network.login('bob');
    bob.events.length = 0;
    const say = (id: number, text: string) =>
      encodeSessionMessage({ type: 'say', id, ts: network.now, room: 'lobby', text });
    alice.send(say(2, 'last words'), say(3, 'really'), Uint8Array.of(0x00, 0xc1));
    network.run();
    const seen = bob.events.flatMap((event) =>
      event.type === 'message-received'
        ? [event.text]
        : event.type === 'user-disconnected'
          ? [`${event.nick} gone`]
          : [],
    );
    expect(seen).toEqual(['last words', 'really', 'alice gone']);
    expect(network.serverEventsOf('connection-failed')).toHaveLength(1);
  });
});

describe('chat session: the compact say', () => {
  /** A ChatClient logged in to a bare responder channel announcing `capabilities`. */
  function clientOf(capabilities: readonly string[]) {
    const network = new ChatNetwork();
    const server = new StreamChannel({
      initiator: false,
      now: 0,
      capabilities,
      staticKeyPair: network.clientKeyPair,
    });
    const client = new ChatClient({ now: 0 });
    const received: Uint8Array[] = [];
    const pump = (): void => {
      for (let moved = true; moved;) {
        moved = false;
        for (let data = client.pollTransmit(); data !== undefined; data = client.pollTransmit()) {
          moved = true;
          server.receive(data, 0);
        }
        for (let event = server.nextEvent(); event !== undefined; event = server.nextEvent()) {
          if (event.type !== 'message-received') continue;
          received.push(event.payload.slice());
          if (event.payload[0] === 0x00) {
            const login = decodeClientMessage(event.payload);
            if (login.type === 'login') {
              server.send(
                encodeSessionMessage({
                  type: 'welcome',
                  re: login.id,
                  nick: login.nick ?? 'ann',
                  server: 'bare',
                  accounts: false,
                  lobby: 'lobby',
                  rooms: ['lobby'],
                  maxText: 4096,
                }),
              );
            }
          }
        }
        for (let data = server.pollTransmit(); data !== undefined; data = server.pollTransmit()) {
          moved = true;
          client.receive(data, 0);
        }
        for (let event = client.nextEvent(); event !== undefined; event = client.nextEvent()) {
          if (event.type === 'server-identified') client.login({ nick: 'ann' }, 0);
        }
      }
    };
    pump();
    expect(client.state).toBe('online');
    received.length = 0;
    return { client, received, pump };
  }

  it('goes to a server that announces compact-say in its compact form, to any other as MessagePack', () => {
    for (const [capabilities, kind] of [
      [[CHAT_CAPABILITY, COMPACT_SAY_CAPABILITY], COMPACT_SAY_KIND],
      [[CHAT_CAPABILITY], CONTROL_MESSAGE_KIND],
    ] as const) {
      const { client, received, pump } = clientOf(capabilities);
      const id = client.say('lobby', 'héllo', 1234);
      pump();
      expect(received.map((bytes) => bytes[0])).toEqual([kind]);
      expect(decodeClientMessage(received[0]!)).toEqual({
        type: 'say',
        id,
        ts: 1234,
        room: 'lobby',
        text: 'héllo',
      });
    }
  });

  it('is what a ChatClient sends a ChatServer, relayed as before', () => {
    const network = new ChatNetwork();
    const alice = network.login('alice');
    network.login('bob');
    alice.client.say('lobby', 'compact', network.now);
    network.run();
    expect(network.eventsOf('bob', 'message-received').map((event) => event.text)).toEqual([
      'compact',
    ]);
    expect(network.eventsOf('alice', 'message-delivered')).toHaveLength(1);
  });
});
