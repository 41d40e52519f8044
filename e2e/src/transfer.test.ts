import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { type CuttableProxy, startCuttableProxy } from '@lanchat/tcp/testing';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLIENT_CLI, JsonProcess, startClient, startServer, TestResources } from './processes.js';

const resources = new TestResources();
const track = (process: JsonProcess): JsonProcess => resources.track(process);
const workspace = (): Promise<string> => resources.workspace();

afterEach(resources.cleanUp);

/** Writes `megabytes` MB of random bytes to `file`; resolves with their SHA-256. */
async function randomFile(file: string, megabytes: number): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(file, 'w');
  try {
    for (let written = 0; written < megabytes; written++) {
      const chunk = randomBytes(1_000_000);
      hash.update(chunk);
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A relay in front of the server whose connections the test can cut (a dropped link). */
async function startProxy(target: number): Promise<CuttableProxy> {
  const proxy = await startCuttableProxy({ port: target });
  resources.add(() => proxy.close());
  return proxy;
}

/** `lanchat --json connect` as `name` through `port`, taking every file offered into `inbox`. */
async function receiver(
  port: number,
  directory: string,
  name: string,
  inbox: string,
): Promise<JsonProcess> {
  const process = track(
    startClient(port, path.join(directory, name), ['--name', name, '--accept-files', inbox]),
  );
  await process.waitFor('connected');
  return process;
}

describe('file transfer end to end (real processes on loopback)', () => {
  it('sends 200 MB from one client to another through the server, checked by SHA-256', async () => {
    const directory = await workspace();
    const source = path.join(directory, 'big.bin');
    const digest = await randomFile(source, 200);
    const inbox = path.join(directory, 'inbox');
    const { server, port } = await startServer(path.join(directory, 'server'));
    track(server);
    const bob = await receiver(port, directory, 'bob', inbox);
    const alice = track(startClient(port, path.join(directory, 'alice'), ['--name', 'alice']));
    await alice.waitFor('connected');
    alice.send(`/send bob ${source}`);
    const offered = await bob.waitFor('transfer-offered', () => true, 60_000);
    expect(offered).toMatchObject({
      peer: 'alice',
      name: 'big.bin',
      size: 200_000_000,
      sha256: digest,
    });
    const received = await bob.waitFor('transfer-completed', () => true, 120_000);
    expect(received['path']).toBe(path.join(inbox, 'big.bin'));
    expect(await sha256Of(received['path'] as string)).toBe(digest);
    const sent = await alice.waitFor('transfer-completed', () => true, 30_000);
    expect(sent).toMatchObject({
      direction: 'outgoing',
      peer: 'bob',
      size: 200_000_000,
      sha256: digest,
    });
    expect(bob.ofType('transfer-progress').length).toBeGreaterThan(0);
    expect(await readdir(inbox)).toEqual(['big.bin']);
  });

  it("resumes when the receiver's connection is killed midway, and the file is whole", async () => {
    const directory = await workspace();
    const source = path.join(directory, 'movie.bin');
    const digest = await randomFile(source, 200);
    const inbox = path.join(directory, 'inbox');
    const { server, port } = await startServer(path.join(directory, 'server'));
    track(server);
    const proxy = await startProxy(port);
    const bob = await receiver(proxy.port, directory, 'bob', inbox);
    const alice = track(startClient(port, path.join(directory, 'alice'), ['--name', 'alice']));
    await alice.waitFor('connected');
    alice.send(`/send bob ${source}`);
    await bob.waitFor(
      'transfer-progress',
      (event) => (event['bytes'] as number) > 50_000_000,
      120_000,
    );
    expect(proxy.cut()).toBe(1);
    await bob.waitFor('reconnected', () => true, 30_000);
    const received = await bob.waitFor('transfer-completed', () => true, 120_000);
    expect(await sha256Of(received['path'] as string)).toBe(digest);
    await alice.waitFor('transfer-completed', () => true, 30_000);
    expect(alice.ofType('transfer-interrupted')).toHaveLength(1);
    const accepted = alice.ofType('transfer-accepted');
    expect(accepted).toHaveLength(2);
    // The second pass starts where the receiver was: the bytes it had are not sent again.
    expect(accepted[1]!['offset']).toBeGreaterThan(50_000_000);
    expect(await readdir(inbox)).toEqual(['movie.bin']);
  });

  it('`lanchat send` sends one file and exits 0; a file nobody can take fails with exit 1', async () => {
    const directory = await workspace();
    const source = path.join(directory, 'notes.txt');
    const digest = await randomFile(source, 1);
    const inbox = path.join(directory, 'inbox');
    const { server, port } = await startServer(path.join(directory, 'server'));
    track(server);
    const bob = await receiver(port, directory, 'bob', inbox);
    const send = (to: string): JsonProcess =>
      track(
        new JsonProcess(CLIENT_CLI, [
          '--json',
          'send',
          `127.0.0.1:${port}`,
          to,
          source,
          '--config-dir',
          path.join(directory, 'alice'),
          '--name',
          'alice',
        ]),
      );
    const ok = send('bob');
    expect(await ok.exited).toBe(0);
    expect(ok.ofType('transfer-completed')).toMatchObject([{ sha256: digest, peer: 'bob' }]);
    const received = await bob.waitFor('transfer-completed');
    expect(await sha256Of(received['path'] as string)).toBe(digest);
    const nobody = send('nobody');
    expect(await nobody.exited).toBe(1);
    expect(nobody.ofType('transfer-failed')).toMatchObject([{ code: 'no-such-user' }]);
  });
});
