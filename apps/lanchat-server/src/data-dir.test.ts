import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureDataDir, resolveDataDir } from './data-dir.js';

describe('resolveDataDir', () => {
  const linux = { platform: 'linux', homeDir: '/home/ada' } as const;
  const windows = { platform: 'win32', homeDir: 'C:\\Users\\ada' } as const;

  it('prefers an explicit directory, made absolute', () => {
    expect(resolveDataDir('/srv/chat', { XDG_DATA_HOME: '/x' }, linux)).toBe('/srv/chat');
    expect(resolveDataDir('data', {}, linux)).toBe(path.resolve('data'));
  });

  it('uses $XDG_DATA_HOME when it is absolute', () => {
    expect(resolveDataDir(undefined, { XDG_DATA_HOME: '/data' }, linux)).toBe(
      '/data/lanchat-server',
    );
  });

  it('falls back to ~/.local/share, ignoring an empty or relative $XDG_DATA_HOME', () => {
    const expected = '/home/ada/.local/share/lanchat-server';
    expect(resolveDataDir(undefined, {}, linux)).toBe(expected);
    expect(resolveDataDir(undefined, { XDG_DATA_HOME: '' }, linux)).toBe(expected);
    expect(resolveDataDir(undefined, { XDG_DATA_HOME: 'rel/dir' }, linux)).toBe(expected);
    expect(resolveDataDir('', {}, linux)).toBe(expected);
  });

  it('uses %LOCALAPPDATA% on Windows', () => {
    expect(
      resolveDataDir(undefined, { LOCALAPPDATA: 'D:\\Local', XDG_DATA_HOME: '/x' }, windows),
    ).toBe('D:\\Local\\lanchat-server');
    expect(resolveDataDir(undefined, {}, windows)).toBe(
      'C:\\Users\\ada\\AppData\\Local\\lanchat-server',
    );
  });

  it('reads process.env and the real home directory by default', () => {
    expect(path.isAbsolute(resolveDataDir())).toBe(true);
    expect(path.basename(resolveDataDir())).toBe('lanchat-server');
  });
});

describe('ensureDataDir', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'lanchat-server-test-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates the directory and its parents', async () => {
    const dir = path.join(root, 'a', 'b', 'lanchat-server');
    await expect(ensureDataDir(dir)).resolves.toBe(dir);
    expect((await stat(dir)).isDirectory()).toBe(true);
    // A second call is harmless.
    await expect(ensureDataDir(dir)).resolves.toBe(dir);
  });

  it.skipIf(process.platform === 'win32')('makes it private (mode 0700)', async () => {
    const dir = path.join(root, 'lanchat-server');
    await ensureDataDir(dir);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });
});
