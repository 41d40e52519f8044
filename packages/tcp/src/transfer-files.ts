/**
 * The file side of transfers, shared by the chat client and the peer: core's {@link TransferSet}
 * plus the files it reads and writes (hashing, block reads, batched writes, the temporary file
 * renamed only once its SHA-256 matched).
 *
 * @module
 */

import {
  type ClientEvent,
  InvalidArgumentError,
  type TransferOffer,
  type TransferOutput,
  TransferSet,
  type TransferSetEvent,
  type TransferSummary,
  nodeCryptoProvider,
} from '@lanchat/core';
import {
  BlockReader,
  type SourceFile,
  type TargetFile,
  WRITE_BLOCK_BYTES,
  discardTarget,
  finishTarget,
  flushBehind,
  openSource,
  prepareTarget,
  writeAt,
} from './file-store.js';

/**
 * What a client (or peer) reports of file transfers: offers, acceptance, progress,
 * interruptions, restarts, the end (`transfer-completed` with the saved file's `path` when it
 * came in) and failures. The reading and writing of files are done inside.
 */
export type FileEvent =
  | Exclude<
      TransferSetEvent,
      { type: 'read-requested' | 'data-received' | 'transfer-verified' | 'transfer-completed' }
    >
  | (Extract<TransferSetEvent, { type: 'transfer-completed' }> & { readonly path?: string });

/** A file being received: its temporary file and the writes in progress. */
interface Target {
  readonly file: TargetFile;
  /** Settles once every write issued (and a truncation) has. */
  writes: Promise<void>;
  /** What new writes wait for: a truncation after a restart. */
  barrier: Promise<void>;
  /** Writes issued, in offset order, until reported. */
  pending: { readonly end: number; done: boolean }[];
  /** Counts restarts, so that writes of an earlier pass are not reported. */
  pass: number;
  /** Received chunks that follow each other, gathered into one write at the end of the turn. */
  batch: { offset: number; end: number; readonly chunks: Uint8Array[] } | undefined;
}

/** Options of {@link TransferFiles}. */
export interface TransferFilesOptions {
  /** Receives every file event. */
  readonly emit: (event: FileEvent) => void;
  /** Called after an asynchronous file operation changed the transfers: run them, then write. */
  readonly changed: () => void;
  /** Largest file `acceptFile()` takes, in bytes. Default: no limit. */
  readonly maxFileSize?: number;
  /** Bytes that must stay free on the disk after a received file. Default 64 MiB. */
  readonly reserveBytes?: number;
}

