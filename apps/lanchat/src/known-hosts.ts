/**
 * Servers the client trusts, pinned by public key on first contact (trust on first use, as SSH
 * does): `known_hosts` in the configuration directory.
 *
 * The file is text, one server per line: its host key (`HOST:PORT`, as
 * `ServerAddress.hostKey` gives it, IPv6 in brackets), whitespace, and its 32-byte X25519
 * public key in standard base64 (44 characters). Blank lines and lines starting with `#` are
 * comments, kept when the file is rewritten. For example:
 *
 * ```text
 * # lanchat known hosts
 * 192.168.1.20:9999 SFG8ZFtZES3ILvoaiUO1HXnKXaU/JaLCkOz9yHYT3w8=
 * [fe80::1%eth0]:9999 DWDf4JO1ly9c02K9Lnq8GVntkc0hx97nD4/2geR/eXY=
 * ```
 *
 * @module
 */

import { keyFingerprint } from '@lanchat/core';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { readSmallFile, writeFileAtomic } from '@lanchat/app-support';
import { KnownHostsFileError } from './errors.js';

/** The name of the known-hosts file inside the configuration directory. */
export const KNOWN_HOSTS_FILE_NAME = 'known_hosts';

/** The largest known-hosts file read: 16 MiB. */
const MAX_KNOWN_HOSTS_FILE_BYTES = 16 * 1024 * 1024;

const PUBLIC_KEY_LENGTH = 32;
/** Standard base64 of 32 bytes, in its canonical form: 43 characters and one `=`. */
const PUBLIC_KEY_BASE64 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

const HEADER_COMMENT =
  '# lanchat known hosts: one server per line, "HOST:PORT PUBLIC-KEY" (base64). Lines starting with # are comments.';

/** What {@link KnownHosts.check} found for a server. */
export type KnownHostStatus =
  /** The server presented the key pinned for it. */
  | { readonly status: 'known' }
  /** No key is pinned for this server: ask the user, then {@link KnownHosts.pin} it. */
  | { readonly status: 'new' }
  /**
   * The server presented another key than the one pinned for it: someone may be impersonating
   * it, or it was reinstalled. Refuse to connect unless the user says otherwise.
   */
  | {
      readonly status: 'changed';
      /** Fingerprint of the pinned key. */
      readonly pinnedFingerprint: string;
      /** Fingerprint of the key the server presented. */
      readonly presentedFingerprint: string;
    };

type Line =
  | { readonly kind: 'other'; readonly text: string }
  | { readonly kind: 'host'; readonly hostKey: string; readonly publicKey: Uint8Array };

/** Checks a host key: non-empty, no whitespace, not starting with `#`. */
function checkHostKey(hostKey: string): string {
  if (hostKey === '' || /\s/.test(hostKey) || hostKey.startsWith('#')) {
    throw new RangeError(
      `a host key is "HOST:PORT" without spaces, not ${JSON.stringify(hostKey.slice(0, 80))}`,
    );
  }
  return hostKey;
}

function checkPublicKey(publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) {
    throw new RangeError(`a public key is ${String(PUBLIC_KEY_LENGTH)} bytes`);
  }
  return publicKey;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

function parseKnownHosts(text: string, file: string): Line[] {
  const lines: Line[] = [];
  const seen = new Map<string, number>();
  const rows = text.split(/\r\n|\n|\r/);
  if (rows.at(-1) === '') rows.pop();
  rows.forEach((row, index) => {
    const lineNumber = index + 1;
    const malformed = (reason: string): KnownHostsFileError =>
      new KnownHostsFileError(
        file,
        lineNumber,
        `${file}, line ${String(lineNumber)}: ${reason}. Fix or delete that line (the client will then ask again about that server).`,
      );
    const trimmed = row.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      lines.push({ kind: 'other', text: row });
      return;
    }
    const fields = trimmed.split(/\s+/);
    if (fields.length !== 2) {
      throw malformed(`expected "HOST:PORT PUBLIC-KEY" but found ${String(fields.length)} fields`);
    }
    const [hostKey, encoded] = fields as [string, string];
    if (!PUBLIC_KEY_BASE64.test(encoded)) {
      throw malformed(
        `the key is not ${String(PUBLIC_KEY_LENGTH)} bytes in base64 (44 characters ending in "=")`,
      );
    }
    const earlier = seen.get(hostKey);
    if (earlier !== undefined) {
      throw malformed(`${hostKey} is already listed on line ${String(earlier)}`);
    }
    seen.set(hostKey, lineNumber);
    lines.push({
      kind: 'host',
      hostKey,
      publicKey: new Uint8Array(Buffer.from(encoded, 'base64')),
    });
  });
  return lines;
}

