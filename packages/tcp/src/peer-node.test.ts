import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeCryptoProvider } from '@lanchat/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Events } from './events.js';
import { type PeerNode, type PeerNodeEvent, type PeerNodeOptions, startPeer } from './peer-node.js';
import { cleanups, runCleanups } from './test-support.js';

afterEach(runCleanups);

const FAST = {
  keepaliveInterval: 500,
  deadTimeout: 2_000,
  redialInitialDelay: 50,
  redialMaxDelay: 500,
  dialHeadStart: 200,
} as const;

interface Started {
  readonly node: PeerNode;
  readonly events: Events<PeerNodeEvent>;
  readonly port: number;
}

async function peer(nick: string, options: Partial<PeerNodeOptions> = {}): Promise<Started> {
  const events = new Events<PeerNodeEvent>();
  const node = await startPeer({
    nick,
    staticKeyPair: nodeCryptoProvider.generateX25519KeyPair(),
    listen: { host: '127.0.0.1', port: 0 },
    onEvent: events.push,
    ...FAST,
    ...options,
  });
  cleanups.push(() => {
    node.destroy();
    return node.stopped;
  });
  return { node, events, port: node.address()?.port ?? 0 };
}

function connectedCount(started: Started): number {
  return started.node.peers().filter((entry) => entry.status === 'connected').length;
}

