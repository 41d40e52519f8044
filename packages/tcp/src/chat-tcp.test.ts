import { type Socket, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatClient, type ClientEvent } from '@lanchat/core';
import { type TcpClientEvent, connectChat } from './chat-tcp-client.js';
import { type TcpServerEvent, listenChat } from './chat-tcp-server.js';
import {
  Events,
  cleanups,
  runCleanups,
  serverKeyPair,
  startClient,
  startServer,
} from './test-support.js';

afterEach(runCleanups);

describe('@lanchat/tcp on loopback', () => {
  it('carries room and private messages between clients, acknowledged', async () => {
    const { port, events: serverEvents } = await startServer();
    const alice = await startClient(port, 'alice');
    const bob = await startClient(port, 'bob');
    await alice.events.waitFor('user-joined', (event) => event.nick === 'bob');
    const id = alice.client.say('lobby', 'hello over TCP');
    const received = await bob.events.waitFor('message-received');
    expect(received).toMatchObject({ from: 'alice', room: 'lobby', text: 'hello over TCP' });
    await alice.events.waitFor('message-delivered', (event) => event.id === id);
    bob.client.sendPrivate('alice', 'psst');
    expect(await alice.events.waitFor('private-message-received')).toMatchObject({
      from: 'bob',
      text: 'psst',
    });
    expect(serverEvents.ofType('user-logged-in').map((event) => event.nick)).toEqual([
      'alice',
      'bob',
    ]);
  });

  it('writes a turn of output for one connection in one write', async () => {
    const { port } = await startServer();
    const alice = await startClient(port, 'alice');
    const bob = await startClient(port, 'bob');
    await alice.events.waitFor('user-joined', (event) => event.nick === 'bob');
    const socket = (bob.client as unknown as { session: ChatClient }).session;
    expect(socket.state).toBe('online');
    // 50 messages queued in one turn arrive, in order: the server reads them in one go and sends
    // them on as room batches (the core's tests check the bytes); the coalescing itself is
    // measured by the bench.
    for (let index = 0; index < 50; index++) alice.client.say('lobby', `message ${index}`);
    await bob.events.waitFor('message-received', (event) => event.text === 'message 49');
    expect(bob.events.ofType('message-received').map((event) => event.text)).toEqual(
      Array.from({ length: 50 }, (_, index) => `message ${index}`),
    );
  });

  it('answers an HTTP request and garbage with a clear refusal, and keeps serving', async () => {
    const { port, events } = await startServer();
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('latin1')));
      socket.on('close', () => {
        resolve(text);
      });
      socket.on('error', reject);
      socket.write('GET / HTTP/1.1\r\nHost: lanchat\r\n\r\n');
    });
    expect(reply).toContain('HTTP/1.1 400 Bad Request');
    expect(reply).toContain('lanchat connect HOST[:PORT]');
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.on('close', () => {
        resolve();
      });
      socket.on('error', reject);
      socket.write(Buffer.alloc(64, 0x41));
    });
    const failures = events.ofType('connection-failed');
    expect(failures.map((event) => event.error.name)).toEqual([
      'NotLanchatError',
      'NotLanchatError',
    ]);
    await startClient(port, 'alice');
  });

  it('logs in with an account checked by verifyLogin; a wrong password is refused', async () => {
    const { port, events } = await startServer({
      accounts: true,
      verifyLogin: (user, password) =>
        Promise.resolve(user === 'alice' && password.reveal() === 'secret words'),
    });
    const wrong = new Events<TcpClientEvent>();
    const client = connectChat({
      host: '127.0.0.1',
      port,
      login: { user: 'alice', password: 'guess' },
      reconnect: false,
      onEvent: wrong.push,
    });
    cleanups.push(() => {
      client.destroy();
      return client.stopped;
    });
    expect(await wrong.waitFor('login-failed')).toMatchObject({ code: 'bad-credentials' });
    const alice = await startClient(port, 'alice', {
      login: { user: 'alice', password: 'secret words' },
    });
    expect(alice.events.ofType('login-succeeded')[0]).toMatchObject({
      nick: 'alice',
      user: 'alice',
    });
    expect(events.ofType('login-refused')).toHaveLength(1);
  });

  it('refuses a server whose key the client does not trust, before sending credentials', async () => {
    const { port, events } = await startServer({
      accounts: true,
      verifyLogin: () => Promise.resolve(true),
    });
    const client = new Events<TcpClientEvent>();
    const chat = connectChat({
      host: '127.0.0.1',
      port,
      login: { user: 'alice', password: 'secret words' },
      verifyServerKey: () => false,
      onEvent: client.push,
    });
    await chat.stopped;
    expect(client.ofType('server-key-rejected')).toHaveLength(1);
    expect(client.ofType('client-stopped')).toMatchObject([
      { reason: 'the server key was refused' },
    ]);
    expect(events.ofType('login-requested')).toHaveLength(0);
  });

  it('reconnects after the server restarts: logs in again and rejoins its rooms', async () => {
    const first = await startServer();
    const port = first.port;
    const alice = await startClient(port, 'alice');
    alice.client.join('games');
    await alice.events.waitFor('room-joined', (event) => event.room === 'games');
    await first.server.close('restarting');
    expect(await alice.events.waitFor('server-shutdown')).toMatchObject({ message: 'restarting' });
    await alice.events.waitFor('reconnect-scheduled');
    const second = await startServer({ port });
    const reconnected = await alice.events.waitFor('reconnected');
    expect(reconnected.nick).toBe('alice');
    expect([...reconnected.rooms].sort()).toEqual(['games', 'lobby']);
    expect(second.events.ofType('user-logged-in')).toMatchObject([{ nick: 'alice' }]);
  });

  it('stops after bye without reconnecting, and the server reports it', async () => {
    const { port, events, server } = await startServer();
    const alice = await startClient(port, 'alice');
    await alice.client.bye();
    expect(alice.events.ofType('session-closed')).toMatchObject([
      { reason: 'bye', graceful: true },
    ]);
    expect(alice.events.ofType('reconnect-scheduled')).toHaveLength(0);
    await events.waitFor('user-logged-out');
    await events.waitFor('connection-ending', (event) => event.reason === 'bye');
    expect(server.statistics.users).toBe(0);
  });

  it('closes on abort, removing every socket', async () => {
    const controller = new AbortController();
    const { server, port } = await startServer({ signal: controller.signal });
    const alice = await startClient(port, 'alice');
    controller.abort();
    await server.close();
    expect(server.socketCount).toBe(0);
    await alice.events.waitFor('server-shutdown');
  });

  it('drops a client that stops reading once its backlog is full; the others carry on', async () => {
    // Large texts fill the stuck client's socket buffers in a few rounds.
    const { port, events, server } = await startServer({ maxTextBytes: 65_536 });
    const sender = await startClient(port, 'sender');
    const reader = await startClient(port, 'reader');
    // A client that logs in, then never reads again.
    const stuck = await stuckClient(port);
    cleanups.push(() => {
      stuck.destroy();
    });
    await sender.events.waitFor('user-joined', (event) => event.nick === 'stuck');
    const text = 'x'.repeat(60_000);
    let sent = 0;
    // Enough to fill the loopback socket buffers and then the 4 MiB backlog; bounded.
    const dropped = events.waitFor(
      'connection-ending',
      (event) => event.reason === 'too-slow',
      100_000,
    );
    while (sent < 20_000 && events.ofType('connection-ending').length === 0) {
      for (let index = 0; index < 10; index++) sender.client.say('lobby', text);
      sent += 10;
      await reader.events.waitFor(
        'message-received',
        () => reader.events.ofType('message-received').length >= sent,
        60_000,
      );
    }
    await dropped;
    expect(server.statistics.slowConsumersDropped).toBe(1);
    await sender.events.waitFor(
      'user-disconnected',
      (event) => event.nick === 'stuck' && event.reason === 'too-slow',
    );
    const id = sender.client.say('lobby', 'still here');
    await sender.events.waitFor('message-delivered', (event) => event.id === id);
    await reader.events.waitFor('message-received', (event) => event.text === 'still here');
  }, 120_000);
});

