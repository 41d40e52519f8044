/**
 * The naming rules of the chat session: nicknames, room names, usernames, chat texts
 * (docs/protocol.md, section 8). Client and server apply the same rules, so a client can refuse a
 * bad name before it is sent, and the server never trusts the client to have done so.
 *
 * @module
 */

import { InvalidNameError, InvalidTextError, type NameKind } from '../errors/session-errors.js';

/** Longest nickname, room name or username, in characters (Unicode code points): 32. */
export const MAX_NAME_LENGTH = 32;

/**
 * Default longest chat text, in bytes of UTF-8: 4096. A long paragraph fits; a pasted log file
 * does not (send it as a file). The server announces its own limit at login.
 */
export const DEFAULT_MAX_TEXT_BYTES = 4096;

/** Longest password accepted at login, in bytes of UTF-8: 1024 (scrypt's cost grows with it). */
export const MAX_PASSWORD_BYTES = 1024;

/** The room every user joins at login unless the server is told otherwise. */
export const DEFAULT_ROOM = 'lobby';

// Letters, combining marks and digits of any script, and three punctuation marks. No spaces, no
// control or format characters, no '/', '#' or '@', which the terminal client gives meanings.
const NAME_CHARACTER = /^[\p{L}\p{M}\p{N}_.-]$/u;

const encoder = new TextEncoder();

function describeCharacter(character: string): string {
  const codePoint = character.codePointAt(0) ?? 0;
  const hex = `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
  if (character === ' ') return 'a space';
  if (/^[\p{Cc}\p{Cf}\p{Z}]$/u.test(character)) return `the invisible character ${hex}`;
  return `${JSON.stringify(character)} (${hex})`;
}

/**
 * Checks a name and returns it in Unicode normalization form C (so that the same name typed on
 * two systems compares equal).
 *
 * @throws {@link InvalidNameError} when the name is empty, longer than {@link MAX_NAME_LENGTH}
 * characters, or holds anything but letters, marks, digits, `_`, `-` and `.`.
 */
export function checkName(kind: NameKind, name: unknown): string {
  if (typeof name !== 'string') throw new InvalidNameError(kind, 'it must be a string');
  const normalized = name.normalize('NFC');
  if (normalized.length === 0) throw new InvalidNameError(kind, 'it is empty');
  let length = 0;
  for (const character of normalized) {
    length++;
    if (!NAME_CHARACTER.test(character)) {
      throw new InvalidNameError(
        kind,
        `${JSON.stringify(normalized.length > 40 ? `${normalized.slice(0, 40)}…` : normalized)} holds ${describeCharacter(character)}; use letters, digits, "_", "-" and "." only`,
      );
    }
  }
  if (length > MAX_NAME_LENGTH) {
    throw new InvalidNameError(
      kind,
      `it has ${length} characters; the limit is ${MAX_NAME_LENGTH}`,
    );
  }
  return normalized;
}

/** Checks a nickname. See {@link checkName}. */
export function checkNickname(name: unknown): string {
  return checkName('nickname', name);
}

/** Checks a room name; a leading `#` (as users type it) is dropped. See {@link checkName}. */
export function checkRoomName(name: unknown): string {
  return checkName(
    'room name',
    typeof name === 'string' && name.startsWith('#') ? name.slice(1) : name,
  );
}

/**
 * The key under which names are compared: two names are the same name when their keys are equal.
 * Case is ignored, and compatibility forms are folded (a full-width "Ａ" is an "a"), so that
 * "Alice", "ALICE" and "ａｌｉｃｅ" are one nickname.
 */
export function nameKey(name: string): string {
  return name.normalize('NFKC').toLowerCase().normalize('NFKC');
}

/**
 * Checks a chat text: not empty, at most `maxBytes` bytes of UTF-8, and no control characters but
 * newline and tab (a text must not be able to move a terminal's cursor or change its colours).
 *
 * @throws {@link InvalidTextError} with code `text-too-long` or `text-invalid`.
 */
export function checkText(text: unknown, maxBytes = DEFAULT_MAX_TEXT_BYTES): string {
  if (typeof text !== 'string')
    throw new InvalidTextError('text-invalid', 'a text must be a string');
  if (text.length === 0) throw new InvalidTextError('text-invalid', 'the text is empty');
  // UTF-8 is never shorter than UTF-16 in code units: a text far over the limit is not encoded.
  const bytes = text.length > 4 * maxBytes ? undefined : encoder.encode(text).length;
  if (bytes === undefined || bytes > maxBytes) {
    throw new InvalidTextError(
      'text-too-long',
      `the text is ${bytes === undefined ? `over ${maxBytes}` : String(bytes)} bytes long; the limit is ${maxBytes} bytes (send a longer text as a file)`,
    );
  }
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  const control = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/u.exec(text);
  if (control !== null) {
    throw new InvalidTextError(
      'text-invalid',
      `the text holds the control character ${describeCharacter(control[0])}; only newline and tab are allowed`,
    );
  }
  return text;
}

/**
 * Checks a password given at login: a non-empty string of at most {@link MAX_PASSWORD_BYTES}
 * bytes of UTF-8.
 *
 * @throws {@link InvalidTextError} with code `text-invalid` (the message names the password).
 */
export function checkPassword(password: unknown): string {
  if (typeof password !== 'string' || password.length === 0) {
    throw new InvalidTextError('text-invalid', 'the password is empty');
  }
  if (encoder.encode(password).length > MAX_PASSWORD_BYTES) {
    throw new InvalidTextError(
      'text-too-long',
      `the password is longer than ${MAX_PASSWORD_BYTES} bytes`,
    );
  }
  return password;
}
