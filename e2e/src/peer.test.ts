import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { unusedUdpPort } from '@lanchat/udp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { CLIENT_CLI, JsonProcess, TestResources, startDiscover } from './processes.js';

const resources = new TestResources();
const track = (process: JsonProcess): JsonProcess => resources.track(process);

afterEach(resources.cleanUp);

/** `lanchat --json peer` named `name`, on loopback, with its own configuration directory. */
function startPeer(configDir: string, name: string, args: readonly string[] = []): JsonProcess {
  return track(
    new JsonProcess(CLIENT_CLI, [
      '--json',
      'peer',
      '--name',
      name,
      '--config-dir',
      configDir,
      '--bind',
      '127.0.0.1',
      ...(args.includes('--listen') || args.includes('--no-listen') ? [] : ['--listen', '0']),
      ...(args.some((arg) => arg.startsWith('--discovery')) ? [] : ['--no-discovery']),
      ...args,
    ]),
  );
}

async function portOf(peer: JsonProcess): Promise<number> {
  return (await peer.waitFor('started'))['port'] as number;
}

/** Resolves once `peer` reports `count` peers connected (counting reconnections). */
function connectedTo(peer: JsonProcess, nick: string, times = 1): Promise<unknown> {
  return peer.waitFor(
    'peer-connected',
    () => peer.ofType('peer-connected').filter((event) => event['nick'] === nick).length >= times,
  );
}

