/**
 * The errors of the lanchat client's own building blocks (server addresses, known hosts). They
 * join the hierarchy of `@lanchat/core`: each is a `LanchatError` with a stable `name`,
 * recognised across copies of the package by its static `isInstance()`.
 *
 * @module
 */

import { DataFileError } from '@lanchat/app-support';
import { InvalidArgumentError, LanchatError, type LanchatErrorOptions } from '@lanchat/core';

/**
 * A server address or port the user typed cannot be used: a bad port number, a malformed host
 * name or IP address. The message quotes the input and says what is allowed, e.g.
 * `invalid port "99999": a port is a number from 1 to 65535`.
 */
export class InvalidAddressError extends InvalidArgumentError {
  static override readonly errorName: string = 'InvalidAddressError';
  /** The text that was refused. */
  readonly input: string;

  constructor(input: string, message: string) {
    super(message);
    this.input = input;
  }
}

/**
 * The known-hosts file is malformed. The message names the file and the line; `path` and `line`
 * hold them. Fix or delete that line (the client will ask again about that server).
 */
export class KnownHostsFileError extends LanchatError {
  static override readonly errorName: string = 'KnownHostsFileError';
  /** The file at fault. */
  readonly path: string;
  /** The line at fault, from 1, when one is. */
  readonly line: number | undefined;

  constructor(
    path: string,
    line: number | undefined,
    message: string,
    options?: LanchatErrorOptions,
  ) {
    super(message, options);
    this.path = path;
    this.line = line;
  }
}

/**
 * The contacts file (`contacts.json`) is malformed. The message names the file and what is wrong;
 * `path` holds it. Fix or delete it (contacts are made again as peers are met).
 */
export class ContactsFileError extends DataFileError {
  static override readonly errorName: string = 'ContactsFileError';
}