async function until(condition: () => boolean, what: string, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  // Checks on every event of the loop's next turns, with a deadline: no fixed sleep.
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('peers over TCP (loopback)', () => {
  it('four peers form a full mesh from a chain of dials, chat, and one leaves cleanly', async () => {
    const peers = await Promise.all(['ann', 'bob', 'cid', 'dan'].map((nick) => peer(nick)));
    for (let index = 1; index < peers.length; index++) {
      peers[index]!.node.connect('127.0.0.1', peers[index - 1]!.port);
    }
    await until(() => peers.every((started) => connectedCount(started) === 3), 'a full mesh');
    peers[2]!.node.say('lobby', 'hi from cid');
    for (const index of [0, 1, 3]) {
      const message = await peers[index]!.events.waitFor('message-received');
      expect(message).toMatchObject({ nick: 'cid', room: 'lobby', text: 'hi from cid' });
    }
    peers[0]!.node.sendPrivate('dan', 'just you');
    expect(await peers[3]!.events.waitFor('private-message-received')).toMatchObject({
      nick: 'ann',
      text: 'just you',
    });
    await peers[3]!.node.close();
    for (const index of [0, 1, 2]) {
      expect(
        await peers[index]!.events.waitFor('peer-disconnected', (event) => event.nick === 'dan'),
      ).toMatchObject({ reason: 'left', redial: false });
    }
    expect(peers[3]!.events.ofType('peer-stopped')).toEqual([
      { type: 'peer-stopped', reason: 'closed' },
    ]);
  });

  it('a peer that crashes is dialled again once it is back on its port', async () => {
    const ann = await peer('ann');
    const keyPair = nodeCryptoProvider.generateX25519KeyPair();
    const bob = await peer('bob', { staticKeyPair: keyPair });
    ann.node.connect('127.0.0.1', bob.port);
    await ann.events.waitFor('peer-connected');
    bob.node.destroy();
    expect(await ann.events.waitFor('peer-disconnected')).toMatchObject({
      nick: 'bob',
      redial: true,
    });
    ann.node.say('lobby', 'are you back?');
    const again = await peer('bob', {
      staticKeyPair: keyPair,
      listen: { host: '127.0.0.1', port: bob.port },
    });
    await ann.events.waitFor(
      'peer-connected',
      (event) => event.nick === 'bob' && ann.events.ofType('peer-connected').length === 2,
    );
    expect(await again.events.waitFor('message-received')).toMatchObject({
      nick: 'ann',
      text: 'are you back?',
    });
  });

  it('sends a file straight to a peer, under a safe name, checked', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'lanchat-peer-'));
    cleanups.push(() => rm(folder, { recursive: true, force: true }));
    const content = randomBytes(2_000_000);
    const source = join(folder, 'source.bin');
    await writeFile(source, content);
    const ann = await peer('ann');
    const bob = await peer('bob');
    bob.node.connect('127.0.0.1', ann.port);
    await bob.events.waitFor('peer-connected');
    await ann.events.waitFor('peer-connected');
    const transfer = await ann.node.sendFile('bob', source, { name: '../secret.bin' });
    const offered = await bob.events.waitFor('transfer-offered');
    expect(offered).toMatchObject({ transfer, peer: 'ann', size: 2_000_000 });
    const inbox = join(folder, 'inbox');
    await bob.node.acceptFile(transfer, inbox);
    const done = await bob.events.waitFor('transfer-completed');
    expect(done.path).toBe(join(inbox, '___secret.bin'));
    expect(sha256(await readFile(done.path!))).toBe(sha256(content));
    await ann.events.waitFor('transfer-completed');
    expect(await readdir(inbox)).toHaveLength(1);
  });

  it('a stranger on the peer port is dropped, and the peer carries on', async () => {
    const ann = await peer('ann');
    const bob = await peer('bob');
    const socket = createConnection({ host: '127.0.0.1', port: ann.port });
    socket.on('error', () => undefined);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await closed;
    expect(await ann.events.waitFor('link-failed')).toMatchObject({ incoming: true });
    bob.node.connect('127.0.0.1', ann.port);
    await ann.events.waitFor('peer-connected');
  });

  it('refuses to listen on a port in use, and a stopped peer refuses calls', async () => {
    const ann = await peer('ann');
    await expect(
      startPeer({
        nick: 'bob',
        staticKeyPair: nodeCryptoProvider.generateX25519KeyPair(),
        listen: { host: '127.0.0.1', port: ann.port },
        onEvent: () => undefined,
      }),
    ).rejects.toThrow(/EADDRINUSE/);
    await ann.node.close();
    expect(() => ann.node.say('lobby', 'hi')).toThrow(/stopped/);
  });

  it('a peer started without a listener accepts peers once told to listen', async () => {
    const ann = await peer('ann', { listen: false });
    expect(ann.node.address()).toBeUndefined();
    const address = await ann.node.listen({ host: '127.0.0.1', port: 0 });
    expect(await ann.events.waitFor('listening')).toMatchObject({ port: address.port });
    await expect(ann.node.listen({ host: '127.0.0.1', port: 0 })).rejects.toThrow(/already/);
    const bob = await peer('bob');
    bob.node.connect('127.0.0.1', address.port);
    await ann.events.waitFor('peer-connected');
    await bob.events.waitFor('peer-connected');
    // Its hello told bob the port it now listens on.
    expect(bob.node.peers()[0]).toMatchObject({ nick: 'ann', port: address.port });
  });

  it('a connected peer learns the port of one that starts listening later, and passes it on', async () => {
    const ann = await peer('ann');
    const bob = await peer('bob', { listen: false });
    bob.node.connect('127.0.0.1', ann.port);
    await ann.events.waitFor('peer-connected');
    expect(ann.node.peers()[0]).toMatchObject({ nick: 'bob', port: undefined });
    const address = await bob.node.listen({ host: '127.0.0.1', port: 0 });
    expect(await ann.events.waitFor('peer-listening')).toMatchObject({
      nick: 'bob',
      host: '127.0.0.1',
      port: address.port,
    });
    expect(ann.node.peers()[0]).toMatchObject({ nick: 'bob', port: address.port });
    // A newcomer that dials ann hears where bob is.
    const cid = await peer('cid');
    cid.node.connect('127.0.0.1', ann.port);
    const discovered = await cid.events.waitFor('peer-discovered', (event) => event.nick === 'bob');
    expect(discovered).toMatchObject({ host: '127.0.0.1', port: address.port, via: 'ann' });
  });

  it('names an IPv4 peer by its IPv4 address on a dual-stack listener, not ::ffff:', async () => {
    const ann = await peer('ann', { listen: { port: 0 } });
    const bob = await peer('bob');
    bob.node.connect('127.0.0.1', ann.port);
    expect(await ann.events.waitFor('peer-connected')).toMatchObject({
      nick: 'bob',
      host: '127.0.0.1',
    });
  });

  it('stops when its signal aborts, leaving no listener', async () => {
    const controller = new AbortController();
    const ann = await peer('ann', { signal: controller.signal });
    controller.abort();
    await ann.node.stopped;
    await new Promise<void>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port: ann.port });
      socket.once('connect', () => reject(new Error('still listening')));
      socket.once('error', () => resolve());
    });
  });
});
