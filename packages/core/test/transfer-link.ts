import type { Endpoint } from '../src/testing/endpoint.js';
import {
  FileReceiver,
  type FileReceiverEvent,
  type FileReceiverOptions,
} from '../src/transfer/file-receiver.js';
import {
  FileSender,
  type FileSenderEvent,
  type FileSenderOptions,
} from '../src/transfer/file-sender.js';
import { createMd5 } from '../src/integrity/md5.js';
import { createSha256 } from '../src/integrity/sha256.js';
import {
  type TransferMessage,
  type TransferOffer,
  fromHex,
  toHex,
} from '../src/transfer/transfer-messages.js';

/**
 * A test encoding of transfer messages, so that the machines can run over the testing pair:
 * control messages as JSON (digests in hex), data as a tag byte, the offset and the bytes. (The
 * chat session has its own encoding; this one only has to be exact.)
 */
export function encodeForTest(message: TransferMessage): Uint8Array {
  if (message.type === 'data') {
    const head = new TextEncoder().encode(message.transfer);
    const output = new Uint8Array(1 + 32 + 8 + message.bytes.length);
    output[0] = 0xff;
    output.set(head, 1);
    new DataView(output.buffer).setBigUint64(33, BigInt(message.offset));
    output.set(message.bytes, 41);
    return output;
  }
  const json =
    message.type === 'offer'
      ? { ...message, sha256: toHex(message.sha256), md5: toHex(message.md5) }
      : message;
  return new TextEncoder().encode(JSON.stringify(json));
}

export function decodeForTest(bytes: Uint8Array): TransferMessage {
  if (bytes[0] === 0xff) {
    return {
      type: 'data',
      transfer: new TextDecoder().decode(bytes.subarray(1, 33)),
      offset: Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(33)),
      bytes: bytes.slice(41),
    };
  }
  const parsed = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  if (parsed['type'] === 'offer') {
    return {
      ...(parsed as unknown as TransferOffer),
      sha256: fromHex(parsed['sha256'] as string),
      md5: fromHex(parsed['md5'] as string),
    };
  }
  return parsed as unknown as TransferMessage;
}

/** The offer fields of a file: its size and digests. */
export function describeFile(
  transfer: string,
  name: string,
  content: Uint8Array,
): Pick<FileSenderOptions, 'transfer' | 'name' | 'size' | 'sha256' | 'md5'> {
  return {
    transfer,
    name,
    size: content.length,
    sha256: createSha256().update(content).digest(),
    md5: createMd5().update(content).digest(),
  };
}

/**
 * The sender of a test, as an endpoint: it answers every read request from `file` at once (or
 * from `source(offset, length)` when given), and records its events.
 */
export class SenderEndpoint implements Endpoint {
  readonly sender: FileSender;
  readonly events: FileSenderEvent[] = [];
  /** Offsets and lengths of every data message sent. */
  readonly sent: { offset: number; length: number }[] = [];
  /** Whether the link is up: while down nothing is sent (what would be is lost). */
  up = true;

  constructor(
    options: FileSenderOptions,
    readonly file: Uint8Array,
    readonly source: (offset: number, length: number) => Uint8Array = (offset, length) =>
      file.slice(offset, offset + length),
  ) {
    this.sender = new FileSender(options);
  }

  receive(data: Uint8Array, now: number): void {
    this.sender.receive(decodeForTest(data), now);
    this.pump(now);
  }

  pollTransmit(now: number): Uint8Array | undefined {
    this.pump(now);
    for (;;) {
      const message = this.sender.pollMessage(now);
      if (message === undefined) return undefined;
      if (message.type === 'data') {
        this.sent.push({ offset: message.offset, length: message.bytes.length });
      }
      if (this.up) return encodeForTest(message);
    }
  }

  pollTimeout(): number | undefined {
    return this.sender.pollTimeout();
  }

  handleTimeout(now: number): void {
    this.sender.handleTimeout(now);
    this.pump(now);
  }

  pump(now: number): void {
    for (
      let event = this.sender.nextEvent();
      event !== undefined;
      event = this.sender.nextEvent()
    ) {
      this.events.push(event);
      if (event.type === 'read-requested') {
        this.sender.supply(event.offset, this.source(event.offset, event.length), now);
      }
    }
  }
}

