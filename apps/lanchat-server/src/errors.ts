/**
 * The errors of the lanchat server's own building blocks (data directory, identity key, account
 * store). They join the hierarchy of `@lanchat/core`: each is a {@link LanchatError} with a
 * stable `name`, recognised across copies of the package by its static `isInstance()`.
 *
 * None of them ever holds a password, in its message or anywhere else.
 *
 * @module
 */

import { DataFileError } from '@lanchat/app-support';
import { InvalidArgumentError, LanchatError } from '@lanchat/core';

export {
  DataFileError,
  IdentityFileError,
  InsecureFileModeError,
  formatMode,
} from '@lanchat/app-support';

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
