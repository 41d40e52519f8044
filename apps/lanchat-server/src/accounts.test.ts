import { InvalidNameError, Secret } from '@lanchat/core';
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACCOUNTS_FILE_NAME, AccountStore, parseAccountsCsv } from './accounts.js';
import {
  AccountExistsError,
  AccountsFileError,
  InvalidPasswordError,
  PasswordTooLongError,
  WeakPasswordError,
} from './errors.js';

/** A small scrypt cost keeps the tests fast; the default (32768) is tested once. */
const FAST = { scryptCost: 1024 } as const;

let root: string;
let file: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lanchat-accounts-test-'));
  file = path.join(root, ACCOUNTS_FILE_NAME);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

interface StoredFile {
  version: number;
  users: Record<string, { name: string; hash: string }>;
}

async function readStored(): Promise<StoredFile> {
  return JSON.parse(await readFile(file, 'utf8')) as StoredFile;
}

describe('AccountStore', () => {
  it('starts empty when the file does not exist, without creating it', async () => {
    const store = await AccountStore.open(file, FAST);
    expect(store.list()).toEqual([]);
    expect(store.size).toBe(0);
    expect(store.path).toBe(file);
    expect(await readdir(root)).toEqual([]);
  });

  it('adds, verifies, lists and removes accounts', async () => {
    const store = await AccountStore.open(file, FAST);
    await expect(store.add('Bob', 'correct horse')).resolves.toBe('added');
    await expect(store.add('alice', new Secret('battery staple'))).resolves.toBe('added');
    expect(store.list()).toEqual(['alice', 'Bob']);
    expect(store.has('bob')).toBe(true);
    expect(store.has('BOB')).toBe(true);
    expect(store.has('carol')).toBe(false);
    expect(store.has('not a name')).toBe(false);

    await expect(store.verify('Bob', 'correct horse')).resolves.toBe(true);
    await expect(store.verify('bob', new Secret('correct horse'))).resolves.toBe(true);
    await expect(store.verify('alice', 'battery staple')).resolves.toBe(true);

    await expect(store.remove('BOB')).resolves.toBe(true);
    await expect(store.remove('bob')).resolves.toBe(false);
    await expect(store.remove('not a name')).resolves.toBe(false);
    expect(store.list()).toEqual(['alice']);
    await expect(store.verify('bob', 'correct horse')).resolves.toBe(false);
  });

  it('refuses a wrong password, an unknown user and an impossible name', async () => {
    const store = await AccountStore.open(file, FAST);
    await store.add('alice', 'correct horse');
    await expect(store.verify('alice', 'correct horsE')).resolves.toBe(false);
    await expect(store.verify('alice', '')).resolves.toBe(false);
    await expect(store.verify('mallory', 'correct horse')).resolves.toBe(false);
    await expect(store.verify('bad name', 'correct horse')).resolves.toBe(false);
    await expect(store.verify('alice', 'x'.repeat(2000))).resolves.toBe(false);
  });

  it('compares usernames without case, in NFKC, and keeps the spelling given', async () => {
    const store = await AccountStore.open(file, FAST);
    await store.add('Ａlice', 'password1');
    expect(store.has('ALICE')).toBe(true);
    await expect(store.verify('alice', 'password1')).resolves.toBe(true);
    expect(store.list()).toEqual(['Ａlice']);
    expect(Object.keys((await readStored()).users)).toEqual(['alice']);
  });

  it('normalises passwords to NFC', async () => {
    const store = await AccountStore.open(file, FAST);
    await store.add('zoe', 'caf\u00e9 au lait');
    await expect(store.verify('zoe', 'cafe\u0301 au lait')).resolves.toBe(true);
  });

  it('refuses to add an existing account unless told to replace it', async () => {
    const store = await AccountStore.open(file, FAST);
    await store.add('alice', 'password1');
    const error: unknown = await store.add('ALICE', 'password2').catch((caught: unknown) => caught);
    expect(AccountExistsError.isInstance(error)).toBe(true);
    expect((error as AccountExistsError).username).toBe('alice');
    expect((error as Error).message).toBe(
      'an account named "alice" already exists; remove it first or replace it',
    );
    expect((error as Error).message).not.toContain('password');
    await expect(store.verify('alice', 'password1')).resolves.toBe(true);

    await expect(store.add('ALICE', 'password2', { replace: true })).resolves.toBe('replaced');
    await expect(store.verify('alice', 'password1')).resolves.toBe(false);
    await expect(store.verify('alice', 'password2')).resolves.toBe(true);
    expect(store.list()).toEqual(['ALICE']);
  });

  it('refuses concurrent adds of one name but the first', async () => {
    const store = await AccountStore.open(file, FAST);
    const results = await Promise.allSettled([
      store.add('alice', 'password1'),
      store.add('Alice', 'password2'),
    ]);
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(store.size).toBe(1);
    expect(Object.keys((await readStored()).users)).toEqual(['alice']);
  });

  it('checks usernames with the core rules', async () => {
    const store = await AccountStore.open(file, FAST);
    for (const name of ['', 'two words', 'a/b', 'x'.repeat(33)]) {
      await expect(store.add(name, 'password1')).rejects.toThrow(InvalidNameError);
    }
    expect(store.size).toBe(0);
  });

  it('requires passwords of 8 to 1024 bytes and never shows them', async () => {
    const store = await AccountStore.open(file, FAST);
    const short: unknown = await store.add('alice', 'seven77').catch((caught: unknown) => caught);
    expect(WeakPasswordError.isInstance(short)).toBe(true);
    expect(InvalidPasswordError.isInstance(short)).toBe(true);
    expect((short as Error).message).toBe(
      'the password is 7 bytes long; it must be at least 8 bytes (characters outside ASCII count as 2 to 4)',
    );
    expect((short as Error).message).not.toContain('seven77');
    await expect(store.add('alice', '')).rejects.toThrow(WeakPasswordError);

    const long: unknown = await store
      .add('alice', 'y'.repeat(1025))
      .catch((caught: unknown) => caught);
    expect(PasswordTooLongError.isInstance(long)).toBe(true);
    expect((long as Error).message).toBe(
      'the password is 1025 bytes long; it must be at most 1024 bytes',
    );

    // Bytes, not characters: four 2-byte characters are enough, 1024 bytes are allowed.
    await expect(store.add('bob', 'éééé')).resolves.toBe('added');
    await expect(store.add('carol', 'z'.repeat(1024))).resolves.toBe('added');
    await expect(store.add('dave', '€'.repeat(342))).rejects.toThrow(PasswordTooLongError);
    expect(store.list()).toEqual(['bob', 'carol']);
  });

  it('stores PHC scrypt hashes in the documented file format', async () => {
    const store = await AccountStore.open(file, FAST);
    await store.add('alice', 'password1');
    await store.add('Bob', 'password1');
    const stored = await readStored();
    expect(Object.keys(stored)).toEqual(['version', 'users']);
    expect(stored.version).toBe(1);
    expect(Object.keys(stored.users)).toEqual(['alice', 'bob']);
    expect(stored.users['bob']?.name).toBe('Bob');
    const hashes = Object.values(stored.users).map((user) => user.hash);
    for (const hash of hashes) {
      expect(hash).toMatch(/^scrypt\$N=1024,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    }
    // Same password, fresh salts: different hashes.
    expect(hashes[0]).not.toBe(hashes[1]);
    expect(await readFile(file, 'utf8')).not.toContain('password1');
  });

  it('uses N=32768 by default, and verifies hashes of any stored cost', async () => {
    const strong = await AccountStore.open(file);
    await strong.add('alice', 'password1');
    expect((await readStored()).users['alice']?.hash).toMatch(/^scrypt\$N=32768,r=8,p=1\$/);
    // A store with another cost for new hashes still verifies the old ones.
    const reopened = await AccountStore.open(file, FAST);
    await expect(reopened.verify('alice', 'password1')).resolves.toBe(true);
    await expect(reopened.verify('alice', 'password2')).resolves.toBe(false);
  });

  it('refuses a cost that is not a power of two', async () => {
    await expect(AccountStore.open(file, { scryptCost: 1000 })).rejects.toThrow(RangeError);
    await expect(AccountStore.open(file, { scryptCost: 1 })).rejects.toThrow(RangeError);
  });

  it.skipIf(process.platform === 'win32')('writes the file with mode 0600', async () => {
    const store = await AccountStore.open(file, FAST);
    await store.add('alice', 'password1');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await chmod(file, 0o644);
    await store.remove('alice');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('writes atomically, leaving no temporary files', async () => {
    const store = await AccountStore.open(file, FAST);
    await Promise.all([
      store.add('alice', 'password1'),
      store.add('bob', 'password1'),
      store.add('carol', 'password1'),
    ]);
    await store.remove('bob');
    expect(await readdir(root)).toEqual([ACCOUNTS_FILE_NAME]);
    expect(Object.keys((await readStored()).users)).toEqual(['alice', 'carol']);
  });

  it('changes nothing in memory when the write fails', async () => {
    const store = await AccountStore.open(path.join(root, 'missing-dir', ACCOUNTS_FILE_NAME), FAST);
    await expect(store.add('alice', 'password1')).rejects.toThrow();
    expect(store.has('alice')).toBe(false);
    await expect(store.verify('alice', 'password1')).resolves.toBe(false);
  });

  it('reloads what it wrote', async () => {
    const store = await AccountStore.open(file, FAST);
    await store.add('alice', 'password1');
    await store.add('__proto__', 'password2');
    const reopened = await AccountStore.open(file, FAST);
    expect(reopened.list()).toEqual(['__proto__', 'alice']);
    await expect(reopened.verify('alice', 'password1')).resolves.toBe(true);
    await expect(reopened.verify('__proto__', 'password2')).resolves.toBe(true);
  });

  const goodHash = 'scrypt$N=1024,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(43);
  it.each([
    ['not JSON', '{', 'it is not valid JSON'],
    ['an array', '[]', 'it must hold a JSON object'],
    ['no version', '{"users":{}}', '"version" is missing'],
    ['version 2', '{"version":2,"users":{}}', '"version" is 2'],
    ['an unknown field', '{"version":1,"users":{},"x":1}', 'unknown field "x"'],
    ['no users', '{"version":1}', '"users" must be an object'],
    ['a bad entry', '{"version":1,"users":{"a":1}}', 'the entry "a" must be an object'],
    [
      'a missing hash',
      '{"version":1,"users":{"a":{"name":"a"}}}',
      'the entry "a" has no "hash" string',
    ],
    [
      'an invalid name',
      `{"version":1,"users":{"a b":{"name":"a b","hash":"${goodHash}"}}}`,
      'the entry "a b" has an invalid name',
    ],
    [
      'a key that does not match the name',
      `{"version":1,"users":{"bob":{"name":"Alice","hash":"${goodHash}"}}}`,
      'must be filed under "alice"',
    ],
    [
      'a bad hash',
      '{"version":1,"users":{"a":{"name":"a","hash":"plain"}}}',
      'the hash of the entry "a" is invalid',
    ],
    [
      'an oversized cost',
      `{"version":1,"users":{"a":{"name":"a","hash":"${goodHash.replace('1024', '1048576').replace('r=8', 'r=32')}"}}}`,
      'more than 256 MiB',
    ],
    [
      'a cost that is not a power of two',
      `{"version":1,"users":{"a":{"name":"a","hash":"${goodHash.replace('1024', '1000')}"}}}`,
      'N=1000 is not a power of two',
    ],
  ])('refuses a malformed file: %s', async (_label, text, reason) => {
    await writeFile(file, text);
    const error: unknown = await AccountStore.open(file, FAST).catch((caught: unknown) => caught);
    expect(AccountsFileError.isInstance(error)).toBe(true);
    expect((error as AccountsFileError).path).toBe(file);
    expect((error as Error).message).toContain(`${file} is not a valid account file`);
    expect((error as Error).message).toContain(reason);
  });

  it('accepts a hand-written file with a valid hash', async () => {
    await writeFile(file, `{"version":1,"users":{"a":{"name":"a","hash":"${goodHash}"}}}`);
    const store = await AccountStore.open(file, FAST);
    expect(store.list()).toEqual(['a']);
    await expect(store.verify('a', 'anything')).resolves.toBe(false);
  });
});

describe('AccountStore.importCsv', () => {
  it('imports a file with a header, quotes, blank lines and bad lines', async () => {
    const store = await AccountStore.open(file, FAST);
    await store.add('carol', 'old password');
    const csv = [
      '\uFEFFusername,password',
      'alice,correct horse',
      '',
      '  bob ,  "  spaced out  " ',
      '"dave","has ""quotes"", and a comma"',
      'carol,new password',
      'eve,Qz5sh',
      'frank',
      'grace,Gq8pa,Gq8wo',
      'bad name,Bq8secret',
      '"heidi,Hq8unterminated',
      'Alice,Aq8another',
      '   ',
      'ivan,pa"ss"word',
    ].join('\r\n');
    const result = await store.importCsv(csv);
    expect(result.added).toEqual(['alice', 'bob', 'dave', 'ivan']);
    expect(result.replaced).toEqual(['carol']);
    expect(result.errors.map((error) => error.line)).toEqual([7, 8, 9, 10, 11, 12]);
    expect(result.errors[0]?.message).toBe(
      'the password is 5 bytes long; it must be at least 8 bytes (characters outside ASCII count as 2 to 4) (user "eve")',
    );
    expect(result.errors[1]?.message).toMatch(
      /^expected 2 fields \(username,password\) but found 1/,
    );
    expect(result.errors[2]?.message).toMatch(/but found 3; put a password that holds a comma/);
    expect(result.errors[3]?.message).toMatch(/^the username is invalid/);
    expect(result.errors[4]?.message).toBe('a double-quoted field is not closed on its line');
    expect(result.errors[5]?.message).toBe('the username "Alice" was already given on line 2');
    for (const error of result.errors) {
      for (const secret of ['Qz5sh', 'Gq8', 'Bq8', 'Hq8', 'Aq8']) {
        expect(error.message).not.toContain(secret);
      }
    }

    await expect(store.verify('alice', 'correct horse')).resolves.toBe(true);
    await expect(store.verify('bob', '  spaced out  ')).resolves.toBe(true);
    await expect(store.verify('dave', 'has "quotes", and a comma')).resolves.toBe(true);
    await expect(store.verify('carol', 'new password')).resolves.toBe(true);
    await expect(store.verify('ivan', 'pa"ss"word')).resolves.toBe(true);
    expect(store.list()).toEqual(['alice', 'bob', 'carol', 'dave', 'ivan']);
    const reopened = await AccountStore.open(file, FAST);
    expect(reopened.list()).toEqual(['alice', 'bob', 'carol', 'dave', 'ivan']);
    expect(await readdir(root)).toEqual([ACCOUNTS_FILE_NAME]);
  });

  it('imports a file without a header, and keeps existing accounts when told', async () => {
    const store = await AccountStore.open(file, FAST);
    await store.add('carol', 'old password');
    const result = await store.importCsv('alice,password1\ncarol,password2\n', {
      replace: false,
    });
    expect(result).toEqual({
      added: ['alice'],
      replaced: [],
      errors: [{ line: 2, message: 'an account named "carol" already exists' }],
    });
    await expect(store.verify('carol', 'old password')).resolves.toBe(true);
  });

  it('treats a header only on the first non-blank line', async () => {
    const store = await AccountStore.open(file, FAST);
    const result = await store.importCsv('\n USERNAME , Password \nusername,password\n');
    expect(result.added).toEqual(['username']);
    expect(result.errors).toEqual([]);
  });

  it('writes nothing when no line is good', async () => {
    const store = await AccountStore.open(file, FAST);
    const result = await store.importCsv('username,password\nalice,short\n');
    expect(result.added).toEqual([]);
    expect(result.errors).toHaveLength(1);
    expect(await readdir(root)).toEqual([]);
  });
});

describe('parseAccountsCsv', () => {
  it('reads quoted fields with spaces around the quotes and escaped quotes', () => {
    expect(parseAccountsCsv(' "al.ice" , """quoted"" pw" \n').rows).toEqual([
      { line: 1, username: 'al.ice', password: '"quoted" pw' },
    ]);
  });

  it('refuses text after a closing quote and an empty username', () => {
    expect(parseAccountsCsv('"alice"x,password1\n,password1').errors).toEqual([
      {
        line: 1,
        message:
          'unexpected text after a closing double quote (write a quote inside a quoted field as "")',
      },
      { line: 2, message: 'the username is empty' },
    ]);
  });

  it('counts a trailing comma as a third field, and accepts old Mac line ends', () => {
    const parsed = parseAccountsCsv('alice,password1,\rbob,password2');
    expect(parsed.errors.map((error) => error.line)).toEqual([1]);
    expect(parsed.rows).toEqual([{ line: 2, username: 'bob', password: 'password2' }]);
  });
});
