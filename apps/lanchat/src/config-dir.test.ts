import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureConfigDir, resolveConfigDir } from './config-dir.js';

describe('resolveConfigDir', () => {
  const linux = { platform: 'linux', homeDir: '/home/ada' } as const;
  const mac = { platform: 'darwin', homeDir: '/Users/ada' } as const;
  const windows = { platform: 'win32', homeDir: 'C:\\Users\\ada' } as const;

  it('prefers an explicit directory, made absolute', () => {
    expect(resolveConfigDir('/etc/lanchat', { XDG_CONFIG_HOME: '/x' }, linux)).toBe('/etc/lanchat');
    expect(resolveConfigDir('conf', {}, linux)).toBe(path.resolve('conf'));
  });

  it('uses $XDG_CONFIG_HOME when it is absolute', () => {
    expect(resolveConfigDir(undefined, { XDG_CONFIG_HOME: '/cfg' }, linux)).toBe('/cfg/lanchat');
    expect(resolveConfigDir(undefined, { XDG_CONFIG_HOME: '/cfg' }, mac)).toBe('/cfg/lanchat');
  });

  it('falls back to ~/.config, ignoring an empty or relative $XDG_CONFIG_HOME', () => {
    expect(resolveConfigDir(undefined, {}, linux)).toBe('/home/ada/.config/lanchat');
    expect(resolveConfigDir(undefined, { XDG_CONFIG_HOME: '' }, linux)).toBe(
      '/home/ada/.config/lanchat',
    );
    expect(resolveConfigDir(undefined, { XDG_CONFIG_HOME: 'cfg' }, mac)).toBe(
      '/Users/ada/.config/lanchat',
    );
  });

  it('uses %APPDATA% on Windows', () => {
    expect(
      resolveConfigDir(undefined, { APPDATA: 'D:\\Roaming', XDG_CONFIG_HOME: '/x' }, windows),
    ).toBe('D:\\Roaming\\lanchat');
    expect(resolveConfigDir(undefined, {}, windows)).toBe(
      'C:\\Users\\ada\\AppData\\Roaming\\lanchat',
    );
  });

  it('reads process.env and the real home directory by default', () => {
    expect(path.isAbsolute(resolveConfigDir())).toBe(true);
    expect(path.basename(resolveConfigDir())).toBe('lanchat');
  });
});

describe('ensureConfigDir', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'lanchat-config-test-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates the directory and its parents, private (mode 0700)', async () => {
    const dir = path.join(root, 'a', 'lanchat');
    await expect(ensureConfigDir(dir)).resolves.toBe(dir);
    await expect(ensureConfigDir(dir)).resolves.toBe(dir);
    const stats = await stat(dir);
    expect(stats.isDirectory()).toBe(true);
    if (process.platform !== 'win32') expect(stats.mode & 0o777).toBe(0o700);
  });
});
