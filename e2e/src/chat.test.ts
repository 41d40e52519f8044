import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatClient } from '@lanchat/core';
import {
  type JsonProcess,
  SERVER_CLI,
  startClient,
  startServer,
  TestResources,
} from './processes.js';

const resources = new TestResources();
const track = (process: JsonProcess): JsonProcess => resources.track(process);
const workspace = (): Promise<string> => resources.workspace();

afterEach(resources.cleanUp);

async function serverIn(directory: string, extra: readonly string[] = [], port = 0) {
  const started = await startServer(path.join(directory, 'server'), extra, port);
  track(started.server);
  return started;
}

async function client(
  port: number,
  directory: string,
  name: string,
  extra: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
) {
  const process = track(
    startClient(port, path.join(directory, `client-${name}`), ['--name', name, ...extra], env),
  );
  await process.waitFor('connected');
  return process;
}

describe('lanchat end to end (real processes on loopback)', () => {
  it('room chat, a private message and a consent chat between three clients; exit 0 after bye', async () => {
    const directory = await workspace();
    const { port, fingerprint } = await serverIn(directory);
    const alice = await client(port, directory, 'alice');
    const bob = await client(port, directory, 'bob');
    const carol = await client(port, directory, 'carol');
    expect((await alice.waitFor('server-key'))['fingerprint']).toBe(fingerprint);
    await alice.waitFor('user-joined', (event) => event['nick'] === 'carol');

    alice.send('hello, room');
    for (const reader of [bob, carol]) {
      expect(
        await reader.waitFor('message', (event) => event['text'] === 'hello, room'),
      ).toMatchObject({
        from: 'alice',
        room: 'lobby',
      });
    }
    const sent = await alice.waitFor('sent', (event) => event['text'] === 'hello, room');
    await alice.waitFor('delivered', (event) => event['id'] === sent['id']);

    bob.send('/msg carol just between us');
    expect(await carol.waitFor('private-message')).toMatchObject({
      from: 'bob',
      text: 'just between us',
      chat: false,
    });

    carol.send('/chat alice');
    await alice.waitFor('chat-request', (event) => event['nick'] === 'carol');
    alice.send('/chat carol');
    await carol.waitFor('chat-started', (event) => event['nick'] === 'alice');
    await alice.waitFor('chat-started', (event) => event['nick'] === 'carol');
    alice.send('only for you');
    expect(await carol.waitFor('private-message', (event) => event['chat'] === true)).toMatchObject(
      {
        from: 'alice',
        text: 'only for you',
      },
    );
    carol.send('/end');
    expect(await alice.waitFor('chat-ended')).toMatchObject({ nick: 'carol', by: 'carol' });

    bob.send('bye');
    expect(await bob.exited).toBe(0);
    await alice.waitFor(
      'user-left',
      (event) => event['nick'] === 'bob' && event['reason'] === 'bye',
    );
    expect(await alice.end()).toBe(0);
    expect(await carol.end()).toBe(0);
  });

  it('refuses a nickname taken in another case, and a rename onto a taken name', async () => {
    const directory = await workspace();
    const { port } = await serverIn(directory);
    const alice = await client(port, directory, 'alice');
    const impostor = track(
      startClient(port, path.join(directory, 'client-x'), ['--name', 'ALICE']),
    );
    expect(await impostor.waitFor('error')).toMatchObject({ code: 'nickname-taken' });
    expect(await impostor.exited).toBe(1);
    const bob = await client(port, directory, 'bob');
    bob.send('/nick Alice');
    expect(await bob.waitFor('error')).toMatchObject({ code: 'nickname-taken' });
    bob.send('/nick robert');
    expect(await alice.waitFor('nick-changed')).toMatchObject({
      old: 'bob',
      nick: 'robert',
      self: false,
    });
  });

  it('requires the right password, and rate-limits wrong ones', async () => {
    const directory = await workspace();
    const dataDir = path.join(directory, 'server');
    const added = spawn(process.execPath, [
      SERVER_CLI,
      'users',
      'add',
      'alice',
      '--data-dir',
      dataDir,
    ]);
    added.stdin.end('correct horse battery\n');
    expect(await new Promise((resolve) => added.on('exit', resolve))).toBe(0);
    // A long wait, so that no attempt below can outlast it however slow the machine is.
    const { port } = await serverIn(directory, ['--accounts', '--login-backoff', '600000']);
    const failures: string[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const wrong = track(
        startClient(port, path.join(directory, 'client-w'), ['--user', 'alice'], {
          LANCHAT_PASSWORD: `wrong ${attempt}`,
        }),
      );
      const error = await wrong.waitFor('error');
      failures.push(error['code'] as string);
      expect(await wrong.exited).toBe(1);
    }
    expect(failures).toEqual([
      'bad-credentials',
      'bad-credentials',
      'bad-credentials',
      'bad-credentials',
      'rate-limited',
    ]);
    // The right password is refused too while the account is locked: the limit is per account.
    const locked = track(
      startClient(port, path.join(directory, 'client-r'), ['--user', 'alice'], {
        LANCHAT_PASSWORD: 'correct horse battery',
      }),
    );
    expect(await locked.waitFor('error')).toMatchObject({ code: 'rate-limited' });
    const accounts = await readFile(path.join(dataDir, 'accounts.json'), 'utf8');
    expect(accounts).not.toContain('correct horse battery');
    expect(accounts).toContain('scrypt$');
  });

  it('refuses a server whose key changed, showing both fingerprints, unless told to accept it', async () => {
    const directory = await workspace();
    const first = await serverIn(directory);
    const alice = await client(first.port, directory, 'alice');
    expect(await alice.waitFor('server-key')).toMatchObject({ status: 'new' });
    expect(await alice.end()).toBe(0);
    await first.server.kill('SIGTERM');
    // Another server (another identity) on the same address.
    const second = await startServer(path.join(directory, 'other-server'), [], first.port);
    track(second.server);
    const refused = track(
      startClient(first.port, path.join(directory, 'client-alice'), ['--name', 'alice']),
    );
    const error = await refused.waitFor('error', (event) => event['code'] === 'server-key-changed');
    expect(error['message']).toContain(first.fingerprint);
    expect(error['message']).toContain(second.fingerprint);
    expect(await refused.exited).toBe(3);
    const accepted = track(
      startClient(first.port, path.join(directory, 'client-alice'), [
        '--name',
        'alice',
        '--accept-new-key',
      ]),
    );
    expect(await accepted.waitFor('server-key')).toMatchObject({
      status: 'replaced',
      fingerprint: second.fingerprint,
    });
    await accepted.waitFor('connected');
  });

  it('clients come back by themselves after the server restarts', async () => {
    const directory = await workspace();
    const first = await serverIn(directory);
    const alice = await client(first.port, directory, 'alice', ['--room', 'games']);
    const bob = await client(first.port, directory, 'bob');
    await first.server.kill('SIGTERM');
    expect(await first.server.exited).toBe(0);
    await alice.waitFor('server-shutdown');
    await alice.waitFor('reconnecting');
    const second = await serverIn(directory, [], first.port);
    expect(second.fingerprint).toBe(first.fingerprint);
    const back = await alice.waitFor('reconnected');
    expect([...(back['rooms'] as string[])].sort()).toEqual(['games', 'lobby']);
    await bob.waitFor('reconnected');
    alice.send('/room lobby');
    alice.send('we are back');
    expect(await bob.waitFor('message', (event) => event['text'] === 'we are back')).toMatchObject({
      from: 'alice',
    });
  });

  it('garbage and an HTTP request get a clear refusal; the server keeps serving', async () => {
    const directory = await workspace();
    const { port, server } = await serverIn(directory);
    const alice = await client(port, directory, 'alice');
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
    expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.on('close', () => {
        resolve();
      });
      socket.on('error', reject);
      socket.write(
        Buffer.from([
          0x89,
          0x4c,
          0x41,
          0x4e,
          0x43,
          0x48,
          0x41,
          0x54,
          1,
          0,
          0,
          0,
          0,
          40,
          ...new Array<number>(40).fill(7),
        ]),
      );
    });
    const failures = server.ofType('connection-failed').map((event) => event['error']);
    expect(failures).toEqual(['NotLanchatError', 'MalformedHandshakeError']);
    const bob = await client(port, directory, 'bob');
    bob.send('still serving?');
    await alice.waitFor('message', (event) => event['text'] === 'still serving?');
  });

  it('a client that stops reading is dropped; the others keep chatting and server memory stays bounded', async () => {
    const directory = await workspace();
    // Large texts fill the stuck client's socket buffers in a few rounds.
    const { port, server } = await serverIn(directory, ['--max-text', '65536']);
    const alice = await client(port, directory, 'alice');
    const bob = await client(port, directory, 'bob');
    const stuck = await stuckClient(port);
    resources.add(() => {
      stuck.destroy();
      return Promise.resolve();
    });
    await bob.waitFor('user-joined', (event) => event['nick'] === 'stuck');
    const text = 'x'.repeat(60_000);
    // Up to 60 MB towards the stuck client, in bounded rounds; it is dropped long before.
    for (let round = 0; round < 100 && server.ofType('user-logged-out').length === 0; round++) {
      for (let index = 0; index < 10; index++) alice.send(text);
      await bob.waitFor('message', () => bob.ofType('message').length >= (round + 1) * 10, 60_000);
    }
    expect(await server.waitFor('user-logged-out')).toMatchObject({
      nick: 'stuck',
      reason: 'too-slow',
    });
    const status = await readFile(`/proc/${String(server.child.pid)}/status`, 'utf8');
    const residentKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    expect(residentKiB).toBeLessThan(200 * 1024);
    alice.send('/msg bob still fine');
    expect(await bob.waitFor('private-message')).toMatchObject({ text: 'still fine' });
  }, 180_000);
});

/** Logs in over a raw socket, then never reads again. */
async function stuckClient(port: number) {
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
      for (let event = session.nextEvent(); event !== undefined; event = session.nextEvent()) {
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
