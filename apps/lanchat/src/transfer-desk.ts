/**
 * The file side of the terminal apps (`lanchat connect`, `lanchat peer`): `/send`, `/accept`,
 * `/reject`, `/cancel`, `/transfers`, and the transfer events as output events, with rates and
 * the short ids people type.
 *
 * @module
 */

import { resolve as resolvePath } from 'node:path';
import { type TransferOffer, type TransferSummary, toHex } from '@lanchat/core';
import type { FileEvent } from '@lanchat/tcp';
import type { OutputEvent, TransferFields } from './client-app.js';
import type { Command } from './commands.js';

/** Most transfers the app remembers; ended ones go first (the client keeps at most 64 going). */
export const MAX_TRANSFER_RECORDS = 1_000;

/** Shortest gap between two `transfer-progress` events of one transfer, in ms. */
export const PROGRESS_INTERVAL = 250;

/** What moves files: a chat client or a peer. */
export interface FileEndpoint {
  sendFile(to: string, path: string): Promise<string>;
  acceptFile(transfer: string, directory: string): Promise<{ name: string } | { refused: string }>;
  rejectFile(transfer: string): void;
  cancelTransfer(transfer: string): void;
  readonly transfers: TransferSummary[];
  offerOf(transfer: string): TransferOffer;
}

/** What a {@link TransferDesk} outputs: transfer events, `/transfers`, errors. */
export type DeskEvent = Extract<
  OutputEvent,
  { event: `transfer-${string}` | 'transfers' | 'error' }
>;

/** Options of a {@link TransferDesk}. */
export interface TransferDeskOptions {
  readonly output: (event: DeskEvent) => void;
  /** The client or peer, once started. */
  readonly endpoint: () => FileEndpoint;
  /** Where `/accept` puts a file when no folder is given. */
  readonly downloadDir: string;
  /** Accept every file offered, into this folder (scripts). */
  readonly acceptFiles?: string;
  /** A file could not be offered (read or hashed). */
  readonly sendFailed: () => void;
  /** A transfer ended, well or not. */
  readonly ended: (ok: boolean) => void;
  /** Something changed that may let the app leave (a transfer ended, a hash finished). */
  readonly changed: () => void;
}

const FILE_EVENT_TYPES: ReadonlySet<string> = new Set<FileEvent['type']>([
  'transfer-offered',
  'transfer-accepted',
  'transfer-progress',
  'transfer-interrupted',
  'transfer-restarted',
  'transfer-completed',
  'transfer-failed',
]);

/** The commands of files, which a {@link TransferDesk} runs. */
export type FileCommand = Extract<
  Command,
  { kind: 'send' | 'accept' | 'reject' | 'cancel' | 'transfers' }
>;

const FILE_COMMANDS: ReadonlySet<string> = new Set<FileCommand['kind']>([
  'send',
  'accept',
  'reject',
  'cancel',
  'transfers',
]);

/** Whether a parsed command is one of files. */
export function isFileCommand(command: { readonly kind: string }): command is FileCommand {
  return FILE_COMMANDS.has(command.kind);
}

/** Whether an event of the client or the peer is a file event. */
export function isFileEvent(event: { readonly type: string }): event is FileEvent {
  return FILE_EVENT_TYPES.has(event.type);
}

/** What the app remembers of a transfer, for events and `/accept`. */
interface TransferRecord {
  readonly direction: 'outgoing' | 'incoming';
  peer: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly md5: string;
  /** Offered to this client and not yet answered. */
  pending: boolean;
  /** When the bytes started (or started again) to move, and from which offset. */
  startedAt: number;
  startBytes: number;
  firstStartedAt: number | undefined;
  lastProgressAt: number;
  ended: boolean;
}

/** The transfers of one app: commands in, output events out. */
export class TransferDesk {
  readonly #options: TransferDeskOptions;
  readonly #transfers = new Map<string, TransferRecord>();
  /** Files of `/send` being hashed, not offered yet. */
  #hashing = 0;

  constructor(options: TransferDeskOptions) {
    this.#options = options;
  }

  /** Runs `/send`, `/accept`, `/reject`, `/cancel` or `/transfers`. */
  run(command: FileCommand): void {
    switch (command.kind) {
      case 'send':
        this.send(command.nick, command.path);
        return;
      case 'accept':
        this.accept(command.first, command.rest);
        return;
      case 'reject':
        this.reject(command.transfer);
        return;
      case 'cancel':
        this.cancel(command.transfer);
        return;
      case 'transfers':
        this.list();
        return;
    }
  }

  /** `/reject [ID]`. */
  reject(prefix: string | undefined): void {
    const transfer = this.find(prefix, true);
    if (transfer !== undefined) this.#endpoint().rejectFile(transfer);
  }

  /** `/cancel ID`. */
  cancel(prefix: string): void {
    const transfer = this.find(prefix, false);
    if (transfer !== undefined) this.#endpoint().cancelTransfer(transfer);
  }

