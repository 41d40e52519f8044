/**
 * The files of file transfers: reading and hashing a file to send, and writing a received one to
 * a temporary file that gets its final name only after its SHA-256 matched. The core decides what
 * is safe (`safeFileName`, `uniqueFileName`, `checkOffer`); this module applies it to a folder.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import { type FileHandle, link, mkdir, open, readdir, statfs, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  type OfferLimits,
  type OfferRefusal,
  type TransferOffer,
  checkOffer,
  safeFileName,
  uniqueFileName,
} from '@lanchat/core';

/** A file opened for sending, with what its offer needs. */
export interface SourceFile {
  readonly handle: FileHandle;
  readonly name: string;
  readonly size: number;
  readonly sha256: Uint8Array;
  readonly md5: Uint8Array;
}

/** Bytes read at a time while hashing. */
const HASH_CHUNK = 1024 * 1024;

/**
 * Opens `path` and hashes it whole (SHA-256 and MD5, one read). The handle stays open, so the
 * bytes sent are those of the file that was hashed even if another file takes its name.
 */
export async function openSource(path: string, name = basename(path)): Promise<SourceFile> {
  const handle = await open(path, 'r');
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new Error(`${path} is not a file`);
    const sha256 = createHash('sha256');
    const md5 = createHash('md5');
    const buffer = Buffer.allocUnsafe(HASH_CHUNK);
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, HASH_CHUNK, size);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      sha256.update(chunk);
      md5.update(chunk);
      size += bytesRead;
    }
    return {
      handle,
      name,
      size,
      sha256: new Uint8Array(sha256.digest()),
      md5: new Uint8Array(md5.digest()),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Reads `length` bytes at `offset` (fewer at the end of a file that shrank). */
export async function readAt(
  handle: FileHandle,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  const buffer = Buffer.allocUnsafeSlow(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return new Uint8Array(buffer.buffer, buffer.byteOffset, done);
}

/**
 * Bytes of a file to send read at a time: 1 MiB (16 chunks of 64,000 bytes). One read of the
 * block serves every chunk in it, where a read per chunk costs a round trip through libuv's
 * thread pool each.
 */
export const READ_BLOCK_BYTES = 16 * 64_000;

/**
 * Most bytes of a received file written at a time: 1 MiB. The chunks received in a turn of the
 * event loop that follow each other go to the file in one vectored write, up to this size.
 */
export const WRITE_BLOCK_BYTES = 1024 * 1024;

/**
 * Bytes written to a received file between two flushes to disk started in the background: 32 MiB.
 * The sync that makes a finished file durable then finds at most about this much left to write,
 * instead of the whole file (measured: half a second for 1 GiB on this project's test machine,
 * added to the transfer after its last byte), and a large transfer does not fill the page cache
 * with dirty pages.
 */
export const FLUSH_BEHIND_BYTES = 32 * 1024 * 1024;

/** Blocks a {@link BlockReader} keeps at most: the one being handed out and those read ahead. */
const MAX_BLOCKS = 3;

/**
 * Reads a file to send by blocks of {@link READ_BLOCK_BYTES} and hands out the chunks asked for
 * as views of them, reading the next block ahead while the current one is handed out. It holds at
 * most three blocks; a chunk that straddles two blocks (after a resumption at an odd offset) is
 * read on its own.
 */
export class BlockReader {
  readonly #handle: FileHandle;
  readonly #size: number;
  readonly #blockBytes: number;
  /** Blocks read or being read, by index, oldest first. */
  readonly #blocks = new Map<number, Promise<Uint8Array>>();

  constructor(handle: FileHandle, size: number, blockBytes = READ_BLOCK_BYTES) {
    this.#handle = handle;
    this.#size = size;
    this.#blockBytes = blockBytes;
  }

  /** `length` bytes at `offset` (fewer if the file shrank since it was opened). */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const index = Math.floor(offset / this.#blockBytes);
    const start = index * this.#blockBytes;
    if (offset + length > start + this.#blockBytes) return readAt(this.#handle, offset, length);
    const block = this.#block(index);
    // Read ahead. A read ahead that fails is forgotten: the request for that block reads again.
    if ((index + 1) * this.#blockBytes < this.#size) void this.#block(index + 1);
    const bytes = await block;
    const from = Math.min(offset - start, bytes.length);
    return bytes.subarray(from, Math.min(from + length, bytes.length));
  }

  #block(index: number): Promise<Uint8Array> {
    const known = this.#blocks.get(index);
    if (known !== undefined) return known;
    const start = index * this.#blockBytes;
    const block = readAt(this.#handle, start, Math.min(this.#blockBytes, this.#size - start));
    // A failed read is not kept: the caller hears of it, and a later call tries again.
    block.catch(() => {
      if (this.#blocks.get(index) === block) this.#blocks.delete(index);
    });
    this.#blocks.set(index, block);
    for (const old of this.#blocks.keys()) {
      if (this.#blocks.size <= MAX_BLOCKS) break;
      this.#blocks.delete(old);
    }
    return block;
  }
}

/**
 * Writes `buffers`, one after the other, at `position` with as few calls as the system allows
 * (one `pwritev` as a rule; a short write continues where it stopped).
 */
export async function writeAt(
  handle: FileHandle,
  buffers: readonly Uint8Array[],
  position: number,
): Promise<void> {
  let parts = buffers.filter((buffer) => buffer.length > 0);
  let at = position;
  while (parts.length > 0) {
    const { bytesWritten } = await handle.writev(parts, at);
    if (bytesWritten === 0) throw new Error('the file system took none of the bytes written');
    at += bytesWritten;
    let skip = bytesWritten;
    let index = 0;
    while (index < parts.length && skip >= parts[index]!.length) skip -= parts[index++]!.length;
    parts = parts.slice(index);
    if (skip > 0) parts = [parts[0]!.subarray(skip), ...parts.slice(1)];
  }
}

/** Where a received file is being written, and where it goes once verified. */
export interface TargetFile {
  readonly handle: FileHandle;
  readonly directory: string;
  /** The temporary file, hidden, beside the final one. */
  readonly partPath: string;
  /** The safe name chosen at acceptance (a number is added if it is taken at the end). */
  readonly name: string;
  /** The write-behind flush: see {@link flushBehind}. */
  readonly flush: {
    /** Bytes written since the last flush started. */
    unflushed: number;
    /** The flush under way, if any; it never rejects (its error is kept in `error`). */
    running: Promise<void> | undefined;
    /** The first error a flush met, thrown by {@link finishTarget}. */
    error: Error | undefined;
  };
}

/** What {@link prepareTarget} may refuse with (as the transfer's rejection code). */
export type TargetRefusal = OfferRefusal;

/**
 * Prepares to receive `offer` into `directory` (made if missing): checks the size limit and the
 * free space, picks a safe, free name, and creates the temporary file exclusively.
 */
export async function prepareTarget(
  offer: TransferOffer,
  directory: string,
  limits: Omit<OfferLimits, 'freeBytes'>,
): Promise<TargetFile | TargetRefusal> {
  await mkdir(directory, { recursive: true });
  const space = await statfs(directory);
  const refusal = checkOffer(offer, { ...limits, freeBytes: space.bavail * space.bsize });
  if (refusal !== undefined) return refusal;
  const taken = new Set(await readdir(directory));
  const name = uniqueFileName(safeFileName(offer.name), (candidate) => taken.has(candidate));
  // Created exclusively ('wx+'): never through a link someone left under that name.
  for (let attempt = 0; ; attempt++) {
    const partPath = join(
      directory,
      `.${name}.${offer.transfer.slice(0, 12)}${attempt === 0 ? '' : `-${attempt}`}.part`,
    );
    try {
      const handle = await open(partPath, 'wx+', 0o600);
      return {
        handle,
        directory,
        partPath,
        name,
        flush: { unflushed: 0, running: undefined, error: undefined },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 100) throw error;
    }
  }
}

/**
 * Counts `bytes` just written to `target`. Once {@link FLUSH_BEHIND_BYTES} have been written since
 * the last flush, starts another (`fdatasync`, in the thread pool, one at a time) and returns at
 * once: writes go on meanwhile. An error is kept for {@link finishTarget}: on Linux a failed
 * write-back is reported to one sync only, so it must not be lost.
 */
export function flushBehind(target: TargetFile, bytes: number): void {
  const flush = target.flush;
  flush.unflushed += bytes;
  if (flush.unflushed < FLUSH_BEHIND_BYTES || flush.running !== undefined) return;
  flush.unflushed = 0;
  flush.running = target.handle.datasync().then(
    () => {
      flush.running = undefined;
    },
    (error: unknown) => {
      flush.running = undefined;
      flush.error ??= error instanceof Error ? error : new Error(String(error));
    },
  );
}

/**
 * Makes a verified file durable and gives it its final name without replacing anything: a name
 * taken meanwhile gets a number. Returns the final path.
 *
 * @throws the error of a write-behind flush ({@link flushBehind}), or of the final sync.
 */
export async function finishTarget(target: TargetFile): Promise<string> {
  await target.flush.running;
  if (target.flush.error !== undefined) throw target.flush.error;
  await target.handle.sync();
  await target.handle.close();
  let name = target.name;
  for (let tries = 0; ; tries++) {
    const path = join(target.directory, name);
    try {
      // link() refuses an existing name, where rename() would replace it.
      await link(target.partPath, path);
      await unlink(target.partPath);
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 100) throw error;
      const taken = new Set(await readdir(target.directory));
      name = uniqueFileName(target.name, (candidate) => taken.has(candidate));
    }
  }
}

/** Throws away a temporary file (a failed or cancelled transfer). */
export async function discardTarget(target: TargetFile): Promise<void> {
  await target.flush.running;
  await target.handle.close().catch(() => undefined);
  await unlink(target.partPath).catch(() => undefined);
}
