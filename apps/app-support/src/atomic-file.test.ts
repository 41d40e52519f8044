import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorCode, readSmallFile, writeFileAtomic } from './atomic-file.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lanchat-atomic-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const describeError = (reason: string): Error => new Error(`bad file: ${reason}`);

describe('writeFileAtomic', () => {
  it('writes a new file and replaces an existing one, leaving no temporary file', async () => {
    const file = path.join(root, 'data.txt');
    await expect(writeFileAtomic(file, 'one')).resolves.toBe(true);
    await expect(writeFileAtomic(file, new TextEncoder().encode('two'))).resolves.toBe(true);
    expect(await readFile(file, 'utf8')).toBe('two');
    expect(await readdir(root)).toEqual(['data.txt']);
  });

  it.skipIf(process.platform === 'win32')(
    'gives the file mode 0600 by default, or the mode asked for',
    async () => {
      const file = path.join(root, 'secret');
      await writeFile(file, 'old', { mode: 0o644 });
      await chmod(file, 0o644);
      await writeFileAtomic(file, 'new');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      await writeFileAtomic(file, 'public', { mode: 0o640 });
      expect((await stat(file)).mode & 0o777).toBe(0o640);
    },
  );

  it('with overwrite: false, leaves an existing file alone and says so', async () => {
    const file = path.join(root, 'keep');
    await writeFile(file, 'first');
    await expect(writeFileAtomic(file, 'second', { overwrite: false })).resolves.toBe(false);
    expect(await readFile(file, 'utf8')).toBe('first');
    await expect(writeFileAtomic(path.join(root, 'new'), 'x', { overwrite: false })).resolves.toBe(
      true,
    );
    expect((await readdir(root)).sort()).toEqual(['keep', 'new']);
  });

  it('fails without leaving a temporary file when the target cannot be replaced', async () => {
    const target = path.join(root, 'dir');
    await writeFile(path.join(root, 'other'), '');
    await mkdir(path.join(target, 'child'), { recursive: true });
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow();
    expect((await readdir(root)).sort()).toEqual(['dir', 'other']);
  });

  it('fails when the directory does not exist', async () => {
    const error: unknown = await writeFileAtomic(path.join(root, 'missing', 'file'), 'x').catch(
      (caught: unknown) => caught,
    );
    expect(errorCode(error)).toBe('ENOENT');
  });
});

describe('readSmallFile', () => {
  it('returns undefined for a missing file', async () => {
    await expect(readSmallFile(path.join(root, 'none'), 10, describeError)).resolves.toBe(
      undefined,
    );
  });

  it('returns the text and mode of a file', async () => {
    const file = path.join(root, 'f');
    await writeFile(file, 'héllo');
    const found = await readSmallFile(file, 100, describeError);
    expect(found?.text).toBe('héllo');
    expect(found !== undefined && (found.mode & 0o170000) === 0o100000).toBe(true);
  });

  it('refuses a file over the limit and a directory', async () => {
    const file = path.join(root, 'big');
    await writeFile(file, 'x'.repeat(11));
    await expect(readSmallFile(file, 10, describeError)).rejects.toThrow(
      'bad file: it is 11 bytes long; the limit is 10',
    );
    await expect(readSmallFile(root, 10, describeError)).rejects.toThrow(
      /bad file: it is not a regular file|EISDIR/,
    );
  });
});

describe('errorCode', () => {
  it('reads the code of system errors only', () => {
    expect(errorCode(Object.assign(new Error('x'), { code: 'EACCES' }))).toBe('EACCES');
    expect(errorCode(new Error('x'))).toBe(undefined);
    expect(errorCode({ code: 5 })).toBe(undefined);
    expect(errorCode('ENOENT')).toBe(undefined);
    expect(errorCode(null)).toBe(undefined);
  });
});
