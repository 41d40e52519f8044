import { keyFingerprint, nodeCryptoProvider } from '@lanchat/core';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IdentityFileError, InsecureFileModeError } from './errors.js';
import {
  IDENTITY_FILE_NAME,
  IDENTITY_HEADER,
  formatIdentityFile,
  loadOrCreateIdentity,
  parseIdentityFile,
} from './identity.js';

const posixOnly = it.skipIf(process.platform === 'win32');

let root: string;
let dataDir: string;
let keyFile: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lanchat-identity-test-'));
  dataDir = path.join(root, 'data');
  keyFile = path.join(dataDir, IDENTITY_FILE_NAME);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function writeKeyFile(text: string, mode = 0o600): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await writeFile(keyFile, text, { mode });
  await chmod(keyFile, mode);
}

const validKey = Buffer.alloc(32, 7).toString('base64');

describe('loadOrCreateIdentity', () => {
  it('creates an identity on first start and reloads the same one', async () => {
    const first = await loadOrCreateIdentity(dataDir);
    expect(first.created).toBe(true);
    expect(first.path).toBe(keyFile);
    expect(first.keyPair.privateKey).toHaveLength(32);
    expect(first.keyPair.publicKey).toEqual(
      nodeCryptoProvider.x25519PublicKey(first.keyPair.privateKey),
    );
    expect(first.fingerprint).toBe(keyFingerprint(first.keyPair.publicKey));
    expect(first.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);

    const second = await loadOrCreateIdentity(dataDir);
    expect(second.created).toBe(false);
    expect(second.keyPair.privateKey).toEqual(first.keyPair.privateKey);
    expect(second.keyPair.publicKey).toEqual(first.keyPair.publicKey);
    expect(second.fingerprint).toBe(first.fingerprint);
  });

  it('writes the documented format and no temporary file', async () => {
    const identity = await loadOrCreateIdentity(dataDir);
    const text = await readFile(keyFile, 'utf8');
    expect(text).toBe(
      `${IDENTITY_HEADER}\n${Buffer.from(identity.keyPair.privateKey).toString('base64')}\n`,
    );
    expect(await readdir(dataDir)).toEqual([IDENTITY_FILE_NAME]);
  });

  posixOnly('creates the file with mode 0600 and the directory with mode 0700', async () => {
    await loadOrCreateIdentity(dataDir);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
  });

  it('reads an existing key file, with or without a final newline or CRLF', async () => {
    const expected = new Uint8Array(Buffer.alloc(32, 7));
    for (const text of [
      `${IDENTITY_HEADER}\n${validKey}\n`,
      `${IDENTITY_HEADER}\n${validKey}`,
      `${IDENTITY_HEADER}\r\n${validKey}\r\n`,
    ]) {
      await writeKeyFile(text);
      const identity = await loadOrCreateIdentity(dataDir);
      expect(identity.created).toBe(false);
      expect(identity.keyPair.privateKey).toEqual(expected);
    }
  });

  posixOnly('refuses a key file that other users can read, telling how to fix it', async () => {
    await writeKeyFile(`${IDENTITY_HEADER}\n${validKey}\n`, 0o644);
    const error: unknown = await loadOrCreateIdentity(dataDir).catch((caught: unknown) => caught);
    expect(InsecureFileModeError.isInstance(error)).toBe(true);
    const insecure = error as InsecureFileModeError;
    expect(insecure.name).toBe('InsecureFileModeError');
    expect(insecure.path).toBe(keyFile);
    expect(insecure.mode).toBe(0o644);
    expect(insecure.message).toContain(`chmod 600 ${keyFile}`);
    expect(insecure.message).toContain('0644');
  });

  posixOnly('refuses group-readable and group-writable files too', async () => {
    for (const mode of [0o640, 0o620, 0o604, 0o660]) {
      await writeKeyFile(`${IDENTITY_HEADER}\n${validKey}\n`, mode);
      await expect(loadOrCreateIdentity(dataDir)).rejects.toThrow(InsecureFileModeError);
    }
  });

  it('skips the mode check on Windows', async () => {
    await writeKeyFile(`${IDENTITY_HEADER}\n${validKey}\n`, 0o644);
    const identity = await loadOrCreateIdentity(dataDir, { platform: 'win32' });
    expect(identity.created).toBe(false);
  });

  it.each([
    ['an empty file', ''],
    ['another header', `lanchat-identity\n${validKey}\n`],
    ['a future version', `lanchat-identity v2\n${validKey}\n`],
    ['a missing key', `${IDENTITY_HEADER}\n`],
    ['a short key', `${IDENTITY_HEADER}\n${Buffer.alloc(31).toString('base64')}\n`],
    ['a long key', `${IDENTITY_HEADER}\n${Buffer.alloc(33).toString('base64')}\n`],
    ['unpadded base64', `${IDENTITY_HEADER}\n${validKey.slice(0, -1)}\n`],
    ['base64url', `${IDENTITY_HEADER}\n${'_'.repeat(43)}=\n`],
    ['non-canonical base64', `${IDENTITY_HEADER}\n${validKey.slice(0, 42)}B=\n`],
    ['spaces around the key', `${IDENTITY_HEADER}\n ${validKey}\n`],
    ['an extra line', `${IDENTITY_HEADER}\n${validKey}\nmore\n`],
    ['a PEM key', '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VuBCIEIA==\n'],
  ])('refuses a malformed file: %s', async (_label, text) => {
    await writeKeyFile(text);
    const error: unknown = await loadOrCreateIdentity(dataDir).catch((caught: unknown) => caught);
    expect(IdentityFileError.isInstance(error)).toBe(true);
    const malformed = error as IdentityFileError;
    expect(malformed.name).toBe('IdentityFileError');
    expect(malformed.path).toBe(keyFile);
    expect(malformed.message).toContain(keyFile);
    expect(malformed.message).toContain('not a valid lanchat identity file');
    // The file is left alone: no new identity replaces it.
    expect(await readFile(keyFile, 'utf8')).toBe(text);
  });

  it('refuses a huge file and a directory in its place', async () => {
    await writeKeyFile('x'.repeat(5000));
    await expect(loadOrCreateIdentity(dataDir)).rejects.toThrow(IdentityFileError);
    await rm(keyFile);
    await mkdir(keyFile);
    await expect(loadOrCreateIdentity(dataDir)).rejects.toThrow(
      /not a regular file|EISDIR|illegal operation on a directory/,
    );
  });

  it('gives concurrent first starts one identity', async () => {
    const identities = await Promise.all([
      loadOrCreateIdentity(dataDir),
      loadOrCreateIdentity(dataDir),
      loadOrCreateIdentity(dataDir),
    ]);
    expect(identities.filter((identity) => identity.created)).toHaveLength(1);
    const fingerprints = new Set(identities.map((identity) => identity.fingerprint));
    expect(fingerprints.size).toBe(1);
    expect(await readdir(dataDir)).toEqual([IDENTITY_FILE_NAME]);
  });
});

describe('formatIdentityFile and parseIdentityFile', () => {
  it('round-trip a key', () => {
    const { privateKey } = nodeCryptoProvider.generateX25519KeyPair();
    expect(parseIdentityFile(formatIdentityFile(privateKey), 'f')).toEqual(privateKey);
  });

  it('refuse a key of the wrong length', () => {
    expect(() => formatIdentityFile(new Uint8Array(31))).toThrow(RangeError);
  });
});
