/**
 * Password hashes: scrypt, encoded in the PHC string format.
 *
 * A hash reads `scrypt$N=32768,r=8,p=1$<salt>$<key>`, where salt (16 random bytes) and key
 * (32 bytes) are in standard base64 without padding, as PHC strings have them. The parameters
 * travel with each hash, so raising the cost later leaves old hashes verifiable.
 *
 * Passwords are put in Unicode normalization form C before hashing, so that the same password
 * typed on two systems (which may compose accents differently) gives the same hash.
 *
 * @module
 */

import { MAX_PASSWORD_BYTES, type Secret } from '@lanchat/core';
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { PasswordTooLongError, WeakPasswordError } from './errors.js';

/** Shortest password accepted for a new account, in bytes of UTF-8: 8. */
export const MIN_PASSWORD_BYTES = 8;

/** Default scrypt cost N: 2^15 (about 32 MiB of memory and 50-100 ms per hash). */
export const DEFAULT_SCRYPT_COST = 32_768;

/** scrypt block size r of new hashes. */
export const SCRYPT_BLOCK_SIZE = 8;

/** scrypt parallelism p of new hashes. */
export const SCRYPT_PARALLELISM = 1;

/** Length of the random salt of new hashes, in bytes. */
export const SALT_LENGTH = 16;

/** Length of the derived key of new hashes, in bytes. */
export const KEY_LENGTH = 32;

/** The most memory a stored hash may ask scrypt for (128 · N · r bytes): 256 MiB. */
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;

/** A password in plain text or wrapped so that logging it shows `[redacted]`. */
export type PasswordInput = string | Secret;

/** The decoded parts of a PHC scrypt string. */
export interface ScryptHash {
  /** CPU and memory cost: a power of two. */
  readonly cost: number;
  /** Block size. */
  readonly blockSize: number;
  /** Parallelism. */
  readonly parallelism: number;
  readonly salt: Uint8Array;
  readonly key: Uint8Array;
}

