/**
 * `lanchat peer`'s contacts: the peers recently seen, with where they accept peers and their key,
 * kept in `contacts.json` in the configuration directory. They are offered at start
 * (`/contacts`), dialled by name (`/connect NAME`), and pin each peer's key: a peer met again at a
 * contact's address must prove the contact's key.
 *
 * The file is JSON: `{ "version": 1, "contacts": [ ... ] }`, most recently seen first, each entry
 * `{ "name", "host", "port", "key", "lastSeen" }` (`key` in 64 hexadecimal digits, `lastSeen` an
 * ISO date; `host` and `port` absent for a peer that accepts none). Written atomically, mode 0600.
 *
 * @module
 */

import { readSmallFile, writeFileAtomic } from '@lanchat/app-support';
import { checkNickname, fromHex, keyFingerprint, nameKey } from '@lanchat/core';
import { ContactsFileError } from './errors.js';

/** The name of the contacts file inside the configuration directory. */
export const CONTACTS_FILE_NAME = 'contacts.json';

/** Most contacts kept: the least recently seen go first. */
export const MAX_CONTACTS = 200;

/** The largest contacts file read: 1 MiB. */
const MAX_CONTACTS_FILE_BYTES = 1024 * 1024;

const KEY = /^[0-9a-f]{64}$/;

/** A peer seen before. */
export interface Contact {
  readonly name: string;
  /** Where it accepts peers, if it does. */
  readonly host?: string;
  readonly port?: number;
  /** Its public key, 64 hexadecimal digits. */
  readonly key: string;
  /** When it was last connected, as an ISO date. */
  readonly lastSeen: string;
}

/** What {@link Contacts.seen} found. */
export type ContactStatus =
  /** Never seen before. */
  | { readonly status: 'new' }
  /** Seen before under this key. `previousName` when it went by another name then. */
  | { readonly status: 'known'; readonly previousName?: string }
  /**
   * Its name is a contact's, but its key is not: another peer calls itself by a known name (or the
   * contact made a new identity). Shown as a warning; the contact is not replaced.
   */
  | { readonly status: 'impostor'; readonly contactFingerprint: string };

function check(value: unknown, file: string, index: number): Contact {
  const fail = (reason: string): never => {
    throw new ContactsFileError(file, `${file}: contact ${String(index + 1)} ${reason}`);
  };
  if (typeof value !== 'object' || value === null) return fail('is not an object');
  const entry = value as Record<string, unknown>;
  const { name, host, port, key, lastSeen } = entry;
  if (typeof name !== 'string') return fail('has no name');
  try {
    checkNickname(name);
  } catch {
    fail('has an invalid name');
  }
  if (typeof key !== 'string' || !KEY.test(key)) return fail('has no valid key');
  if (typeof lastSeen !== 'string' || Number.isNaN(Date.parse(lastSeen))) {
    return fail('has no valid lastSeen date');
  }
  if ((host === undefined) !== (port === undefined)) fail('has a host without a port');
  if (host !== undefined && (typeof host !== 'string' || host.length === 0 || host.length > 255)) {
    fail('has an invalid host');
  }
  if (
    port !== undefined &&
    (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535)
  ) {
    fail('has an invalid port');
  }
  return {
    name,
    ...(host === undefined ? {} : { host: host as string, port: port as number }),
    key,
    lastSeen,
  };
}

/** The contacts file, read once and rewritten on each change. */
export class Contacts {
  readonly #file: string;
  #contacts: Contact[];
  /** The writes of the file, one after another. */
  #saving: Promise<void> = Promise.resolve();

  private constructor(file: string, contacts: Contact[]) {
    this.#file = file;
    this.#contacts = contacts;
  }

  /**
   * Reads the contacts file (none yet is an empty list).
   *
   * @throws {@link ContactsFileError} when it is not a valid contacts file.
   */
  static async open(file: string): Promise<Contacts> {
    const found = await readSmallFile(
      file,
      MAX_CONTACTS_FILE_BYTES,
      (reason) => new ContactsFileError(file, `${file}: ${reason}`),
    );
    if (found === undefined) return new Contacts(file, []);
    let parsed: unknown;
    try {
      parsed = JSON.parse(found.text);
    } catch (error) {
      throw new ContactsFileError(file, `${file} is not valid JSON; fix or delete it`, {
        cause: error,
      });
    }
    const record = parsed as { version?: unknown; contacts?: unknown } | null;
    if (record?.version !== 1 || !Array.isArray(record.contacts)) {
      throw new ContactsFileError(file, `${file} is not a version 1 contacts file`);
    }
    const contacts = record.contacts.map((entry, index) => check(entry, file, index));
    return new Contacts(file, contacts.slice(0, MAX_CONTACTS));
  }

  /** The contacts, most recently seen first. */
  list(): readonly Contact[] {
    return this.#contacts;
  }

  /** The most recently seen contact with this name (case and width ignored). */
  byName(name: string): Contact | undefined {
    const key = nameKey(name);
    return this.#contacts.find((contact) => nameKey(contact.name) === key);
  }

  /** The contact that accepts peers at `host:port`. */
  byAddress(host: string, port: number): Contact | undefined {
    return this.#contacts.find((contact) => contact.host === host && contact.port === port);
  }

  /**
   * Records a peer now connected: a new contact, or the contact of that key updated (name,
   * address, date), first in the list. The file is written in the background: `saved` settles
   * once it is (and rejects if it could not be).
   */
  seen(peer: {
    readonly name: string;
    readonly key: string;
    readonly host?: string | undefined;
    readonly port?: number | undefined;
  }): { readonly status: ContactStatus; readonly saved: Promise<void> } {
    const byKey = this.#contacts.find((contact) => contact.key === peer.key);
    const sameName = this.byName(peer.name);
    let status: ContactStatus;
    if (byKey !== undefined) {
      status =
        nameKey(byKey.name) === nameKey(peer.name)
          ? { status: 'known' }
          : { status: 'known', previousName: byKey.name };
    } else if (sameName !== undefined) {
      status = {
        status: 'impostor',
        contactFingerprint: keyFingerprint(fromHex(sameName.key)),
      };
    } else {
      status = { status: 'new' };
    }
    if (status.status === 'impostor') return { status, saved: Promise.resolve() };
    const address =
      peer.host !== undefined && peer.port !== undefined
        ? { host: peer.host, port: peer.port }
        : byKey?.host !== undefined && byKey.port !== undefined
          ? { host: byKey.host, port: byKey.port }
          : {};
    const contact: Contact = {
      name: peer.name,
      ...address,
      key: peer.key,
      lastSeen: new Date().toISOString(),
    };
    this.#contacts = [contact, ...this.#contacts.filter((other) => other.key !== peer.key)].slice(
      0,
      MAX_CONTACTS,
    );
    return { status, saved: this.#save() };
  }

  /** Forgets the contact of that name (its pinned key with it). Returns whether there was one. */
  forget(name: string): { readonly forgotten: boolean; readonly saved: Promise<void> } {
    const contact = this.byName(name);
    if (contact === undefined) return { forgotten: false, saved: Promise.resolve() };
    this.#contacts = this.#contacts.filter((other) => other !== contact);
    return { forgotten: true, saved: this.#save() };
  }

  #save(): Promise<void> {
    const text = `${JSON.stringify({ version: 1, contacts: this.#contacts }, null, 2)}\n`;
    const saving = this.#saving
      .catch(() => undefined)
      .then(async () => {
        await writeFileAtomic(this.#file, text);
      });
    this.#saving = saving;
    return saving;
  }
}
