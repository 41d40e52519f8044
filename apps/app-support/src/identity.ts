/**
 * A long-term identity: an X25519 key pair kept in a key file, `identity.key` in the server's data
 * directory, `peer-identity.key` in the client's configuration directory for `lanchat peer`.
 * Others pin its public key on first contact (by its fingerprint), so losing or replacing the file
 * makes every one of them warn that the key changed.
 *
 * The file format, version 1, is two lines of text:
 *
 * ```text
 * lanchat-identity v1
 * <the 32-byte private key in standard base64 with padding: 44 characters>
 * ```
 *
 * A final newline is optional; line ends may be LF or CRLF; nothing else is allowed. The public
 * key is derived from the private key, so the two can never disagree. The file must be readable
 * by its owner only (mode 0600).
 *
 * @module
 */

import { type X25519KeyPair, keyFingerprint, nodeCryptoProvider } from '@lanchat/core';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { readSmallFile, writeFileAtomic } from './atomic-file.js';
import { IdentityFileError, InsecureFileModeError } from './errors.js';

/** The name of the identity file inside the data directory. */
export const IDENTITY_FILE_NAME = 'identity.key';

/** The first line of an identity file of the current version. */
export const IDENTITY_HEADER = 'lanchat-identity v1';

const PRIVATE_KEY_LENGTH = 32;
/** Standard base64 of 32 bytes: 43 characters of data and one `=` of padding. */
const PRIVATE_KEY_BASE64 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
/** A real identity file is under 100 bytes; anything over this is not one. */
const MAX_IDENTITY_FILE_BYTES = 4096;

/** The server's identity, as {@link loadOrCreateIdentity} found or made it. */
export interface Identity {
  /** The long-term X25519 key pair (the static key of the Noise handshake). */
  readonly keyPair: X25519KeyPair;
  /** The public key's fingerprint (`SHA256:...`), which users compare with what clients show. */
  readonly fingerprint: string;
  /** Whether this call made the identity (first start) rather than read it. */
  readonly created: boolean;
  /** The identity file. */
  readonly path: string;
}

/** Options of {@link loadOrCreateIdentity}. */
export interface LoadIdentityOptions {
  /**
   * As `process.platform`; on `win32` the file's permission bits are not checked (Windows has
   * ACLs, which Node does not show). Tests pass their own.
   */
  readonly platform?: NodeJS.Platform;
  /** The key file's name in the directory. Default {@link IDENTITY_FILE_NAME}. */
  readonly fileName?: string;
}

/** The text of an identity file holding `privateKey`. */
export function formatIdentityFile(privateKey: Uint8Array): string {
  if (privateKey.length !== PRIVATE_KEY_LENGTH) {
    throw new RangeError(`a private key is ${String(PRIVATE_KEY_LENGTH)} bytes`);
  }
  return `${IDENTITY_HEADER}\n${Buffer.from(privateKey).toString('base64')}\n`;
}

/**
 * Reads the private key out of the text of an identity file.
 *
 * @param file - The file's path, for the error message.
 * @throws {@link IdentityFileError} when the text is not exactly a valid version 1 identity.
 */
export function parseIdentityFile(text: string, file: string): Uint8Array {
  const malformed = (reason: string): IdentityFileError =>
    new IdentityFileError(
      file,
      `${file} is not a valid lanchat identity file: ${reason}. Restore it from a backup, or move it away to make a new identity (clients that pinned the old key will then warn that the server changed).`,
    );
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const [header, key] = lines;
  if (header !== IDENTITY_HEADER) {
    if (header?.startsWith('lanchat-identity ') === true) {
      throw malformed(
        `its version line is ${JSON.stringify(header.slice(0, 40))}; this server reads only "${IDENTITY_HEADER}"`,
      );
    }
    throw malformed(`the first line must be "${IDENTITY_HEADER}"`);
  }
  if (key === undefined || key === '') throw malformed('the key line is missing');
  if (lines.length > 2) throw malformed(`it has ${String(lines.length)} lines; it must have 2`);
  if (!PRIVATE_KEY_BASE64.test(key)) {
    throw malformed(
      `the second line must be a ${String(PRIVATE_KEY_LENGTH)}-byte key in base64 (44 characters ending in "=")`,
    );
  }
  return new Uint8Array(Buffer.from(key, 'base64'));
}

/**
 * Reads the identity from `identity.key` (or `fileName`) in `dataDir`, or makes one on first start.
 *
 * A new identity is a fresh key pair from `nodeCryptoProvider.generateX25519KeyPair()`, written
 * atomically (temporary file, flush, then a link or rename that never replaces a file another
 * process made meanwhile) with mode 0600. The data directory is created (mode 0700) if missing.
 *
 * @throws {@link InsecureFileModeError} when the file can be read or written by the group or
 * others (except on Windows); {@link IdentityFileError} when it is malformed, too large or not a
 * regular file.
 */
export async function loadOrCreateIdentity(
  dataDir: string,
  options: LoadIdentityOptions = {},
): Promise<Identity> {
  const platform = options.platform ?? process.platform;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, options.fileName ?? IDENTITY_FILE_NAME);
  for (;;) {
    const found = await readSmallFile(
      file,
      MAX_IDENTITY_FILE_BYTES,
      (reason) =>
        new IdentityFileError(file, `${file} is not a valid lanchat identity file: ${reason}`),
    );
    if (found !== undefined) {
      if (platform !== 'win32' && (found.mode & 0o077) !== 0) {
        throw new InsecureFileModeError(file, found.mode & 0o777);
      }
      const privateKey = parseIdentityFile(found.text, file);
      const publicKey = nodeCryptoProvider.x25519PublicKey(privateKey);
      return identity({ privateKey, publicKey }, false, file);
    }
    const keyPair = nodeCryptoProvider.generateX25519KeyPair();
    const written = await writeFileAtomic(file, formatIdentityFile(keyPair.privateKey), {
      mode: 0o600,
      overwrite: false,
    });
    if (written) return identity(keyPair, true, file);
    // Another process made the file between our read and our write: use theirs.
  }
}

function identity(keyPair: X25519KeyPair, created: boolean, file: string): Identity {
  return { keyPair, fingerprint: keyFingerprint(keyPair.publicKey), created, path: file };
}