/** The names of the peers `lanchat discover` finds on `discoveryPort`, sorted. */
async function peersOnTheLan(discoveryPort: string): Promise<string[]> {
  const search = track(startDiscover(discoveryPort, 1500, await resources.workspace()));
  expect(await search.exited).toBe(0);
  return search
    .ofType('peer-found')
    .map((event) => event['name'] as string)
    .sort();
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('lanchat peer: serverless mode end to end (real processes on loopback)', () => {
  it('four peers dialling in a chain form a full mesh: room chat, a private message, a file, a crash and its return, a goodbye', async () => {
    const names = ['ann', 'bob', 'cid', 'dan'];
    const directories = await Promise.all(names.map(() => resources.workspace()));
    const peers: JsonProcess[] = [];
    const ports: number[] = [];
    for (const [index, name] of names.entries()) {
      const args = index === 0 ? [] : ['--connect', `127.0.0.1:${ports[index - 1]!}`];
      if (name === 'dan') args.push('--accept-files', path.join(directories[3]!, 'inbox'));
      const peer = startPeer(directories[index]!, name, args);
      peers.push(peer);
      ports.push(await portOf(peer));
    }
    // Everyone meets everyone, though each dialled one peer only.
    for (const [index, peer] of peers.entries()) {
      for (const other of names.filter((_, position) => position !== index)) {
        await connectedTo(peer, other);
      }
    }
    const [ann, bob, cid, dan] = peers as [JsonProcess, JsonProcess, JsonProcess, JsonProcess];

    for (const [index, peer] of peers.entries()) peer.send(`hello from ${names[index]!}`);
    for (const [index, peer] of peers.entries()) {
      for (const other of names.filter((_, position) => position !== index)) {
        const message = await peer.waitFor(
          'message',
          (event) => event['from'] === other && event['text'] === `hello from ${other}`,
        );
        expect(message['room']).toBe('lobby');
      }
    }
    // Each message came once.
    for (const peer of peers) expect(peer.ofType('message')).toHaveLength(3);

    bob.send('/msg dan only for you');
    expect(await dan.waitFor('private-message')).toMatchObject({
      from: 'bob',
      text: 'only for you',
    });
    expect(ann.ofType('private-message')).toEqual([]);

    // A file, straight from ann to dan.
    const content = randomBytes(3_000_000);
    const source = path.join(directories[0]!, 'notes.bin');
    await writeFile(source, content);
    ann.send(`/send dan ${source}`);
    const received = await dan.waitFor('transfer-completed', () => true, 30_000);
    expect(received).toMatchObject({ peer: 'ann', name: 'notes.bin', sha256: sha256(content) });
    expect(sha256(await readFile(received['path'] as string))).toBe(sha256(content));
    await ann.waitFor('transfer-completed');

    // cid crashes: the others notice and dial it again; back on its port, it is in the mesh.
    await cid.kill();
    for (const peer of [ann, bob, dan]) {
      expect(
        await peer.waitFor('peer-disconnected', (event) => event['nick'] === 'cid'),
      ).toMatchObject({ redial: true });
    }
    const back = startPeer(directories[2]!, 'cid', ['--listen', String(ports[2]!)]);
    for (const peer of [ann, bob, dan]) await connectedTo(peer, 'cid', 2);
    for (const other of ['ann', 'bob', 'dan']) await connectedTo(back, other);
    // The contacts it saved before the crash are offered at start.
    const contacts = await back.waitFor('contacts');
    expect((contacts['contacts'] as { name: string }[]).map((entry) => entry.name).sort()).toEqual([
      'ann',
      'bob',
      'dan',
    ]);

    // ann leaves: the others are told, and do not dial it again.
    ann.send('/quit');
    expect(await ann.exited).toBe(0);
    for (const peer of [bob, back, dan]) {
      expect(
        await peer.waitFor('peer-disconnected', (event) => event['nick'] === 'ann'),
      ).toMatchObject({ reason: 'left', redial: false });
    }
    bob.send('/peers');
    const list = await bob.waitFor('peers');
    expect(
      (list['peers'] as { nick: string; status: string }[])
        .map((peer) => `${peer.nick} ${peer.status}`)
        .sort(),
    ).toEqual(['ann away', 'cid connected', 'dan connected']);
    for (const peer of [bob, back, dan]) {
      peer.send('/quit');
      expect(await peer.exited).toBe(0);
    }
  });

  it('two peers with one nickname: one keeps it, the other takes another, and both are told', async () => {
    const first = startPeer(await resources.workspace(), 'sam');
    const port = await portOf(first);
    const second = startPeer(await resources.workspace(), 'sam', [
      '--connect',
      `127.0.0.1:${port}`,
    ]);
    const conflicts = await Promise.all([
      first.waitFor('nick-conflict'),
      second.waitFor('nick-conflict'),
    ]);
    expect(conflicts.map((event) => event['kept']).sort()).toEqual([false, true]);
    const loser = conflicts[0]['kept'] === false ? first : second;
    const winner = loser === first ? second : first;
    const renamed = await loser.waitFor('nick-changed', (event) => event['self'] === true);
    expect(renamed['nick']).toMatch(/^sam-[0-9a-f]{4}$/);
    const seen = await winner.waitFor('nick-changed', (event) => event['self'] === false);
    expect(seen).toMatchObject({ old: 'sam', nick: renamed['nick'] });
  });

  it('a peer that only dialled starts to listen with /host: the others learn where, keep it, and pass it on', async () => {
    const ann = startPeer(await resources.workspace(), 'ann');
    const annPort = await portOf(ann);
    const bob = startPeer(await resources.workspace(), 'bob', [
      '--no-listen',
      '--connect',
      `127.0.0.1:${annPort}`,
    ]);
    await connectedTo(ann, 'bob');
    await connectedTo(bob, 'ann');
    bob.send('/host 0');
    const bobPort = (await bob.waitFor('listening'))['port'] as number;
    expect(await ann.waitFor('peer-listening')).toMatchObject({
      nick: 'bob',
      host: '127.0.0.1',
      port: bobPort,
    });
    ann.send('/contacts');
    const contacts = await ann.waitFor('contacts');
    expect(contacts['contacts']).toMatchObject([{ name: 'bob', host: '127.0.0.1', port: bobPort }]);
    // A newcomer that dials ann hears where bob is.
    const cid = startPeer(await resources.workspace(), 'cid', [
      '--connect',
      `127.0.0.1:${annPort}`,
    ]);
    expect(await cid.waitFor('peer-discovered', (event) => event['nick'] === 'bob')).toMatchObject({
      host: '127.0.0.1',
      port: bobPort,
      via: 'ann',
    });
    await connectedTo(cid, 'bob');
  });

  it('a contact is dialled by name, and a peer with another key at its address is refused', async () => {
    const annDir = await resources.workspace();
    const bob = startPeer(await resources.workspace(), 'bob');
    const bobPort = await portOf(bob);
    const ann = startPeer(annDir, 'ann', ['--connect', `127.0.0.1:${bobPort}`]);
    await connectedTo(ann, 'bob');
    ann.send('/quit');
    expect(await ann.exited).toBe(0);
    bob.send('/quit');
    expect(await bob.exited).toBe(0);

    // Someone else (a new identity) now listens where bob did.
    const impostor = startPeer(await resources.workspace(), 'bob', ['--listen', String(bobPort)]);
    await portOf(impostor);
    const again = startPeer(annDir, 'ann', ['--connect', 'bob']);
    const refused = await again.waitFor('peer-key-rejected');
    expect(refused).toMatchObject({ host: '127.0.0.1', port: bobPort });
    expect(refused['expectedFingerprint']).not.toBe(refused['presentedFingerprint']);
    expect(again.ofType('peer-connected')).toEqual([]);
    expect(impostor.ofType('peer-connected')).toEqual([]);
  });

  it('finds a peer by LAN discovery, without an address', async () => {
    const discoveryPort = String(await unusedUdpPort());
    const ann = startPeer(await resources.workspace(), 'ann', ['--discovery-port', discoveryPort]);
    await ann.waitFor('discovery');
    const bob = startPeer(await resources.workspace(), 'bob', ['--discovery-port', discoveryPort]);
    expect(await bob.waitFor('peer-discovered')).toMatchObject({ nick: 'ann', via: 'discovery' });
    await connectedTo(bob, 'ann');
    await connectedTo(ann, 'bob');
    // The LAN hears the nickname a peer goes by now.
    ann.send('/nick anna');
    await bob.waitFor('nick-changed', (event) => event['nick'] === 'anna');
    expect(await peersOnTheLan(discoveryPort)).toEqual(['anna', 'bob']);
    // A peer that leaves the mesh is no longer announced; back in it, it is again.
    ann.send('/disconnect');
    await bob.waitFor('peer-disconnected', (event) => event['reason'] === 'left');
    expect(await peersOnTheLan(discoveryPort)).toEqual(['bob']);
    ann.send(`/connect 127.0.0.1:${await portOf(bob)}`);
    await connectedTo(ann, 'bob', 2);
    await ann.waitFor('discovery', () => ann.ofType('discovery').length >= 2);
    expect(await peersOnTheLan(discoveryPort)).toEqual(['anna', 'bob']);
  });

  it('refuses a port in use with exit 1, and a bad command with an error event', async () => {
    const ann = startPeer(await resources.workspace(), 'ann');
    const port = await portOf(ann);
    const other = startPeer(await resources.workspace(), 'bob', ['--listen', String(port)]);
    expect(await other.exited).toBe(1);
    expect(other.ofType('error')[0]?.['message']).toMatch(/EADDRINUSE/);
    ann.send('/chat bob');
    expect((await ann.waitFor('error'))['message']).toMatch(/needs a server/);
    ann.send('/connect');
    expect(
      await ann.waitFor(
        'error',
        (event) => event['code'] === 'bad-command' && String(event['message']).startsWith('usage'),
      ),
    ).toBeDefined();
  });
});
