/**
 * Errors of the chat session protocol.
 *
 * @module
 */

import { InvalidArgumentError, RemoteProtocolError } from './lanchat-error.js';

/** What kind of name was refused. */
export type NameKind = 'nickname' | 'room name' | 'username';

/**
 * A nickname, room name or username breaks the naming rules (docs/protocol.md, section 8): it is
 * empty, too long, holds spaces, control characters or other forbidden characters. Nothing was
 * sent.
 */
export class InvalidNameError extends InvalidArgumentError {
  static override readonly errorName: string = 'InvalidNameError';
  /** What the name was for. */
  readonly kind: NameKind;
  /** The stable code the server uses for this refusal, e.g. `"nickname-invalid"`. */
  readonly code: string;

  constructor(kind: NameKind, reason: string) {
    super(`invalid ${kind}: ${reason}`);
    this.kind = kind;
    this.code =
      kind === 'nickname'
        ? 'nickname-invalid'
        : kind === 'room name'
          ? 'room-invalid'
          : 'username-invalid';
  }
}

/**
 * A chat text is longer than the session's limit (4096 bytes of UTF-8 by default), or empty, or
 * holds control characters other than newline and tab. Nothing was sent.
 */
export class InvalidTextError extends InvalidArgumentError {
  static override readonly errorName: string = 'InvalidTextError';
  /** `"text-too-long"` or `"text-invalid"`: the code the server uses for the same refusal. */
  readonly code: 'text-too-long' | 'text-invalid';

  constructor(code: 'text-too-long' | 'text-invalid', message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * The peer sent a session message that is not valid MessagePack, is not a map with a known
 * `type`, has a missing, unknown or mistyped field, or the peer lacks the `chat` capability. The
 * session is failed for good; close the connection.
 */
export class MalformedSessionMessageError extends RemoteProtocolError {
  static override readonly errorName: string = 'MalformedSessionMessageError';
}