const PHC_SCRYPT =
  /^scrypt\$N=(\d{1,8}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** The plain text of a password input. */
export function revealPassword(password: PasswordInput): string {
  // Not `instanceof`: a Secret may come from another copy of @lanchat/core (ESM beside CJS).
  return typeof password === 'string' ? password : password.reveal();
}

/**
 * Checks a password for a new account: 8 to 1024 bytes of UTF-8 once normalised (NFC), and
 * returns the normalised form. The error messages give lengths, never the password.
 *
 * @throws {@link WeakPasswordError} when shorter than 8 bytes; {@link PasswordTooLongError} when
 * longer than 1024 bytes.
 */
export function checkNewPassword(password: PasswordInput): string {
  const text = revealPassword(password);
  if (text.length === 0) {
    throw new WeakPasswordError('the password is empty');
  }
  const normalized = text.normalize('NFC');
  const bytes = Buffer.byteLength(normalized, 'utf8');
  if (bytes < MIN_PASSWORD_BYTES) {
    throw new WeakPasswordError(
      `the password is ${String(bytes)} ${bytes === 1 ? 'byte' : 'bytes'} long; it must be at least ${String(MIN_PASSWORD_BYTES)} bytes (characters outside ASCII count as 2 to 4)`,
    );
  }
  if (bytes > MAX_PASSWORD_BYTES) {
    throw new PasswordTooLongError(
      `the password is ${String(bytes)} bytes long; it must be at most ${String(MAX_PASSWORD_BYTES)} bytes`,
    );
  }
  return normalized;
}

/** Tells whether `cost` is an scrypt cost N this module accepts: a power of two from 2 to 2^20. */
export function isValidScryptCost(cost: number): boolean {
  return Number.isInteger(cost) && cost >= 2 && cost <= 2 ** 20 && (cost & (cost - 1)) === 0;
}

function fromUnpaddedBase64(text: string): Uint8Array | undefined {
  const bytes = Buffer.from(text, 'base64');
  // Buffer.from() skips what it cannot read; insist on the canonical encoding.
  return bytes.toString('base64').replace(/=+$/, '') === text ? new Uint8Array(bytes) : undefined;
}

function toUnpaddedBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

/**
 * Decodes a PHC scrypt string, or returns a reason why it is not one this module accepts
 * (parameters out of range, salt shorter than 8 bytes, key shorter than 16 bytes).
 */
export function parsePasswordHash(encoded: string): ScryptHash | string {
  const match = PHC_SCRYPT.exec(encoded);
  if (match === null) return 'it is not of the form scrypt$N=…,r=…,p=…$SALT$KEY';
  const cost = Number(match[1]);
  const blockSize = Number(match[2]);
  const parallelism = Number(match[3]);
  if (!isValidScryptCost(cost)) return `N=${String(cost)} is not a power of two from 2 to 2^20`;
  if (blockSize < 1 || blockSize > 32) return `r=${String(blockSize)} is not from 1 to 32`;
  if (parallelism < 1 || parallelism > 16) return `p=${String(parallelism)} is not from 1 to 16`;
  if (128 * cost * blockSize > MAX_SCRYPT_MEMORY) return 'N·r asks for more than 256 MiB';
  const salt = fromUnpaddedBase64(match[4]!);
  const key = fromUnpaddedBase64(match[5]!);
  if (salt === undefined || salt.length < 8 || salt.length > 64) {
    return 'the salt is not 8 to 64 bytes of unpadded base64';
  }
  if (key === undefined || key.length < 16 || key.length > 64) {
    return 'the key is not 16 to 64 bytes of unpadded base64';
  }
  return { cost, blockSize, parallelism, salt, key };
}

/** Encodes scrypt parameters, salt and key as a PHC string. */
export function formatPasswordHash(hash: ScryptHash): string {
  return `scrypt$N=${String(hash.cost)},r=${String(hash.blockSize)},p=${String(hash.parallelism)}$${toUnpaddedBase64(hash.salt)}$${toUnpaddedBase64(hash.key)}`;
}

function deriveKey(
  password: string,
  salt: Uint8Array,
  keyLength: number,
  cost: number,
  blockSize: number,
  parallelism: number,
): Promise<Buffer> {
  // OpenSSL needs 128·r·(N + p + 2) bytes; Node's default cap (32 MiB) is just short of N=2^15.
  const maxmem = 128 * blockSize * (cost + parallelism + 2) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(
      Buffer.from(password, 'utf8'),
      salt,
      keyLength,
      { N: cost, r: blockSize, p: parallelism, maxmem },
      (error, key) => {
        if (error === null) resolve(key);
        else reject(error);
      },
    );
  });
}

/**
 * Hashes a password (normalised to NFC) with scrypt, a fresh 16-byte salt, r=8 and p=1.
 * It does not check the password rules: see {@link checkNewPassword}.
 *
 * @param cost - scrypt's N, a power of two; {@link DEFAULT_SCRYPT_COST} unless told otherwise.
 * @returns The PHC string.
 */
export async function hashPassword(
  password: PasswordInput,
  cost: number = DEFAULT_SCRYPT_COST,
): Promise<string> {
  if (!isValidScryptCost(cost)) throw new RangeError('scrypt cost is a power of two up to 2^20');
  const salt = new Uint8Array(randomBytes(SALT_LENGTH));
  const key = await deriveKey(
    revealPassword(password).normalize('NFC'),
    salt,
    KEY_LENGTH,
    cost,
    SCRYPT_BLOCK_SIZE,
    SCRYPT_PARALLELISM,
  );
  return formatPasswordHash({
    cost,
    blockSize: SCRYPT_BLOCK_SIZE,
    parallelism: SCRYPT_PARALLELISM,
    salt,
    key,
  });
}

/**
 * Tells whether `password` matches a decoded hash, comparing keys in constant time.
 */
export async function verifyPassword(password: PasswordInput, hash: ScryptHash): Promise<boolean> {
  const key = await deriveKey(
    revealPassword(password).normalize('NFC'),
    hash.salt,
    hash.key.length,
    hash.cost,
    hash.blockSize,
    hash.parallelism,
  );
  return timingSafeEqual(key, hash.key);
}
