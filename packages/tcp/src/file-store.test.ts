import { randomBytes } from 'node:crypto';
import {
  type FileHandle,
  mkdtemp,
  open,
  readFile,
  rm,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BlockReader,
  FLUSH_BEHIND_BYTES,
  type TargetFile,
  finishTarget,
  flushBehind,
  readAt,
  writeAt,
} from './file-store.js';

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

describe('flushBehind and finishTarget', () => {
  /** A target on a stand-in handle whose flushes settle when the test says. */
  function fakeTarget() {
    const flushes: { resolve: () => void; reject: (error: Error) => void }[] = [];
    const calls: string[] = [];
    const handle = {
      datasync: () =>
        new Promise<void>((resolve, reject) => {
          calls.push('datasync');
          flushes.push({ resolve, reject });
        }),
      sync: () => {
        calls.push('sync');
        return Promise.resolve();
      },
      close: () => {
        calls.push('close');
        return Promise.resolve();
      },
    };
    const target: TargetFile = {
      handle: handle as unknown as FileHandle,
      directory,
      partPath: join(directory, 'never-made.part'),
      name: 'never-made.bin',
      flush: { unflushed: 0, running: undefined, error: undefined },
    };
    return { target, flushes, calls };
  }

  it('starts a flush each FLUSH_BEHIND_BYTES written, one at a time, and the final sync waits for it', async () => {
    const { target, flushes, calls } = fakeTarget();
    flushBehind(target, FLUSH_BEHIND_BYTES - 1);
    expect(calls).toEqual([]);
    flushBehind(target, 1);
    expect(calls).toEqual(['datasync']);
    // Another threshold's worth while the first runs: no second flush yet.
    flushBehind(target, FLUSH_BEHIND_BYTES);
    expect(calls).toEqual(['datasync']);
    flushes[0]!.resolve();
    await target.flush.running;
    expect(target.flush.running).toBeUndefined();
    flushBehind(target, 1);
    expect(calls).toEqual(['datasync', 'datasync']);
    // finishTarget waits for the flush under way before its own sync.
    const finishing = finishTarget(target).catch((error: unknown) => error);
    await Promise.resolve();
    expect(calls).toEqual(['datasync', 'datasync']);
    flushes[1]!.resolve();
    await finishing; // link() fails on the file that was never made: only the order matters here
    expect(calls.slice(0, 4)).toEqual(['datasync', 'datasync', 'sync', 'close']);
  });

  it('a failed flush fails the finish with its error, and no sync can hide it', async () => {
    const { target, flushes, calls } = fakeTarget();
    flushBehind(target, FLUSH_BEHIND_BYTES);
    flushes[0]!.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(finishTarget(target)).rejects.toThrow(/EIO/);
    expect(calls).toEqual(['datasync']);
  });

  it('a file written past several thresholds is whole once finished, flushed on the way', async () => {
    const partPath = join(directory, '.large.bin.part');
    const handle = await open(partPath, 'wx+', 0o600);
    const datasync = vi.spyOn(handle, 'datasync');
    const target: TargetFile = {
      handle,
      directory,
      partPath,
      name: 'large.bin',
      flush: { unflushed: 0, running: undefined, error: undefined },
    };
    const block = randomBytes(4 * 1024 * 1024);
    const blocks = (2 * FLUSH_BEHIND_BYTES) / block.length + 1;
    for (let index = 0; index < blocks; index++) {
      await writeAt(handle, [block], index * block.length);
      flushBehind(target, block.length);
    }
    const path = await finishTarget(target);
    expect(path).toBe(join(directory, 'large.bin'));
    expect(datasync.mock.calls.length).toBeGreaterThanOrEqual(1);
    expect(datasync.mock.calls.length).toBeLessThanOrEqual(2);
    const written = await readFile(path);
    expect(written.length).toBe(blocks * block.length);
    for (let index = 0; index < blocks; index++) {
      expect(
        equalBytes(written.subarray(index * block.length, (index + 1) * block.length), block),
      ).toBe(true);
    }
  });
});
