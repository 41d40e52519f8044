import { keyFingerprint } from '@lanchat/core';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KnownHostsFileError } from './errors.js';
import { KNOWN_HOSTS_FILE_NAME, KnownHosts } from './known-hosts.js';

let root: string;
let file: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lanchat-known-hosts-test-'));
  file = path.join(root, 'config', KNOWN_HOSTS_FILE_NAME);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const keyA = new Uint8Array(32).fill(1);
const keyB = new Uint8Array(32).fill(2);
const base64 = (key: Uint8Array): string => Buffer.from(key).toString('base64');

describe('KnownHosts', () => {
  it('starts empty when the file does not exist, without creating it', async () => {
    const hosts = await KnownHosts.open(file);
    expect(hosts.path).toBe(file);
    expect(hosts.hostKeys()).toEqual([]);
    expect(hosts.check('lab:9999', keyA)).toEqual({ status: 'new' });
    expect(await readdir(root)).toEqual([]);
  });

  it('reports new, known and changed keys', async () => {
    const hosts = await KnownHosts.open(file);
    expect(hosts.check('lab:9999', keyA)).toEqual({ status: 'new' });
    await hosts.pin('lab:9999', keyA);
    expect(hosts.check('lab:9999', keyA)).toEqual({ status: 'known' });
    expect(hosts.check('lab:9998', keyA)).toEqual({ status: 'new' });
    expect(hosts.check('lab:9999', keyB)).toEqual({
      status: 'changed',
      pinnedFingerprint: keyFingerprint(keyA),
      presentedFingerprint: keyFingerprint(keyB),
    });
  });

  it('looks a pinned key up (a copy: changing it changes nothing pinned)', async () => {
    const hosts = await KnownHosts.open(file);
    expect(hosts.lookup('lab:9999')).toBeUndefined();
    await hosts.pin('lab:9999', keyA);
    const found = hosts.lookup('lab:9999')!;
    expect(found).toEqual(keyA);
    found.fill(9);
    expect(hosts.lookup('lab:9999')).toEqual(keyA);
    expect(hosts.lookup('lab:9998')).toBeUndefined();
    expect(() => hosts.lookup('not a host key')).toThrow(RangeError);
  });

  it('saves pins in the documented format, with mode 0600 and no temporary file', async () => {
    const hosts = await KnownHosts.open(file);
    await hosts.pin('lab:9999', keyA);
    await hosts.pin('[fe80::1%eth0]:9999', keyB);
    const text = await readFile(file, 'utf8');
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^# lanchat known hosts/);
    expect(lines.slice(1)).toEqual([
      `lab:9999 ${base64(keyA)}`,
      `[fe80::1%eth0]:9999 ${base64(keyB)}`,
      '',
    ]);
    expect(await readdir(path.dirname(file))).toEqual([KNOWN_HOSTS_FILE_NAME]);
    if (process.platform !== 'win32') {
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    }
    const reopened = await KnownHosts.open(file);
    expect(reopened.hostKeys()).toEqual(['lab:9999', '[fe80::1%eth0]:9999']);
    expect(reopened.check('[fe80::1%eth0]:9999', keyB)).toEqual({ status: 'known' });
  });

  it('replaces a pinned key in place, keeping comments and other lines', async () => {
    await writeFile(
      path.join(root, 'known'),
      `# mine\n\nlab:9999 ${base64(keyA)}\n  # indented comment\nother:1\t${base64(keyA)}\r\n`,
    );
    file = path.join(root, 'known');
    const hosts = await KnownHosts.open(file);
    expect(hosts.check('other:1', keyA)).toEqual({ status: 'known' });
    await hosts.pin('lab:9999', keyB);
    expect(hosts.check('lab:9999', keyB)).toEqual({ status: 'known' });
    expect(await readFile(file, 'utf8')).toBe(
      `# mine\n\nlab:9999 ${base64(keyB)}\n  # indented comment\nother:1 ${base64(keyA)}\n`,
    );
  });

  it('keeps pins made by another process meanwhile', async () => {
    const first = await KnownHosts.open(file);
    const second = await KnownHosts.open(file);
    await first.pin('a:1', keyA);
    await second.pin('b:1', keyB);
    const reopened = await KnownHosts.open(file);
    expect(reopened.hostKeys()).toEqual(['a:1', 'b:1']);
    expect(second.check('a:1', keyA)).toEqual({ status: 'known' });
  });

  it('forgets a pinned key', async () => {
    const hosts = await KnownHosts.open(file);
    await hosts.pin('a:1', keyA);
    await expect(hosts.unpin('a:1')).resolves.toBe(true);
    await expect(hosts.unpin('a:1')).resolves.toBe(false);
    expect(hosts.check('a:1', keyA)).toEqual({ status: 'new' });
    expect((await KnownHosts.open(file)).hostKeys()).toEqual([]);
  });

  it('does not share the caller’s key array', async () => {
    const hosts = await KnownHosts.open(file);
    const key = new Uint8Array(keyA);
    await hosts.pin('a:1', key);
    key.fill(9);
    expect(hosts.check('a:1', keyA)).toEqual({ status: 'known' });
  });

  it('refuses bad host keys and public keys', async () => {
    const hosts = await KnownHosts.open(file);
    expect(() => hosts.check('', keyA)).toThrow(RangeError);
    expect(() => hosts.check('a b:1', keyA)).toThrow(RangeError);
    expect(() => hosts.check('#a:1', keyA)).toThrow(RangeError);
    expect(() => hosts.check('a:1', new Uint8Array(31))).toThrow(RangeError);
    await expect(hosts.pin('a:1', new Uint8Array(33))).rejects.toThrow(RangeError);
  });

  it.each([
    ['one field', 'lab:9999\n', 1, 'expected "HOST:PORT PUBLIC-KEY" but found 1 fields'],
    ['three fields', `lab:9999 ${base64(keyA)} extra\n`, 1, 'found 3 fields'],
    ['a short key', `lab:9999 ${base64(new Uint8Array(31))}\n`, 1, 'the key is not 32 bytes'],
    ['bad base64', `# c\nlab:9999 ${'*'.repeat(43)}=\n`, 2, 'the key is not 32 bytes'],
    [
      'a duplicate',
      `a:1 ${base64(keyA)}\n\na:1 ${base64(keyB)}\n`,
      3,
      'a:1 is already listed on line 1',
    ],
  ])('refuses a malformed file: %s', async (_label, text, line, reason) => {
    await writeFile(path.join(root, 'known'), text);
    file = path.join(root, 'known');
    const error: unknown = await KnownHosts.open(file).catch((caught: unknown) => caught);
    expect(KnownHostsFileError.isInstance(error)).toBe(true);
    const malformed = error as KnownHostsFileError;
    expect(malformed.name).toBe('KnownHostsFileError');
    expect(malformed.path).toBe(file);
    expect(malformed.line).toBe(line);
    expect(malformed.message).toContain(`${file}, line ${String(line)}: `);
    expect(malformed.message).toContain(reason);
    expect(malformed.message).toContain('Fix or delete that line');
  });

  it('refuses to pin when the file on disk has become malformed', async () => {
    const hosts = await KnownHosts.open(file);
    await hosts.pin('a:1', keyA);
    await writeFile(file, 'garbage\n');
    await expect(hosts.pin('b:1', keyB)).rejects.toThrow(KnownHostsFileError);
    expect(await readFile(file, 'utf8')).toBe('garbage\n');
  });
});