/** The transfers of one client or peer, and their files. */
export class TransferFiles {
  readonly #options: TransferFilesOptions;
  readonly #transfers = new TransferSet({
    randomBytes: (length) => nodeCryptoProvider.randomBytes(length),
  });
  /** Files being sent, by transfer id. */
  readonly #sources = new Map<string, SourceFile & { readonly reader: BlockReader }>();
  /** Files being received, by transfer id. */
  readonly #targets = new Map<string, Target>();

  constructor(options: TransferFilesOptions) {
    this.#options = options;
  }

  /** Every transfer kept, oldest first. */
  list(): TransferSummary[] {
    return this.#transfers.list();
  }

  /** @throws `InvalidArgumentError` for an unknown transfer. */
  offerOf(transfer: string): TransferOffer {
    return this.#transfers.offerOf(transfer);
  }

  /** Hashes and offers the file at `path` to `to`. Resolves with the transfer's id. */
  async sendFile(to: string, path: string, name?: string): Promise<string> {
    const source = await openSource(path, name);
    try {
      const transfer = this.#transfers.offer(
        to,
        { name: source.name, size: source.size, sha256: source.sha256, md5: source.md5 },
        Date.now(),
      );
      this.#sources.set(transfer, {
        ...source,
        reader: new BlockReader(source.handle, source.size),
      });
      return transfer;
    } catch (error) {
      await source.handle.close();
      throw error;
    }
  }

  /**
   * Accepts an offered file into `directory`: see `ChatTcpClient.acceptFile`.
   *
   * @throws `InvalidArgumentError` (rejects) for a transfer that is not an offer waiting.
   */
  async acceptFile(
    transfer: string,
    directory: string,
  ): Promise<{ name: string } | { refused: string }> {
    const summary = this.#transfers.list().find((entry) => entry.transfer === transfer);
    if (summary?.direction !== 'incoming' || summary.state !== 'offered') {
      throw new InvalidArgumentError(`no file offer ${transfer} is waiting`);
    }
    const offer = this.#transfers.offerOf(transfer);
    const prepared = await prepareTarget(offer, directory, {
      ...(this.#options.maxFileSize === undefined ? {} : { maxSize: this.#options.maxFileSize }),
      reserveBytes: this.#options.reserveBytes ?? 64 * 1024 * 1024,
    });
    if ('code' in prepared) {
      this.#transfers.reject(transfer, Date.now(), prepared.code, prepared.message);
      return { refused: prepared.code };
    }
    this.#targets.set(transfer, {
      file: prepared,
      writes: Promise.resolve(),
      barrier: Promise.resolve(),
      pending: [],
      pass: 0,
      batch: undefined,
    });
    try {
      this.#transfers.accept(transfer, Date.now());
    } catch (error) {
      this.#targets.delete(transfer);
      await discardTarget(prepared);
      throw error;
    }
    return { name: prepared.name };
  }

  /** Refuses an offered file. */
  reject(transfer: string, message: string): void {
    this.#transfers.reject(transfer, Date.now(), 'rejected', message);
  }

  /** Stops a transfer either way; the other side is told. */
  cancel(transfer: string, message?: string): void {
    this.#transfers.cancel(transfer, Date.now(), message);
  }

  /** Cancels every transfer still going (the client or peer leaves). */
  cancelAll(message: string): void {
    const now = Date.now();
    for (const transfer of this.#transfers.list()) {
      if (transfer.state !== 'done' && transfer.state !== 'failed') {
        this.#transfers.cancel(transfer.transfer, now, message);
      }
    }
  }

  /** See `TransferSet.handleEvent`. */
  handleEvent(event: ClientEvent, now: number): boolean {
    return this.#transfers.handleEvent(event, now);
  }

  /** See `TransferSet.linkDown`. */
  linkDown(now: number): void {
    this.#transfers.linkDown(now);
  }

  /** See `TransferSet.linkUp`. */
  linkUp(now: number): void {
    this.#transfers.linkUp(now);
  }

  /** See `TransferSet.poll`. */
  poll(now: number, capacity: number): TransferOutput | undefined {
    return this.#transfers.poll(now, capacity);
  }

  /** See `TransferSet.pollTimeout`. */
  pollTimeout(): number | undefined {
    return this.#transfers.pollTimeout();
  }

  /** See `TransferSet.handleTimeout`. */
  handleTimeout(now: number): void {
    this.#transfers.handleTimeout(now);
  }

  /** Handles the transfers' events: file reads and writes inside, the rest to `emit`. */
  emitEvents(): void {
    for (
      let event = this.#transfers.nextEvent();
      event !== undefined;
      event = this.#transfers.nextEvent()
    ) {
      switch (event.type) {
        case 'read-requested':
          this.#read(event.transfer, event.offset, event.length);
          break;
        case 'data-received':
          this.#write(event.transfer, event.offset, event.bytes);
          break;
        case 'transfer-verified':
          this.#save(event.transfer);
          break;
        case 'transfer-restarted':
          this.#restartTarget(event.transfer);
          this.#options.emit(event);
          break;
        case 'transfer-completed':
          if (event.direction === 'outgoing') {
            this.#closeSource(event.transfer);
            this.#options.emit(event);
          }
          // An incoming file is reported once saved (#save).
          break;
        case 'transfer-failed':
          this.#closeSource(event.transfer);
          this.#dropTarget(event.transfer);
          this.#options.emit(event);
          break;
        default:
          this.#options.emit(event);
          break;
      }
    }
    this.#writeBatches();
  }

  /** Closes open files and removes temporary ones. */
  closeFiles(): Promise<void> {
    const pending: Promise<unknown>[] = [];
    for (const source of this.#sources.values()) {
      pending.push(source.handle.close().catch(() => undefined));
    }
    this.#sources.clear();
    for (const target of this.#targets.values()) {
      pending.push(target.writes.then(() => discardTarget(target.file)));
    }
    this.#targets.clear();
    return Promise.all(pending).then(() => undefined);
  }

  #read(transfer: string, offset: number, length: number): void {
    const source = this.#sources.get(transfer);
    if (source === undefined) return;
    source.reader.read(offset, length).then(
      (bytes) => {
        this.#transfers.supply(transfer, offset, bytes, Date.now());
        this.#options.changed();
      },
      (error: unknown) => {
        this.#transfers.readFailed(transfer, (error as Error).message, Date.now());
        this.#options.changed();
      },
    );
  }

  /**
   * Takes received bytes: they join the turn's batch if they follow it, and the batch is written
   * at the end of the turn ({@link #writeBatches}), or before if these do not follow it or it is
   * full.
   */
  #write(transfer: string, offset: number, bytes: Uint8Array): void {
    const target = this.#targets.get(transfer);
    if (target === undefined) return;
    const batch = target.batch;
    if (
      batch !== undefined &&
      batch.end === offset &&
      batch.end - batch.offset + bytes.length <= WRITE_BLOCK_BYTES
    ) {
      batch.chunks.push(bytes);
      batch.end += bytes.length;
      return;
    }
    if (batch !== undefined) this.#writeBatch(transfer, target);
    target.batch = { offset, end: offset + bytes.length, chunks: [bytes] };
  }

  /** Writes every batch gathered this turn. */
  #writeBatches(): void {
    for (const [transfer, target] of this.#targets) {
      if (target.batch !== undefined) this.#writeBatch(transfer, target);
    }
  }

  #writeBatch(transfer: string, target: Target): void {
    const batch = target.batch!;
    target.batch = undefined;
    // Batches go to the file at once, several at a time (a disk, or the page cache, takes them
    // in parallel); their ends are reported in order, as the bytes before them are written, and
    // each report opens credit for the sender.
    const entry = { end: batch.end, done: false };
    target.pending.push(entry);
    const pass = target.pass;
    const written = target.barrier
      .then(() => writeAt(target.file.handle, batch.chunks, batch.offset))
      .then(
        () => {
          if (this.#targets.get(transfer) !== target || target.pass !== pass) return;
          flushBehind(target.file, batch.end - batch.offset);
          entry.done = true;
          let end: number | undefined;
          while (target.pending[0]?.done === true) end = target.pending.shift()!.end;
          if (end !== undefined) this.#transfers.written(transfer, end, Date.now());
          this.#options.changed();
        },
        (error: unknown) => {
          if (this.#targets.get(transfer) !== target) return;
          this.#transfers.saveFailed(transfer, (error as Error).message, Date.now());
          this.#options.changed();
        },
      );
    target.writes = Promise.all([target.writes, written]).then(() => undefined);
  }

  #save(transfer: string): void {
    const target = this.#targets.get(transfer);
    if (target === undefined) return;
    target.writes = target.writes.then(async () => {
      try {
        const path = await finishTarget(target.file);
        this.#targets.delete(transfer);
        this.#transfers.saved(transfer, Date.now());
        const summary = this.#transfers.list().find((entry) => entry.transfer === transfer);
        this.#options.emit({
          type: 'transfer-completed',
          transfer,
          direction: 'incoming',
          peer: summary?.peer ?? '',
          path,
        });
      } catch (error) {
        this.#transfers.saveFailed(transfer, (error as Error).message, Date.now());
      }
      this.#options.changed();
    });
  }

  #restartTarget(transfer: string): void {
    const target = this.#targets.get(transfer);
    if (target === undefined) return;
    // The first pass is worthless: its late writes are ignored, and the file is emptied before
    // any write of the second pass starts.
    target.pass++;
    target.pending = [];
    target.batch = undefined;
    target.writes = target.writes.then(() => target.file.handle.truncate(0));
    target.barrier = target.writes;
  }

  #closeSource(transfer: string): void {
    const source = this.#sources.get(transfer);
    if (source === undefined) return;
    this.#sources.delete(transfer);
    void source.handle.close().catch(() => undefined);
  }

  #dropTarget(transfer: string): void {
    const target = this.#targets.get(transfer);
    if (target === undefined) return;
    this.#targets.delete(transfer);
    void target.writes.then(() => discardTarget(target.file));
  }
}