function formatKnownHosts(lines: readonly Line[]): string {
  return lines
    .map((line) =>
      line.kind === 'other'
        ? line.text
        : `${line.hostKey} ${Buffer.from(line.publicKey).toString('base64')}`,
    )
    .map((text) => `${text}\n`)
    .join('');
}

/**
 * The known-hosts file: which public key each server is pinned to.
 *
 * Host keys are compared exactly, so give the normalised form (`ServerAddress.hostKey` from
 * `parseServerAddress`): `Example.COM:9999` and `example.com:9999` would otherwise be two
 * servers.
 */
export class KnownHosts {
  readonly #path: string;
  #keys: Map<string, Uint8Array>;

  private constructor(file: string, lines: readonly Line[]) {
    this.#path = file;
    this.#keys = KnownHosts.#index(lines);
  }

  static #index(lines: readonly Line[]): Map<string, Uint8Array> {
    const keys = new Map<string, Uint8Array>();
    for (const line of lines) if (line.kind === 'host') keys.set(line.hostKey, line.publicKey);
    return keys;
  }

  static async #read(file: string): Promise<Line[]> {
    const found = await readSmallFile(
      file,
      MAX_KNOWN_HOSTS_FILE_BYTES,
      (reason) =>
        new KnownHostsFileError(
          file,
          undefined,
          `${file} is not a valid known-hosts file: ${reason}`,
        ),
    );
    return found === undefined ? [] : parseKnownHosts(found.text, file);
  }

  /**
   * Reads the known-hosts file at `path`. A missing file holds no servers; it is created (with
   * its directory) by the first {@link KnownHosts.pin}.
   *
   * @throws {@link KnownHostsFileError} when a line is malformed or a server is listed twice.
   */
  static async open(file: string): Promise<KnownHosts> {
    return new KnownHosts(file, await KnownHosts.#read(file));
  }

  /** The known-hosts file. */
  get path(): string {
    return this.#path;
  }

  /** The pinned servers' host keys, in file order. */
  hostKeys(): string[] {
    return [...this.#keys.keys()];
  }

  /** The key pinned for a server (a copy), or `undefined`. */
  lookup(hostKey: string): Uint8Array | undefined {
    const pinned = this.#keys.get(checkHostKey(hostKey));
    return pinned === undefined ? undefined : new Uint8Array(pinned);
  }

  /**
   * Compares the key a server presented with the one pinned for it.
   *
   * @param hostKey - The server's normalised `HOST:PORT` (`ServerAddress.hostKey`).
   * @param publicKey - The 32-byte public key the server proved it holds in the handshake.
   */
  check(hostKey: string, publicKey: Uint8Array): KnownHostStatus {
    checkHostKey(hostKey);
    checkPublicKey(publicKey);
    const pinned = this.#keys.get(hostKey);
    if (pinned === undefined) return { status: 'new' };
    if (sameBytes(pinned, publicKey)) return { status: 'known' };
    return {
      status: 'changed',
      pinnedFingerprint: keyFingerprint(pinned),
      presentedFingerprint: keyFingerprint(publicKey),
    };
  }

  /**
   * Pins `publicKey` for a server, replacing any key pinned before, and saves the file. The file
   * is read again first, so that servers pinned meanwhile by another client process are kept; it
   * is written atomically, readable by its owner only (mode 0600), its directory created (mode
   * 0700) if missing.
   *
   * @throws {@link KnownHostsFileError} when the file on disk has become malformed.
   */
  async pin(hostKey: string, publicKey: Uint8Array): Promise<void> {
    await this.#update(checkHostKey(hostKey), new Uint8Array(checkPublicKey(publicKey)));
  }

  /**
   * Forgets the key pinned for a server, and saves the file.
   *
   * @returns Whether a key was pinned for it.
   */
  async unpin(hostKey: string): Promise<boolean> {
    return this.#update(checkHostKey(hostKey), undefined);
  }

  async #update(hostKey: string, publicKey: Uint8Array | undefined): Promise<boolean> {
    const current = await KnownHosts.#read(this.#path);
    const index = current.findIndex((line) => line.kind === 'host' && line.hostKey === hostKey);
    const next = [...current];
    if (publicKey === undefined) {
      if (index < 0) {
        this.#adopt(current);
        return false;
      }
      next.splice(index, 1);
    } else {
      const line: Line = { kind: 'host', hostKey, publicKey };
      if (index >= 0) next[index] = line;
      else {
        if (next.length === 0) next.push({ kind: 'other', text: HEADER_COMMENT });
        next.push(line);
      }
    }
    await mkdir(path.dirname(this.#path), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.#path, formatKnownHosts(next), { mode: 0o600 });
    this.#adopt(next);
    return true;
  }

  #adopt(lines: readonly Line[]): void {
    this.#keys = KnownHosts.#index(lines);
  }
}
