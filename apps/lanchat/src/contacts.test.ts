import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONTACTS_FILE_NAME, Contacts, MAX_CONTACTS } from './contacts.js';
import { ContactsFileError } from './errors.js';

let directory: string;
let file: string;
beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'lanchat-contacts-'));
  file = path.join(directory, CONTACTS_FILE_NAME);
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

const KEY_A = 'aa'.repeat(32);
const KEY_B = 'bb'.repeat(32);

describe('contacts', () => {
  it('records peers seen, most recent first, and reads them back from a private file', async () => {
    const contacts = await Contacts.open(file);
    expect(contacts.list()).toEqual([]);
    const ann = contacts.seen({ name: 'ann', key: KEY_A, host: '192.168.1.5', port: 9997 });
    expect(ann.status).toEqual({ status: 'new' });
    const bob = contacts.seen({ name: 'bob', key: KEY_B });
    expect(bob.status).toEqual({ status: 'new' });
    await bob.saved;
    const again = await Contacts.open(file);
    expect(again.list().map((contact) => contact.name)).toEqual(['bob', 'ann']);
    expect(again.byName('ANN')).toMatchObject({ host: '192.168.1.5', port: 9997, key: KEY_A });
    expect(again.byAddress('192.168.1.5', 9997)?.name).toBe('ann');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('follows a renamed peer by its key, and keeps its address when it has none now', async () => {
    const contacts = await Contacts.open(file);
    contacts.seen({ name: 'ann', key: KEY_A, host: '10.0.0.1', port: 9997 });
    const renamed = contacts.seen({ name: 'anna', key: KEY_A });
    expect(renamed.status).toEqual({ status: 'known', previousName: 'ann' });
    await renamed.saved;
    expect(contacts.list()).toMatchObject([{ name: 'anna', host: '10.0.0.1', port: 9997 }]);
  });

  it('warns of another key under a contact name, and keeps the contact', async () => {
    const contacts = await Contacts.open(file);
    await contacts.seen({ name: 'ann', key: KEY_A }).saved;
    const { status } = contacts.seen({ name: 'Ann', key: KEY_B });
    expect(status.status).toBe('impostor');
    expect(contacts.list()).toMatchObject([{ name: 'ann', key: KEY_A }]);
    const forgotten = contacts.forget('ANN');
    expect(forgotten.forgotten).toBe(true);
    await forgotten.saved;
    expect((await Contacts.open(file)).list()).toEqual([]);
  });

  it(`keeps at most ${MAX_CONTACTS}`, async () => {
    const contacts = await Contacts.open(file);
    for (let index = 0; index <= MAX_CONTACTS; index++) {
      await contacts.seen({ name: `p${index}`, key: index.toString(16).padStart(64, '0') }).saved;
    }
    expect(contacts.list()).toHaveLength(MAX_CONTACTS);
    expect(contacts.list()[0]!.name).toBe(`p${MAX_CONTACTS}`);
    expect(contacts.byName('p0')).toBeUndefined();
  });

  it('refuses a malformed file with ContactsFileError naming it', async () => {
    for (const text of [
      'not json',
      '{"version":2,"contacts":[]}',
      '{"version":1,"contacts":[{"name":"a b","key":"00","lastSeen":"x"}]}',
      `{"version":1,"contacts":[{"name":"ann","key":"${KEY_A}","lastSeen":"2026-01-01T00:00:00Z","host":"h"}]}`,
    ]) {
      await writeFile(file, text);
      const error = await Contacts.open(file).catch((caught: unknown) => caught);
      expect(ContactsFileError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain(file);
    }
    expect(await readFile(file, 'utf8')).toContain('"host":"h"');
  });
});
