/**
 * The receiver's safety rules for a file that came from the network: a name that cannot leave the
 * download folder or fool the user, and the checks before an offer is accepted. The core decides;
 * the adapter, which owns the files, applies them.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { MAX_TRANSFER_NAME_BYTES, type TransferOffer } from './transfer-messages.js';

/** The name used when nothing of the offered name survives. */
export const FALLBACK_FILE_NAME = 'file';

/** Most collision suffixes {@link uniqueFileName} tries. */
export const MAX_NAME_SUFFIX = 9_999;

// Path separators of every system, and the characters Windows refuses in names.
const FORBIDDEN = /[/\\<>:"|?*]/g;
// C0 and C1 controls and DEL: they can move the cursor or hide text in a terminal.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;
// Invisible characters: bidirectional overrides and isolates (which can show "gpj.exe" as
// "exe.jpg"), zero-width characters and the byte order mark.
const INVISIBLE = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
// Windows device names, which open the device whatever the extension ("nul.txt" too).
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;

const encoder = new TextEncoder();

/**
 * Makes an offered file name safe to create in the receiver's download folder.
 *
 * - Path separators (`/`, `\`) and the characters Windows refuses (`<>:"|?*`) become `_`, so the
 *   name cannot name another folder (`../../.bashrc` becomes `___.._.bashrc`).
 * - Control characters become `_`; invisible characters (bidirectional overrides, zero-width
 *   characters, the byte order mark) are dropped.
 * - Leading dots become `_` (no hidden files, no `.` or `..`); spaces around the name and trailing
 *   dots go (Windows drops them itself, which would change the name).
 * - A Windows device name (`CON`, `nul.txt`, `COM1`...) gets a leading `_`.
 * - The name is put in Unicode NFC and cut to {@link MAX_TRANSFER_NAME_BYTES} bytes of UTF-8,
 *   keeping its extension.
 * - If nothing is left: {@link FALLBACK_FILE_NAME}.
 *
 * The result is stable: making it safe again changes nothing.
 */
export function safeFileName(name: string): string {
  let safe = name
    .normalize('NFC')
    .replace(INVISIBLE, '')
    .replace(CONTROLS, '_')
    .replace(FORBIDDEN, '_')
    // Lone surrogates (not a character; in this mode a pair matches as one character, outside
    // the range) cannot be written as UTF-8.
    .replace(/[\ud800-\udfff]/gu, '_');
  safe = trimName(safe).replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  // One byte kept for the `_` a device name gets.
  safe = trimName(truncateName(safe, MAX_TRANSFER_NAME_BYTES - 1));
  if (RESERVED.test(safe)) safe = `_${safe}`;
  return safe.length === 0 ? FALLBACK_FILE_NAME : safe;
}

/** Drops white space around a name and dots at its end (Windows drops trailing dots itself). */
function trimName(name: string): string {
  return name.replace(/^\s+/u, '').replace(/[\s.]+$/u, '');
}

/**
 * A name like `name` that `taken` says is free: `name` itself, else `report (1).pdf`,
 * `report (2).pdf`... (the number before the extension), each within the length limit.
 *
 * `name` should already be safe ({@link safeFileName}); `taken` answers for the download folder
 * (the adapter lists it). Creating the file must still refuse to overwrite, since another program
 * may take the name meanwhile.
 *
 * @throws `InvalidArgumentError` if `name` and all {@link MAX_NAME_SUFFIX} variants are taken.
 */
export function uniqueFileName(name: string, taken: (candidate: string) => boolean): string {
  if (!taken(name)) return name;
  const { base, extension } = splitExtension(name);
  for (let number = 1; number <= MAX_NAME_SUFFIX; number++) {
    const suffix = ` (${number})${extension}`;
    const room = MAX_TRANSFER_NAME_BYTES - encoder.encode(suffix).length;
    const candidate = trimName(truncateName(base, room)) + suffix;
    if (!taken(candidate)) return candidate;
  }
  throw new InvalidArgumentError(`no free name like ${JSON.stringify(name)} in the folder`);
}

/** Limits a receiver applies to offers before accepting them. */
export interface OfferLimits {
  /** The largest file accepted, in bytes. */
  readonly maxSize?: number;
  /** Bytes free where the file would be written, if the adapter knows. */
  readonly freeBytes?: number;
  /**
   * Bytes that must stay free after the file is written, so that a transfer never fills the disk
   * for everything else. Default 0.
   */
  readonly reserveBytes?: number;
}

/** Why an offer must be refused: a stable code (docs/errors.md) and a message for people. */
export interface OfferRefusal {
  readonly code: 'too-large' | 'no-space';
  readonly message: string;
}

/** Checks an offer against the receiver's limits: the refusal to send, or `undefined`. */
export function checkOffer(offer: TransferOffer, limits: OfferLimits): OfferRefusal | undefined {
  if (limits.maxSize !== undefined && offer.size > limits.maxSize) {
    return {
      code: 'too-large',
      message: `the file is ${offer.size} bytes; this receiver takes at most ${limits.maxSize}`,
    };
  }
  if (limits.freeBytes !== undefined) {
    const needed = offer.size + (limits.reserveBytes ?? 0);
    if (needed > limits.freeBytes) {
      return {
        code: 'no-space',
        message: `the file is ${offer.size} bytes and the receiver has ${limits.freeBytes} free`,
      };
    }
  }
  return undefined;
}

function splitExtension(name: string): { base: string; extension: string } {
  const dot = name.lastIndexOf('.');
  // A leading dot starts no extension, and a long "extension" is part of the name.
  if (dot <= 0 || name.length - dot > 16) return { base: name, extension: '' };
  return { base: name.slice(0, dot), extension: name.slice(dot) };
}

/** Cuts `name` to `maxBytes` bytes of UTF-8, keeping its extension and whole characters. */
function truncateName(name: string, maxBytes: number): string {
  if (encoder.encode(name).length <= maxBytes) return name;
  const { base, extension } = splitExtension(name);
  const keep = Math.max(0, maxBytes - encoder.encode(extension).length);
  let bytes = 0;
  let end = 0;
  for (const character of base) {
    const length = encoder.encode(character).length;
    if (bytes + length > keep) break;
    bytes += length;
    end += character.length;
  }
  return base.slice(0, end) + extension;
}
