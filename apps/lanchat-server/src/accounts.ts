/**
 * The server's user accounts: usernames and scrypt password hashes in `accounts.json` in the data
 * directory.
 *
 * The file, version 1:
 *
 * ```json
 * {
 *   "version": 1,
 *   "users": {
 *     "alice": { "name": "Alice", "hash": "scrypt$N=32768,r=8,p=1$<salt>$<key>" }
 *   }
 * }
 * ```
 *
 * Each user is filed under the key of its name (`nameKey` of `@lanchat/core`: NFKC, lower case),
 * so "Alice" and "ALICE" are one account; `name` keeps the spelling it was created with. The file
 * is rewritten whole and atomically on each change, readable by its owner only (mode 0600).
 *
 * @module
 */

import {
  InvalidNameError,
  MAX_PASSWORD_BYTES,
  type Secret,
  checkName,
  nameKey,
} from '@lanchat/core';
import { randomBytes } from 'node:crypto';
import { readSmallFile, writeFileAtomic } from '@lanchat/app-support';
import { AccountExistsError, AccountsFileError, InvalidPasswordError } from './errors.js';
import {
  DEFAULT_SCRYPT_COST,
  KEY_LENGTH,
  SALT_LENGTH,
  SCRYPT_BLOCK_SIZE,
  SCRYPT_PARALLELISM,
  type ScryptHash,
  checkNewPassword,
  hashPassword,
  isValidScryptCost,
  parsePasswordHash,
  revealPassword,
  verifyPassword,
} from './password-hash.js';

/** The name of the account file inside the data directory. */
export const ACCOUNTS_FILE_NAME = 'accounts.json';

/** The version of the account file this module reads and writes. */
export const ACCOUNTS_FILE_VERSION = 1;

/** The largest account file read: 64 MiB (several hundred thousand accounts). */
const MAX_ACCOUNTS_FILE_BYTES = 64 * 1024 * 1024;

/** Options of {@link AccountStore.open}. */
export interface AccountStoreOptions {
  /**
   * scrypt's cost N for new hashes, a power of two; {@link DEFAULT_SCRYPT_COST} (32768) unless
   * told otherwise. Tests use a small one to run fast. Existing hashes keep their own cost.
   */
  readonly scryptCost?: number;
}

/** Options of {@link AccountStore.add}. */
export interface AddAccountOptions {
  /** Replace the password of an existing account instead of refusing. Default `false`. */
  readonly replace?: boolean;
}

/** Options of {@link AccountStore.importCsv}. */
export interface ImportCsvOptions {
  /**
   * Replace the password of accounts that already exist (the default), or report their lines as
   * errors and leave them unchanged.
   */
  readonly replace?: boolean;
}

/** A line of a CSV import that was refused. The message never holds a password. */
export interface CsvLineError {
  /** The line number, from 1. */
  readonly line: number;
  /** What is wrong with it. */
  readonly message: string;
}

/** What {@link AccountStore.importCsv} did. */
export interface CsvImportResult {
  /** Usernames of new accounts, in file order. */
  readonly added: readonly string[];
  /** Usernames of existing accounts whose password was replaced, in file order. */
  readonly replaced: readonly string[];
  /** Lines that were refused; every other line was applied. */
  readonly errors: readonly CsvLineError[];
}

/** An account line of a CSV file, as {@link parseAccountsCsv} read it. */
export interface CsvAccountRow {
  /** The line number, from 1. */
  readonly line: number;
  /** The username, checked and normalised (NFC). */
  readonly username: string;
  /** The password, checked and normalised (NFC). */
  readonly password: string;
}

interface Account {
  readonly name: string;
  readonly hash: string;
}

/**
 * A set of accounts backed by a file. Reads are from memory; each change rewrites the file
 * atomically before it shows in memory, so a failed write changes nothing. Changes made through
 * one store run one after another; two processes changing the same file at once may lose one's
 * change (the last write wins), so keep one server or admin command per data directory.
 */
