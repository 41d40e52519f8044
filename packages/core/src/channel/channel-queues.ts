/**
 * The bookkeeping both secure channels share: bounded queues of events and of outgoing bytes, and
 * the rule that a protocol error fails the channel for good.
 *
 * @module
 */

import { BufferFullError } from '../errors/channel-errors.js';
import { LanchatError } from '../errors/lanchat-error.js';
import { FifoQueue } from '../util/fifo-queue.js';
import type { ChannelEvent } from './channel-events.js';

/** Events waiting for `nextEvent()`, with the payload bytes they hold. */
export class EventQueue {
  readonly #events = new FifoQueue<ChannelEvent>();
  #bytes = 0;

  /** Payload bytes of the messages waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  push(event: ChannelEvent): void {
    this.#events.push(event);
    if (event.type === 'message-received') this.#bytes += event.payload.length;
  }

  next(): ChannelEvent | undefined {
    const event = this.#events.shift();
    if (event?.type === 'message-received') this.#bytes -= event.payload.length;
    return event;
  }
}

/** Encoded frames or datagrams waiting for `pollTransmit()`. */
export class OutgoingQueue {
  readonly #items = new FifoQueue<Uint8Array>();
  /** Items never joined with others (see {@link pushAlone}). */
  readonly #alone = new WeakSet<Uint8Array>();
  #bytes = 0;

  /** Bytes waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  push(bytes: Uint8Array): void {
    this.#items.push(bytes);
    this.#bytes += bytes.length;
  }

  /**
   * Queues bytes that {@link takeCoalesced} hands out alone, never copied into a joined buffer (a
   * large body written as a vectored write beside its small header).
   */
  pushAlone(bytes: Uint8Array): void {
    this.#alone.add(bytes);
    this.push(bytes);
  }

  /** The oldest item (a datagram), or `undefined`. */
  takeOne(): Uint8Array | undefined {
    const item = this.#items.shift();
    if (item !== undefined) this.#bytes -= item.length;
    return item;
  }

  /**
   * The oldest items joined into one buffer of at most `limit` bytes (small stream writes
   * coalesced), or the oldest item alone, uncopied, when it is larger; `undefined` when empty.
   */
  takeCoalesced(limit: number): Uint8Array | undefined {
    const items = this.#items;
    const first = items.shift();
    if (first === undefined) return undefined;
    let count = 1;
    let total = first.length;
    if (this.#alone.has(first)) {
      this.#bytes -= total;
      return first;
    }
    for (
      let next = items.peek();
      next !== undefined && total + next.length <= limit && !this.#alone.has(next);
    ) {
      total += next.length;
      count++;
      next = items.peek(count - 1);
    }
    this.#bytes -= total;
    if (count === 1) return first;
    const output = new Uint8Array(total);
    output.set(first, 0);
    let offset = first.length;
    for (let index = 1; index < count; index++) {
      const item = items.shift()!;
      output.set(item, offset);
      offset += item.length;
    }
    return output;
  }

  clear(): void {
    this.#items.clear();
    this.#bytes = 0;
  }
}

/**
 * Runs a step of a channel. A lanchat protocol error fails the channel for good through `fail`
 * (which returns the error to throw); a {@link BufferFullError} only refuses the call.
 */
export function guarded(step: () => void, fail: (error: LanchatError) => LanchatError): void {
  try {
    step();
  } catch (error) {
    if (LanchatError.isInstance(error) && !BufferFullError.isInstance(error)) throw fail(error);
    throw error;
  }
}
