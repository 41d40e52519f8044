/**
 * The errors of the files the apps keep (identity keys). They join the hierarchy of
 * `@lanchat/core`: each is a `LanchatError` with a stable `name`, recognised across copies of the
 * package by its static `isInstance()`.
 *
 * @module
 */

import { LanchatError, type LanchatErrorOptions } from '@lanchat/core';

/**
 * A file an app keeps (in the server's data directory, the client's configuration directory) is
 * unusable: malformed, of the wrong kind, or
 * unreadable. The message names the file and what is wrong with it; `path` holds the file.
 */
export class DataFileError extends LanchatError {
  static override readonly errorName: string = 'DataFileError';
  /** The file at fault. */
  readonly path: string;

  constructor(path: string, message: string, options?: LanchatErrorOptions) {
    super(message, options);
    this.path = path;
  }
}

/**
 * The identity key file (`identity.key`) is not a valid lanchat identity: wrong header, bad
 * base64, wrong key length, or not a regular file. The app refuses to start rather than
 * silently make a new identity, which would break every pinned key.
 */
export class IdentityFileError extends DataFileError {
  static override readonly errorName: string = 'IdentityFileError';
}

/**
 * A file that holds a secret (the identity key) can be read or written by other users of the
 * machine. The app refuses to use it; `chmod 600 FILE` fixes it (the message says so).
 */
export class InsecureFileModeError extends DataFileError {
  static override readonly errorName: string = 'InsecureFileModeError';
  /** The permission bits found, e.g. `0o644`. */
  readonly mode: number;

  constructor(path: string, mode: number) {
    super(
      path,
      `${path} is accessible by other users (mode ${formatMode(mode)}); it holds a secret key. Run \`chmod 600 ${path}\` and start again.`,
    );
    this.mode = mode;
  }
}

/** Permission bits as people write them for chmod: `0o644` → `"0644"`. */
export function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}
