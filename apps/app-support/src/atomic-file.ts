/**
 * Small-file helpers: atomic, private writes, and bounded reads.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { link, lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** Permission bits of the new file; `0o600` (owner only) unless told otherwise. */
  readonly mode?: number;
  /**
   * Whether to replace an existing file (the default). With `false`, an existing file is left
   * alone and the call returns `false`: two processes creating the same file never overwrite
   * each other.
   */
  readonly overwrite?: boolean;
}

/** The `code` of a Node system error, if it is one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = error.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Writes a file so that readers see either the old content or the new, never a part: the data
 * goes to a temporary file in the same directory (created with `mode`, owner-only by default,
 * then chmod-ed in case the umask or the platform interfered), is flushed to disk, and is renamed
 * over the target. A failed write leaves no temporary file behind.
 *
 * @returns `true` when the file was written; `false` when `overwrite` is `false` and the file
 * already existed (it is unchanged).
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: WriteFileAtomicOptions = {},
): Promise<boolean> {
  const mode = options.mode ?? 0o600;
  const directory = dirname(path);
  const temporary = join(
    directory,
    `.${basename(path)}.${String(process.pid)}.${randomBytes(6).toString('hex')}.tmp`,
  );
  const handle = await open(temporary, 'wx', mode);
  // From here on the temporary file is ours; it is removed unless it became `path` by a rename.
  let renamed = false;
  try {
    try {
      await handle.writeFile(data);
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.overwrite === false) {
      if (!(await linkNoClobber(temporary, path))) return false;
    } else {
      await rename(temporary, path);
      renamed = true;
    }
  } finally {
    if (!renamed) await unlink(temporary).catch(() => undefined);
  }
  await syncDirectory(directory);
  return true;
}

/**
 * Gives `temporary` the name `path` unless `path` exists: a hard link fails rather than replace.
 * On file systems without hard links, falls back to a check and a rename (a narrow race, but no
 * worse than having no link at all). Returns whether `path` now holds the new file.
 */
async function linkNoClobber(temporary: string, path: string): Promise<boolean> {
  try {
    await link(temporary, path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    if (await exists(path)) return false;
    await rename(temporary, path);
    return true;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** Flushes a directory entry change (a rename) to disk where the platform allows it. */
async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return;
  try {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some file systems cannot sync a directory; the rename itself has happened.
  }
}

/** What {@link readSmallFile} found. */
export interface SmallFile {
  /** The content, decoded as UTF-8. */
  readonly text: string;
  /** The file's permission bits and type, as `fs.Stats#mode`. */
  readonly mode: number;
}

/**
 * Reads a small regular file whole, or returns `undefined` when it does not exist.
 *
 * @throws `Error` from `describe` (called with a reason) when the path is not a regular file or
 * is larger than `maxBytes`; other I/O errors as they come.
 */
export async function readSmallFile(
  path: string,
  maxBytes: number,
  describe: (reason: string) => Error,
): Promise<SmallFile | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw describe('it is not a regular file');
    if (stats.size > maxBytes) {
      throw describe(`it is ${String(stats.size)} bytes long; the limit is ${String(maxBytes)}`);
    }
    const text = await handle.readFile({ encoding: 'utf8' });
    if (Buffer.byteLength(text) > maxBytes) {
      throw describe(`it is longer than ${String(maxBytes)} bytes`);
    }
    return { text, mode: stats.mode };
  } finally {
    await handle.close();
  }
}