/** Options of a {@link ReceiverEndpoint}. */
export interface ReceiverBehaviour {
  /** Accept the offer as soon as it comes (default true). */
  readonly autoAccept?: boolean;
  /** Bytes of a file already on disk to resume from (fed with `restore()` before accepting). */
  readonly existing?: Uint8Array;
  /** Save the verified file at once (default true). */
  readonly autoSave?: boolean;
  /** Report writes at once (default true); otherwise `flushWrites()` does. */
  readonly autoWrite?: boolean;
}

/**
 * The receiver of a test, as an endpoint: it makes its FileReceiver from the first offer, writes
 * data into a growing buffer, and records its events and the most bytes it ever held unwritten.
 */
export class ReceiverEndpoint implements Endpoint {
  receiver: FileReceiver | undefined;
  readonly events: FileReceiverEvent[] = [];
  /** What was written, in pieces (joined on demand: joining per write would be quadratic). */
  #pieces: Uint8Array[] = [];
  #length = 0;
  /** Bytes handed out and not yet reported written. */
  unwritten = 0;
  maxUnwritten = 0;
  up = true;
  #pendingWrite = 0;

  /** The file as written so far. */
  get file(): Uint8Array {
    const file = new Uint8Array(this.#length);
    let offset = 0;
    for (const piece of this.#pieces) {
      file.set(piece, offset);
      offset += piece.length;
    }
    this.#pieces = [file];
    return file.slice();
  }

  constructor(
    readonly options: Omit<FileReceiverOptions, 'offer' | 'now'>,
    readonly behaviour: ReceiverBehaviour = {},
  ) {}

  receive(data: Uint8Array, now: number): void {
    const message = decodeForTest(data);
    if (this.receiver === undefined) {
      if (message.type !== 'offer') return;
      this.receiver = new FileReceiver({ ...this.options, offer: message, now });
      const existing = this.behaviour.existing;
      if (existing !== undefined) {
        this.receiver.restore(existing);
        this.#pieces = [existing.slice()];
        this.#length = existing.length;
      }
      if (this.behaviour.autoAccept ?? true) this.receiver.accept(now);
    } else {
      this.receiver.receive(message, now);
    }
    this.pump(now);
  }

  pollTransmit(now: number): Uint8Array | undefined {
    if (this.receiver === undefined) return undefined;
    this.pump(now);
    for (;;) {
      const message = this.receiver.pollMessage(now);
      if (message === undefined) return undefined;
      if (this.up) return encodeForTest(message);
    }
  }

  pollTimeout(): number | undefined {
    return this.receiver?.pollTimeout();
  }

  handleTimeout(now: number): void {
    this.receiver?.handleTimeout(now);
    this.pump(now);
  }

  /** Reports every write done so far. */
  flushWrites(now: number): void {
    if (this.receiver === undefined || this.#pendingWrite === 0) return;
    this.receiver.written(this.receiver.writtenBytes + this.#pendingWrite, now);
    this.unwritten -= this.#pendingWrite;
    this.#pendingWrite = 0;
    this.pump(now);
  }

  pump(now: number): void {
    const receiver = this.receiver;
    if (receiver === undefined) return;
    for (let event = receiver.nextEvent(); event !== undefined; event = receiver.nextEvent()) {
      this.events.push(event);
      switch (event.type) {
        case 'data-received': {
          if (event.offset !== this.#length) {
            throw new Error(`data at ${event.offset}, file has ${this.#length} bytes`);
          }
          this.#pieces.push(event.bytes.slice());
          this.#length += event.bytes.length;
          this.unwritten += event.bytes.length;
          this.maxUnwritten = Math.max(this.maxUnwritten, this.unwritten);
          this.#pendingWrite += event.bytes.length;
          if (this.behaviour.autoWrite ?? true) this.flushWrites(now);
          break;
        }
        case 'transfer-restarted':
          this.#pieces = [];
          this.#length = 0;
          this.unwritten = 0;
          this.#pendingWrite = 0;
          break;
        case 'transfer-verified':
          if (this.behaviour.autoSave ?? true) receiver.saved(now);
          break;
        default:
          break;
      }
    }
  }
}
