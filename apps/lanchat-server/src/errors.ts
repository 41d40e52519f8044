/**
 * The errors of the lanchat server's own building blocks (data directory, identity key, account
 * store). They join the hierarchy of `@lanchat/core`: each is a {@link LanchatError} with a
 * stable `name`, recognised across copies of the package by its static `isInstance()`.
 *
 * None of them ever holds a password, in its message or anywhere else.
 *
 * @module
 */

import { InvalidArgumentError, LanchatError, type LanchatErrorOptions } from '@lanchat/core';

/**
 * A file the server keeps in its data directory is unusable: malformed, of the wrong kind, or
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
 * base64, wrong key length, or not a regular file. The server refuses to start rather than
 * silently make a new identity, which would break every client's pinned key.
 */
export class IdentityFileError extends DataFileError {
  static override readonly errorName: string = 'IdentityFileError';
}

/**
 * A file that holds a secret (the identity key) can be read or written by other users of the
 * machine. The server refuses to use it; `chmod 600 FILE` fixes it (the message says so).
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

/** The account file (`accounts.json`) is malformed: bad JSON, unknown version, a bad entry. */
export class AccountsFileError extends DataFileError {
  static override readonly errorName: string = 'AccountsFileError';
}

/** An account with this username (compared without case) already exists. Nothing changed. */
export class AccountExistsError extends LanchatError {
  static override readonly errorName: string = 'AccountExistsError';
  /** The username that was refused. */
  readonly username: string;

  constructor(username: string) {
    super(
      `an account named ${JSON.stringify(username)} already exists; remove it first or replace it`,
    );
    this.username = username;
  }
}

/**
 * A new password breaks the rules: it must be a string of 8 to 1024 bytes of UTF-8. The message
 * gives the length, never the password. See {@link WeakPasswordError} and
 * {@link PasswordTooLongError}.
 */
export class InvalidPasswordError extends InvalidArgumentError {
  static override readonly errorName: string = 'InvalidPasswordError';
}

/** A new password is shorter than 8 bytes of UTF-8 (or empty). Nothing changed. */
export class WeakPasswordError extends InvalidPasswordError {
  static override readonly errorName: string = 'WeakPasswordError';
}

/** A new password is longer than 1024 bytes of UTF-8. Nothing changed. */
export class PasswordTooLongError extends InvalidPasswordError {
  static override readonly errorName: string = 'PasswordTooLongError';
}

/** Permission bits as people write them for chmod: `0o644` → `"0644"`. */
export function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}