/** Logs in over a raw socket driven by a core client, then stops reading for good. */
async function stuckClient(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  const session = new ChatClient({ now: Date.now() });
  const flush = (): void => {
    for (let data = session.pollTransmit(); data !== undefined; data = session.pollTransmit())
      socket.write(data);
  };
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('connect', flush);
    socket.on('data', (chunk) => {
      session.receive(chunk, Date.now());
      for (
        let event: ClientEvent | undefined = session.nextEvent();
        event !== undefined;
        event = session.nextEvent()
      ) {
        if (event.type === 'server-identified') session.login({ nick: 'stuck' }, Date.now());
        if (event.type === 'login-succeeded') {
          socket.pause();
          resolve();
        }
      }
      flush();
    });
  });
  return socket;
}

describe('@lanchat/tcp cleanup', () => {
  it('leaves no socket, server, timer or immediate behind after bye and close', async () => {
    const count = (): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (const resource of process.getActiveResourcesInfo())
        counts[resource] = (counts[resource] ?? 0) + 1;
      return counts;
    };
    const before = count();
    const events = new Events<TcpServerEvent>();
    const server = await listenChat({
      staticKeyPair: serverKeyPair,
      host: '127.0.0.1',
      port: 0,
      onEvent: events.push,
    });
    const alice = new Events<TcpClientEvent>();
    const client = connectChat({
      host: '127.0.0.1',
      port: server.address().port,
      login: { nick: 'alice' },
      onEvent: alice.push,
    });
    await alice.waitFor('login-succeeded');
    client.say('lobby', 'hello');
    await alice.waitFor('message-delivered');
    await client.bye();
    await server.close();
    // Socket handles are released on the next turns of the loop; wait for that with a deadline.
    const deadline = Date.now() + 5000;
    const settled = (): boolean => {
      const after = count();
      return ['TCPServerWrap', 'TCPSocketWrap', 'Timeout', 'Immediate'].every(
        (type) => (after[type] ?? 0) <= (before[type] ?? 0),
      );
    };
    while (!settled() && Date.now() < deadline)
      await new Promise((resolve) => setImmediate(resolve));
    expect(settled(), JSON.stringify({ before, after: count() })).toBe(true);
  });
});
