import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CuttableProxy, startCuttableProxy } from './cuttable-proxy.js';
import { cleanups, runCleanups, startClient, startServer } from './test-support.js';

afterEach(runCleanups);

async function tempDir(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'lanchat-transfer-'));
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A relay in front of the server whose connections a test can cut (a dropped link). */
async function startProxy(target: number): Promise<CuttableProxy> {
  const proxy = await startCuttableProxy({ port: target });
  cleanups.push(() => proxy.close());
  return proxy;
}

describe('file transfer over TCP', () => {
  it('sends a file through the server into a folder, under a safe name, checked', async () => {
    const { port } = await startServer();
    const folder = await tempDir();
    const content = randomBytes(3_000_000);
    const source = join(folder, 'source.bin');
    await writeFile(source, content);
    const inbox = join(folder, 'inbox');
    const alice = await startClient(port, 'alice');
    const bob = await startClient(port, 'bob');
    const transfer = await alice.client.sendFile('bob', source, { name: '../../evil.sh' });
    const offered = await bob.events.waitFor('transfer-offered');
    expect(offered).toMatchObject({
      transfer,
      peer: 'alice',
      size: 3_000_000,
      name: '../../evil.sh',
    });
    expect(offered.sha256).toBe(sha256(content));
    await bob.client.acceptFile(transfer, inbox);
    const done = await bob.events.waitFor('transfer-completed');
    expect(done.path).toBe(join(inbox, '___.._evil.sh'));
    expect(sha256(await readFile(done.path!))).toBe(sha256(content));
    await alice.events.waitFor('transfer-completed');
    // Nothing else is left in the folder: the temporary file became the file.
    expect(await readdir(inbox)).toEqual(['___.._evil.sh']);
    expect(bob.events.ofType('transfer-progress').length).toBeGreaterThan(0);
  });

  it('refuses to send to a nickname that cannot exist, before reading the file', async () => {
    const { port } = await startServer();
    const alice = await startClient(port, 'alice');
    await expect(alice.client.sendFile('no body', '/nonexistent')).rejects.toThrow(/nickname/);
    expect(alice.client.online).toBe(true);
  });

  it('refuses a file the disk has no room for (free space under the reserve)', async () => {
    const { port } = await startServer();
    const folder = await tempDir();
    const source = join(folder, 'any.bin');
    await writeFile(source, randomBytes(1_000));
    const alice = await startClient(port, 'alice');
    // A reserve larger than any disk: whatever is free is too little.
    const bob = await startClient(port, 'bob', { reserveBytes: Number.MAX_SAFE_INTEGER });
    const transfer = await alice.client.sendFile('bob', source);
    await bob.events.waitFor('transfer-offered');
    expect(await bob.client.acceptFile(transfer, join(folder, 'inbox'))).toEqual({
      refused: 'no-space',
    });
    expect(await alice.events.waitFor('transfer-failed')).toMatchObject({
      code: 'no-space',
      remote: true,
    });
    expect(await readdir(join(folder, 'inbox'))).toEqual([]);
  });

  it('refuses a file over the size limit, and one the other side declines', async () => {
    const { port } = await startServer();
    const folder = await tempDir();
    const source = join(folder, 'big.bin');
    await writeFile(source, randomBytes(10_000));
    const alice = await startClient(port, 'alice');
    const bob = await startClient(port, 'bob', { maxFileSize: 1_000 });
    const first = await alice.client.sendFile('bob', source);
    await bob.events.waitFor('transfer-offered', (event) => event.transfer === first);
    expect(await bob.client.acceptFile(first, join(folder, 'inbox'))).toEqual({
      refused: 'too-large',
    });
    expect(
      await alice.events.waitFor('transfer-failed', (event) => event.transfer === first),
    ).toMatchObject({ code: 'too-large', remote: true });
    const second = await alice.client.sendFile('bob', source);
    await bob.events.waitFor('transfer-offered', (event) => event.transfer === second);
    bob.client.rejectFile(second);
    expect(
      await alice.events.waitFor('transfer-failed', (event) => event.transfer === second),
    ).toMatchObject({ code: 'rejected' });
  });

  it("resumes when the receiver's connection is cut midway, and the file is whole", async () => {
    const { port } = await startServer();
    const proxy = await startProxy(port);
    const folder = await tempDir();
    const content = randomBytes(30_000_000);
    const source = join(folder, 'movie.bin');
    await writeFile(source, content);
    const alice = await startClient(port, 'alice');
    const bob = await startClient(proxy.port, 'bob');
    const transfer = await alice.client.sendFile('bob', source);
    await bob.events.waitFor('transfer-offered');
    await bob.client.acceptFile(transfer, join(folder, 'inbox'));
    await bob.events.waitFor('transfer-progress', (event) => event.bytes > 5_000_000);
    proxy.cut();
    await alice.events.waitFor('transfer-interrupted');
    const done = await bob.events.waitFor('transfer-completed');
    expect(sha256(await readFile(done.path!))).toBe(sha256(content));
    const accepted = alice.events.ofType('transfer-accepted');
    expect(accepted).toHaveLength(2);
    expect(accepted[1]!.offset).toBeGreaterThan(5_000_000);
    await alice.events.waitFor('transfer-completed');
  });

  it('cancels from the sender, and the receiver leaves no file behind', async () => {
    const { port } = await startServer();
    const folder = await tempDir();
    const source = join(folder, 'data.bin');
    await writeFile(source, randomBytes(50_000_000));
    const inbox = join(folder, 'inbox');
    const alice = await startClient(port, 'alice');
    const bob = await startClient(port, 'bob');
    const transfer = await alice.client.sendFile('bob', source);
    await bob.events.waitFor('transfer-offered');
    await bob.client.acceptFile(transfer, inbox);
    await bob.events.waitFor('transfer-progress');
    alice.client.cancelTransfer(transfer);
    expect(await bob.events.waitFor('transfer-failed')).toMatchObject({
      code: 'cancelled',
      remote: true,
    });
    // The temporary file goes once its pending writes are done.
    for (let tries = 0; tries < 100 && (await readdir(inbox)).length > 0; tries++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    expect(await readdir(inbox)).toEqual([]);
  });
});
