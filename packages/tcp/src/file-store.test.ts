import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockReader, readAt, writeAt } from './file-store.js';

let directory = '';

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'lanchat-file-store-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

function equalBytes(actual: Uint8Array, expected: Uint8Array): boolean {
  return Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(expected);
}

describe('BlockReader', () => {
  it('hands out exactly the bytes a direct read gives, for any requests in any order', async () => {
    const content = randomBytes(10_000);
    const path = join(directory, 'source.bin');
    await writeFile(path, content);
    const handle = await open(path, 'r');
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 4096 }),
          fc.array(
            fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 3000 })),
            { minLength: 1, maxLength: 20 },
          ),
          async (blockBytes, requests) => {
            const reader = new BlockReader(handle, content.length, blockBytes);
            const answers = await Promise.all(
              requests.map(([offset, length]) => reader.read(offset, length)),
            );
            answers.forEach((bytes, index) => {
              const [offset, length] = requests[index]!;
              const expected = content.subarray(offset, Math.min(offset + length, content.length));
              expect(equalBytes(bytes, expected)).toBe(true);
            });
          },
        ),
        { numRuns: 300 },
      );
    } finally {
      await handle.close();
    }
  });

  it('gives fewer bytes, not stale or foreign ones, when the file shrank after opening', async () => {
    const content = randomBytes(5000);
    const path = join(directory, 'shrinking.bin');
    await writeFile(path, content);
    const handle = await open(path, 'r');
    try {
      const reader = new BlockReader(handle, content.length, 1024);
      await truncate(path, 2500);
      const inside = await reader.read(2000, 400);
      const across = await reader.read(2048, 1000);
      const beyond = await reader.read(3072, 1000);
      expect(equalBytes(inside, content.subarray(2000, 2400))).toBe(true);
      expect(equalBytes(across, content.subarray(2048, 2500))).toBe(true);
      expect(beyond.length).toBe(0);
    } finally {
      await handle.close();
    }
  });

  it('reports a failed read, and reads again on the next request', async () => {
    const path = join(directory, 'closed.bin');
    await writeFile(path, randomBytes(3000));
    const handle = await open(path, 'r');
    const reader = new BlockReader(handle, 3000, 1024);
    await handle.close();
    await expect(reader.read(0, 100)).rejects.toThrow();
    await expect(reader.read(0, 100)).rejects.toThrow();
  });
});

describe('readAt', () => {
  it('reads at an offset, and stops at the end of the file', async () => {
    const content = randomBytes(3000);
    const path = join(directory, 'read-at.bin');
    await writeFile(path, content);
    const handle = await open(path, 'r');
    try {
      expect(equalBytes(await readAt(handle, 100, 200), content.subarray(100, 300))).toBe(true);
      expect(equalBytes(await readAt(handle, 2900, 500), content.subarray(2900))).toBe(true);
    } finally {
      await handle.close();
    }
  });
});

describe('writeAt', () => {
  it('writes any list of buffers one after the other at its position', async () => {
    const path = join(directory, 'write-at.bin');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 30 }),
        fc.integer({ min: 0, max: 5000 }),
        async (buffers, position) => {
          const handle = await open(path, 'w+');
          try {
            await writeAt(handle, buffers, position);
          } finally {
            await handle.close();
          }
          const written = await readFile(path);
          const joined = Buffer.concat(buffers);
          const expected =
            joined.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.alloc(position), joined]);
          expect(written.equals(expected)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