export class AccountStore {
  readonly #path: string;
  readonly #cost: number;
  /** A hash of no password, checked in place of a missing account's to take the same time. */
  readonly #dummyHash: ScryptHash;
  #accounts: ReadonlyMap<string, Account>;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(path: string, cost: number, accounts: ReadonlyMap<string, Account>) {
    this.#path = path;
    this.#cost = cost;
    this.#accounts = accounts;
    this.#dummyHash = {
      cost,
      blockSize: SCRYPT_BLOCK_SIZE,
      parallelism: SCRYPT_PARALLELISM,
      salt: new Uint8Array(randomBytes(SALT_LENGTH)),
      key: new Uint8Array(randomBytes(KEY_LENGTH)),
    };
  }

  /**
   * Opens the account file at `path`. A missing file is an empty store; the file is created by
   * the first change.
   *
   * @throws {@link AccountsFileError} when the file is not valid JSON of version 1, or an entry
   * is malformed (a bad username, a key that does not match its name, a bad hash).
   */
  static async open(path: string, options: AccountStoreOptions = {}): Promise<AccountStore> {
    const cost = options.scryptCost ?? DEFAULT_SCRYPT_COST;
    if (!isValidScryptCost(cost)) {
      throw new RangeError(`scryptCost must be a power of two from 2 to 2^20, not ${String(cost)}`);
    }
    const found = await readSmallFile(
      path,
      MAX_ACCOUNTS_FILE_BYTES,
      (reason) => new AccountsFileError(path, `${path} is not a valid account file: ${reason}`),
    );
    const accounts = found === undefined ? new Map() : parseAccountsFile(found.text, path);
    return new AccountStore(path, cost, accounts);
  }

  /** The account file. */
  get path(): string {
    return this.#path;
  }

  /** How many accounts there are. */
  get size(): number {
    return this.#accounts.size;
  }

  /** The usernames, sorted by their keys (case-insensitively). */
  list(): string[] {
    return [...this.#accounts.keys()].sort(compareKeys).map((key) => this.#accounts.get(key)!.name);
  }

  /** Whether an account by this name exists (compared without case). Bad names have none. */
  has(name: string): boolean {
    const key = keyOf(name);
    return key !== undefined && this.#accounts.has(key);
  }

  /**
   * Adds an account, or with `replace` sets the password of an existing one (its name takes the
   * new spelling).
   *
   * @returns `"added"` or `"replaced"`.
   * @throws `InvalidNameError` (from `@lanchat/core`) for a bad username; {@link InvalidPasswordError}
   * (a `WeakPasswordError` or `PasswordTooLongError`) for a password outside 8 to 1024 bytes;
   * {@link AccountExistsError} when the account exists and `replace` is not set. Nothing changed
   * after any of them.
   */
  async add(
    name: string,
    password: string | Secret,
    options: AddAccountOptions = {},
  ): Promise<'added' | 'replaced'> {
    const username = checkName('username', name);
    const key = nameKey(username);
    const plain = checkNewPassword(password);
    const replace = options.replace === true;
    const early = this.#accounts.get(key);
    if (early !== undefined && !replace) throw new AccountExistsError(early.name);
    const hash = await hashPassword(plain, this.#cost);
    return this.#exclusive(async () => {
      const existing = this.#accounts.get(key);
      if (existing !== undefined && !replace) throw new AccountExistsError(existing.name);
      const next = new Map(this.#accounts);
      next.set(key, { name: username, hash });
      await this.#save(next);
      return existing === undefined ? 'added' : 'replaced';
    });
  }

  /**
   * Removes an account (the name is compared without case).
   *
   * @returns Whether there was one to remove.
   */
  async remove(name: string): Promise<boolean> {
    const key = keyOf(name);
    if (key === undefined) return false;
    return this.#exclusive(async () => {
      if (!this.#accounts.has(key)) return false;
      const next = new Map(this.#accounts);
      next.delete(key);
      await this.#save(next);
      return true;
    });
  }

  /**
   * Tells whether `password` is the password of the account `name`.
   *
   * It takes the same time whether or not the account exists: for a missing account (or a name
   * that cannot be one) it checks the password against a dummy hash of the store's cost, so
   * timing does not tell an attacker which usernames exist. Keys are compared with
   * `crypto.timingSafeEqual`. A password over 1024 bytes never matches.
   */
  async verify(name: string, password: string | Secret): Promise<boolean> {
    const key = keyOf(name);
    const account = key === undefined ? undefined : this.#accounts.get(key);
    const plain = revealPassword(password);
    const acceptable = Buffer.byteLength(plain, 'utf8') <= MAX_PASSWORD_BYTES;
    const hash = account === undefined ? this.#dummyHash : parseStoredHash(account.hash);
    const matches = await verifyPassword(acceptable ? plain : '', hash);
    return matches && acceptable && account !== undefined;
  }

  /**
   * Imports accounts from CSV text in the format of the original program: one `username,password`
   * per line. See {@link parseAccountsCsv} for the details. Good lines are applied in one atomic
   * write even when other lines are refused; refused lines are reported with their numbers and
   * change nothing.
   */
  async importCsv(text: string, options: ImportCsvOptions = {}): Promise<CsvImportResult> {
    const replace = options.replace ?? true;
    const parsed = parseAccountsCsv(text);
    const errors: CsvLineError[] = [...parsed.errors];
    // Hash outside the queue (the thread pool runs a few at a time) so that other changes wait
    // only for the write.
    const hashed = await Promise.all(
      parsed.rows.map(async (row) => ({ row, hash: await hashPassword(row.password, this.#cost) })),
    );
    const added: string[] = [];
    const replaced: string[] = [];
    await this.#exclusive(async () => {
      const next = new Map(this.#accounts);
      for (const { row, hash } of hashed) {
        const key = nameKey(row.username);
        const existing = this.#accounts.get(key);
        if (existing !== undefined && !replace) {
          errors.push({
            line: row.line,
            message: `an account named ${JSON.stringify(existing.name)} already exists`,
          });
          continue;
        }
        next.set(key, { name: row.username, hash });
        (existing === undefined ? added : replaced).push(row.username);
      }
      if (added.length + replaced.length > 0) await this.#save(next);
    });
    errors.sort((a, b) => a.line - b.line);
    return { added, replaced, errors };
  }

  /** Runs changes one after another, each seeing the state the previous one left. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #save(accounts: ReadonlyMap<string, Account>): Promise<void> {
    await writeFileAtomic(this.#path, formatAccountsFile(accounts), { mode: 0o600 });
    this.#accounts = accounts;
  }
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A checked username (NFC), or `undefined` when `name` cannot be one. */
function usernameOrUndefined(name: string): string | undefined {
  try {
    return checkName('username', name);
  } catch (error) {
    if (InvalidNameError.isInstance(error)) return undefined;
    throw error;
  }
}

/** The key of a name, or `undefined` when it cannot be a username. */
function keyOf(name: string): string | undefined {
  const username = usernameOrUndefined(name);
  return username === undefined ? undefined : nameKey(username);
}

function parseStoredHash(encoded: string): ScryptHash {
  const hash = parsePasswordHash(encoded);
  // Hashes were checked when the file was read or made; this is only for the type.
  if (typeof hash === 'string') throw new Error(`a stored hash is malformed: ${hash}`);
  return hash;
}

function formatAccountsFile(accounts: ReadonlyMap<string, Account>): string {
  const users = Object.fromEntries(
    [...accounts.keys()]
      .sort(compareKeys)
      .map((key) => [key, { name: accounts.get(key)!.name, hash: accounts.get(key)!.hash }]),
  );
  return `${JSON.stringify({ version: ACCOUNTS_FILE_VERSION, users }, null, 2)}\n`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseAccountsFile(text: string, path: string): Map<string, Account> {
  const malformed = (reason: string, cause?: unknown): AccountsFileError =>
    new AccountsFileError(
      path,
      `${path} is not a valid account file: ${reason}. Fix it, or restore it from a backup.`,
      { cause },
    );
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw malformed('it is not valid JSON', error);
  }
  if (!isPlainObject(data)) throw malformed('it must hold a JSON object');
  if (data['version'] !== ACCOUNTS_FILE_VERSION) {
    throw malformed(
      `its "version" is ${data['version'] === undefined ? 'missing' : JSON.stringify(data['version'])}; this server reads version ${String(ACCOUNTS_FILE_VERSION)}`,
    );
  }
  const extra = Object.keys(data).find((field) => field !== 'version' && field !== 'users');
  if (extra !== undefined) throw malformed(`unknown field ${JSON.stringify(extra)}`);
  const users = data['users'];
  if (!isPlainObject(users)) throw malformed('"users" must be an object');
  const accounts = new Map<string, Account>();
  for (const [key, entry] of Object.entries(users)) {
    const where = `the entry ${JSON.stringify(key)}`;
    if (!isPlainObject(entry)) throw malformed(`${where} must be an object`);
    const extraField = Object.keys(entry).find((field) => field !== 'name' && field !== 'hash');
    if (extraField !== undefined) {
      throw malformed(`${where} has an unknown field ${JSON.stringify(extraField)}`);
    }
    const { name, hash } = entry;
    if (typeof name !== 'string') throw malformed(`${where} has no "name" string`);
    if (typeof hash !== 'string') throw malformed(`${where} has no "hash" string`);
    let username: string;
    try {
      username = checkName('username', name);
    } catch (error) {
      throw malformed(`${where} has an invalid name`, error);
    }
    if (username !== name || nameKey(username) !== key) {
      throw malformed(`${where} must be filed under ${JSON.stringify(nameKey(username))}`);
    }
    const parsed = parsePasswordHash(hash);
    if (typeof parsed === 'string') throw malformed(`the hash of ${where} is invalid: ${parsed}`);
    accounts.set(key, { name, hash });
  }
  return accounts;
}

/** What {@link parseAccountsCsv} found. */
export interface ParsedAccountsCsv {
  /** Good lines, in file order, each username once. */
  readonly rows: readonly CsvAccountRow[];
  /** Refused lines. */
  readonly errors: readonly CsvLineError[];
}

const HEADER_FIELDS = ['username', 'password'];

/**
 * Reads account CSV text: one `username,password` per line.
 *
 * - The first non-blank line may be the header `username,password` (any case); it is skipped.
 * - Blank lines are skipped; a UTF-8 byte order mark is ignored; line ends may be LF or CRLF.
 * - Whitespace around a field is trimmed. A field may be double-quoted to keep spaces at its ends
 *   or to hold a comma; a double quote inside a quoted field is written twice (`""`). A quote
 *   inside an unquoted field is taken literally.
 * - Each account is checked as {@link AccountStore.add} checks it (username rules, passwords of 8
 *   to 1024 bytes); a username given twice is refused on its second line.
 *
 * Error messages name the line and never repeat the line's text, which holds a password (a
 * malformed username is not shown either, in case the columns are swapped).
 */
export function parseAccountsCsv(text: string): ParsedAccountsCsv {
  const rows: CsvAccountRow[] = [];
  const errors: CsvLineError[] = [];
  const seen = new Map<string, number>();
  const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split(/\r\n|\n|\r/);
  let first = true;
  lines.forEach((content, index) => {
    const line = index + 1;
    if (content.trim() === '') return;
    const fields = splitCsvLine(content);
    const isFirst = first;
    first = false;
    if (typeof fields === 'string') {
      errors.push({ line, message: fields });
      return;
    }
    if (
      isFirst &&
      fields.length === HEADER_FIELDS.length &&
      fields.every((field, at) => field.toLowerCase() === HEADER_FIELDS[at])
    ) {
      return;
    }
    if (fields.length !== 2) {
      errors.push({
        line,
        message: `expected 2 fields (username,password) but found ${String(fields.length)}; put a password that holds a comma in double quotes`,
      });
      return;
    }
    const [name, password] = fields as [string, string];
    const username = usernameOrUndefined(name);
    if (username === undefined) {
      errors.push({
        line,
        message:
          name === ''
            ? 'the username is empty'
            : `the username is invalid: a username is 1 to 32 letters, digits, "_", "-" or "." (it is not shown here, in case the columns are swapped)`,
      });
      return;
    }
    let checked: string;
    try {
      checked = checkNewPassword(password);
    } catch (error) {
      if (!InvalidPasswordError.isInstance(error)) throw error;
      errors.push({ line, message: `${error.message} (user ${JSON.stringify(username)})` });
      return;
    }
    const key = nameKey(username);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      errors.push({
        line,
        message: `the username ${JSON.stringify(username)} was already given on line ${String(earlier)}`,
      });
      return;
    }
    seen.set(key, line);
    rows.push({ line, username, password: checked });
  });
  return { rows, errors };
}

/** Splits one CSV line into fields, or returns why it cannot be read. */
function splitCsvLine(content: string): string[] | string {
  const fields: string[] = [];
  let at = 0;
  for (;;) {
    while (content[at] === ' ' || content[at] === '\t') at++;
    if (content[at] === '"') {
      let value = '';
      at++;
      for (;;) {
        const close = content.indexOf('"', at);
        if (close < 0) return 'a double-quoted field is not closed on its line';
        value += content.slice(at, close);
        at = close + 1;
        if (content[at] !== '"') break;
        value += '"';
        at++;
      }
      while (content[at] === ' ' || content[at] === '\t') at++;
      fields.push(value);
      if (at === content.length) return fields;
      if (content[at] !== ',') {
        return 'unexpected text after a closing double quote (write a quote inside a quoted field as "")';
      }
      at++;
    } else {
      const comma = content.indexOf(',', at);
      fields.push(content.slice(at, comma < 0 ? content.length : comma).trim());
      if (comma < 0) return fields;
      at = comma + 1;
    }
  }
}