  /** `/transfers`. */
  list(): void {
    this.#options.output({
      event: 'transfers',
      transfers: this.#endpoint().transfers.map((entry) => ({
        transfer: entry.transfer,
        id: shortId(entry.transfer),
        direction: entry.direction,
        peer: entry.peer,
        name: entry.name,
        size: entry.size,
        bytes: entry.bytes,
        state: entry.state,
      })),
    });
  }

  #endpoint(): FileEndpoint {
    return this.#options.endpoint();
  }

  #error(code: string, message: string): void {
    this.#options.output({ event: 'error', code, message });
  }

  /** Records a transfer, forgetting the oldest ended ones past {@link MAX_TRANSFER_RECORDS}. */
  #remember(transfer: string, record: TransferRecord): void {
    this.#transfers.set(transfer, record);
    if (this.#transfers.size <= MAX_TRANSFER_RECORDS) return;
    for (const [id, old] of this.#transfers) {
      if (old.ended) {
        this.#transfers.delete(id);
        return;
      }
    }
  }

  /**
   * Whether a transfer is going, or an offer of ours waits for its answer. An offer made to us
   * and not answered does not count: with the input ended nobody can answer it (goodbye refuses
   * it).
   */
  going(): boolean {
    if (this.#hashing > 0) return true;
    for (const record of this.#transfers.values()) {
      if (!record.ended && !(record.direction === 'incoming' && record.pending)) return true;
    }
    return false;
  }

  send(nick: string, path: string): void {
    const client = this.#endpoint();
    const full = resolvePath(expandHome(path));
    // Hashing a large file takes a while; its events come when it is offered.
    const pending = client.sendFile(nick, full);
    this.#hashing++;
    pending.then(
      (transfer) => {
        this.#hashing--;
        const summary = client.transfers.find((entry) => entry.transfer === transfer);
        const offer = summary === undefined ? undefined : client.offerOf(transfer);
        const record: TransferRecord = {
          direction: 'outgoing',
          peer: nick,
          name: offer?.name ?? full,
          size: offer?.size ?? 0,
          sha256: offer === undefined ? '' : toHex(offer.sha256),
          md5: offer === undefined ? '' : toHex(offer.md5),
          pending: false,
          startedAt: Date.now(),
          startBytes: 0,
          firstStartedAt: undefined,
          lastProgressAt: 0,
          ended: summary === undefined || summary.state === 'done' || summary.state === 'failed',
        };
        this.#remember(transfer, record);
        this.#options.output({
          event: 'transfer-sending',
          ...this.#fields(transfer, record),
          size: record.size,
          sha256: record.sha256,
          md5: record.md5,
        });
        this.#options.changed();
      },
      (error: unknown) => {
        this.#hashing--;
        this.#error('send-failed', `cannot send ${full}: ${(error as Error).message}`);
        this.#options.sendFailed();
        this.#options.changed();
      },
    );
  }

  /** `/accept [ID] [DIR]`: an id prefix of a waiting offer, else a folder, else the latest. */
  accept(first: string | undefined, rest: string | undefined): void {
    const waiting = [...this.#transfers].filter(([, record]) => record.pending);
    let transfer: string | undefined;
    let folder: string | undefined;
    const byPrefix = first === undefined ? [] : waiting.filter(([id]) => id.startsWith(first));
    if (first !== undefined && byPrefix.length === 1 && /^[0-9a-f]{4,32}$/.test(first)) {
      transfer = byPrefix[0]![0];
      folder = rest;
    } else {
      transfer = waiting.at(-1)?.[0];
      folder = first === undefined ? undefined : rest === undefined ? first : `${first} ${rest}`;
    }
    if (transfer === undefined) {
      this.#error(
        'no-such-transfer',
        'no file offer waits' +
          (first === undefined ? '' : ` for ${first}`) +
          '; to accept a chat request, type /chat NICK',
      );
      return;
    }
    this.#acceptInto(transfer, folder ?? this.#options.downloadDir);
  }

  #acceptInto(transfer: string, folder: string): void {
    const client = this.#endpoint();
    const record = this.#transfers.get(transfer);
    if (record !== undefined) record.pending = false;
    const directory = resolvePath(expandHome(folder));
    client.acceptFile(transfer, directory).then(
      (result) => {
        if ('refused' in result || record === undefined) return;
        this.#options.output({
          event: 'transfer-accepted',
          ...this.#fields(transfer, record),
          offset: 0,
          folder: directory,
        });
      },
      (error: unknown) => {
        // Still waiting (unless it ended meanwhile): /accept may try another folder.
        if (record !== undefined && !record.ended) record.pending = true;
        this.#error('accept-failed', `cannot take the file: ${(error as Error).message}`);
      },
    );
  }

  /** The transfer a command names: a unique start of its id, or the latest offer waiting. */
  find(prefix: string | undefined, offersOnly: boolean): string | undefined {
    const candidates = [...this.#transfers].filter(([, record]) =>
      offersOnly ? record.pending : !record.ended,
    );
    if (prefix === undefined) {
      const latest = candidates.at(-1)?.[0];
      if (latest === undefined) this.#error('no-such-transfer', 'no file offer waits');
      return latest;
    }
    const matches = candidates.filter(([id]) => id.startsWith(prefix.toLowerCase()));
    if (matches.length !== 1) {
      this.#error(
        'no-such-transfer',
        matches.length === 0
          ? `no ${offersOnly ? 'file offer' : 'transfer'} ${prefix}; /transfers lists them`
          : `${prefix} names more than one transfer; type more of its id`,
      );
      return undefined;
    }
    return matches[0]![0];
  }

  #fields(transfer: string, record: TransferRecord): TransferFields {
    return {
      transfer,
      id: shortId(transfer),
      direction: record.direction,
      peer: record.peer,
      name: record.name,
    };
  }

  /** Turns the client's file events into output events; returns false for other events. */
  show(event: FileEvent): boolean {
    const output = this.#options.output;
    const now = Date.now();
    switch (event.type) {
      case 'transfer-offered': {
        const record: TransferRecord = {
          direction: 'incoming',
          peer: event.peer,
          name: event.name,
          size: event.size,
          sha256: event.sha256,
          md5: event.md5,
          pending: true,
          startedAt: now,
          startBytes: 0,
          firstStartedAt: undefined,
          lastProgressAt: 0,
          ended: false,
        };
        this.#remember(event.transfer, record);
        output({
          event: 'transfer-offered',
          ...this.#fields(event.transfer, record),
          size: event.size,
          sha256: event.sha256,
          md5: event.md5,
        });
        const folder = this.#options.acceptFiles;
        if (folder !== undefined) this.#acceptInto(event.transfer, folder);
        return true;
      }
      case 'transfer-accepted': {
        const record = this.#transfers.get(event.transfer);
        if (record === undefined) return true;
        record.startedAt = now;
        record.startBytes = event.offset;
        record.firstStartedAt ??= now;
        output({
          event: 'transfer-accepted',
          ...this.#fields(event.transfer, record),
          offset: event.offset,
        });
        return true;
      }
      case 'transfer-progress': {
        const record = this.#transfers.get(event.transfer);
        if (record === undefined) return true;
        if (record.direction === 'incoming' && record.firstStartedAt === undefined) {
          record.firstStartedAt = now;
          record.startedAt = now;
        }
        const last = event.bytes === event.size;
        if (!last && now - record.lastProgressAt < PROGRESS_INTERVAL) return true;
        record.lastProgressAt = now;
        const seconds = Math.max(0.001, (now - record.startedAt) / 1000);
        const rate = Math.max(0, event.bytes - record.startBytes) / seconds;
        output({
          event: 'transfer-progress',
          ...this.#fields(event.transfer, record),
          bytes: event.bytes,
          size: event.size,
          rate: Math.round(rate),
          ...(rate > 0 ? { eta: Math.round((event.size - event.bytes) / rate) } : {}),
        });
        return true;
      }
      case 'transfer-interrupted': {
        const record = this.#transfers.get(event.transfer);
        if (record === undefined) return true;
        output({ event: 'transfer-interrupted', ...this.#fields(event.transfer, record) });
        return true;
      }
      case 'transfer-restarted':
        return true;
      case 'transfer-completed': {
        const record = this.#transfers.get(event.transfer);
        if (record === undefined) return true;
        record.ended = true;
        const seconds = (now - (record.firstStartedAt ?? record.startedAt)) / 1000;
        output({
          event: 'transfer-completed',
          ...this.#fields(event.transfer, record),
          size: record.size,
          seconds: Math.round(seconds * 1000) / 1000,
          rate: Math.round(record.size / Math.max(0.001, seconds)),
          sha256: record.sha256,
          md5: record.md5,
          ...(event.path === undefined ? {} : { path: event.path }),
        });
        this.#options.ended(true);
        this.#options.changed();
        return true;
      }
      case 'transfer-failed': {
        const record = this.#transfers.get(event.transfer);
        if (record === undefined) return true;
        record.ended = true;
        record.pending = false;
        output({
          event: 'transfer-failed',
          ...this.#fields(event.transfer, record),
          code: event.code,
          message: event.message,
          remote: event.remote,
        });
        this.#options.ended(false);
        this.#options.changed();
        return true;
      }
    }
  }
}

/** The first 8 hex digits of a transfer id: what people type. */
export function shortId(transfer: string): string {
  return transfer.slice(0, 8);
}

/** `~` and `~/...` as the home folder, as a shell would. */
export function expandHome(path: string): string {
  const home = process.env['HOME'];
  if (home === undefined) return path;
  if (path === '~') return home;
  return path.startsWith('~/') ? home + path.slice(1) : path;
}
