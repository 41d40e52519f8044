/**
 * One direction of the testing pair's fake link: what is in flight, when it arrives, and what the
 * link did to it. Internal to the testing pair; not exported from the package.
 *
 * @module
 */

import type { SeededRandom } from './random.js';
import { type Direction, LinkOverflowError } from './testing-errors.js';

/** Counters of one direction of a {@link TestingPair}'s link, since the pair was created. */
export interface DirectionStatistics {
  /** Transmissions taken from the sending endpoint's `pollTransmit`. */
  readonly transmitted: number;
  /** Bytes of those transmissions. */
  readonly transmittedBytes: number;
  /**
   * Transmissions that entered the link, after the `intercept` hook (which can drop, change or
   * add some) and, in stream mode, without empty writes, which carry nothing.
   */
  readonly sent: number;
  /** Bytes of the transmissions that entered the link. */
  readonly sentBytes: number;
  /** Datagrams (or duplicate copies) the link lost. Always 0 in stream mode. */
  readonly dropped: number;
  /** Bytes of the lost datagrams. */
  readonly droppedBytes: number;
  /** Extra copies of datagrams the link made. Always 0 in stream mode. */
  readonly duplicated: number;
  /** Bytes of the extra copies. */
  readonly duplicatedBytes: number;
  /** Datagrams (or copies) the link held back by an extra delay (`reordering`). */
  readonly delayed: number;
  /**
   * Datagrams that arrived after a datagram sent later in the same direction had already
   * arrived: the reordering the receiver actually saw, whether it came from `reordering` or from
   * latency jitter. Always 0 in stream mode.
   */
  readonly reordered: number;
  /**
   * Calls to the receiving endpoint's `receive`. In stream mode with `chunking` this counts
   * chunks, which need not match the number of writes.
   */
  readonly delivered: number;
  /** Bytes handed to the receiving endpoint. */
  readonly deliveredBytes: number;
  /**
   * Items in flight now: datagrams or copies, or in stream mode writes (and chunks of a write
   * being delivered).
   */
  readonly inFlight: number;
  /** Bytes in flight now. */
  readonly inFlightBytes: number;
}

/** How a link behaves; checked by the testing pair before it builds its links. */
export interface LinkSettings {
  readonly mode: 'stream' | 'datagram';
  readonly latencyMin: number;
  readonly latencyMax: number;
  readonly loss: number;
  readonly duplication: number;
  readonly reordering: number;
  readonly reorderDelayMin: number;
  readonly reorderDelayMax: number;
  /** Stream mode only: the largest chunk, or `undefined` to deliver each write whole. */
  readonly maxChunk: number | undefined;
  readonly maxInFlight: number;
}

/** Something on the wire. */
export interface InFlightItem {
  /** When it arrives. */
  readonly deliverAt: number;
  /**
   * Order of entry into the link, across both directions of the pair: breaks ties between items
   * that arrive at the same time, so the schedule never depends on anything but the seed.
   */
  readonly sequence: number;
  /** Datagram mode: index of the send in this direction, shared by duplicate copies. */
  readonly sendIndex: number;
  /** When it was sent. */
  readonly sentAt: number;
  /** The bytes: the link's own copy, never shared with an endpoint or with another item. */
  readonly data: Uint8Array;
  /** Stream mode: a chunk already cut from the writes due, to be delivered as it is. */
  readonly cut: boolean;
}

type MutableStatistics = { -readonly [Key in keyof DirectionStatistics]: DirectionStatistics[Key] };

/**
 * Hands out the order in which items enter the link, shared by both directions of a pair so that
 * ties between them are broken by who sent first.
 */
export class SequenceCounter {
  #next = 0;

  /** The next number: 0, 1, 2, … */
  take(): number {
    return this.#next++;
  }
}

/** Orders items by arrival time, then by entry into the link. */
function compareItems(left: InFlightItem, right: InFlightItem): number {
  return left.deliverAt - right.deliverAt || left.sequence - right.sequence;
}

/** One direction of the fake link. */
export class Link {
  readonly direction: Direction;
  readonly #settings: LinkSettings;
  readonly #random: SeededRandom;
  readonly #sequence: SequenceCounter;
  /**
   * Items in flight, sorted from the last to arrive to the next to arrive, so that taking the next
   * one is a `pop()`. Sends are rare enough in tests that sorted insertion beats a heap on
   * simplicity.
   */
  readonly #items: InFlightItem[] = [];
  readonly #statistics: MutableStatistics = {
    transmitted: 0,
    transmittedBytes: 0,
    sent: 0,
    sentBytes: 0,
    dropped: 0,
    droppedBytes: 0,
    duplicated: 0,
    duplicatedBytes: 0,
    delayed: 0,
    reordered: 0,
    delivered: 0,
    deliveredBytes: 0,
    inFlight: 0,
    inFlightBytes: 0,
  };
  /** Stream mode: arrival time of the last write, which the next one may not beat. */
  #lastDeliverAt = Number.NEGATIVE_INFINITY;
  #sendCount = 0;
  /** Datagram mode: the highest send index delivered so far, to measure reordering. */
  #highestDeliveredSendIndex = -1;

  constructor(
    direction: Direction,
    settings: LinkSettings,
    random: SeededRandom,
    sequence: SequenceCounter,
  ) {
    this.direction = direction;
    this.#settings = settings;
    this.#random = random;
    this.#sequence = sequence;
  }

  /** A snapshot of the counters. */
  statistics(): DirectionStatistics {
    return Object.freeze({ ...this.#statistics });
  }

  /** The next item to arrive, left in place; `undefined` when nothing is in flight. */
  peek(): InFlightItem | undefined {
    return this.#items.at(-1);
  }

  /** Counts a transmission taken from the sending endpoint. */
  countTransmitted(length: number): void {
    this.#statistics.transmitted++;
    this.#statistics.transmittedBytes += length;
  }

  /**
   * Puts `data` (the link's own copy) on the wire at time `now`, applying duplication, loss,
   * latency and reordering.
   *
   * In stream mode `data` is never empty: the pair leaves empty writes out, as a socket does.
   *
   * @returns the copies the link lost (datagram mode), for the pair's event log.
   * @throws {@link LinkOverflowError} if the copies would not fit under `maxInFlight`; nothing is
   * sent or counted.
   */
  send(data: Uint8Array, now: number): readonly Uint8Array[] {
    const settings = this.#settings;
    const random = this.#random;
    const statistics = this.#statistics;
    // Duplication is decided first so that the capacity check covers every copy; a copy that
    // will be lost is counted too, which errs on the side of failing early.
    const copies = settings.mode === 'datagram' && random.chance(settings.duplication) ? 2 : 1;
    if (statistics.inFlight + copies > settings.maxInFlight) {
      throw new LinkOverflowError(
        this.direction,
        settings.maxInFlight,
        `${statistics.inFlight} items are in flight and ${copies} more would not fit`,
      );
    }
    statistics.sent++;
    statistics.sentBytes += data.length;
    const sendIndex = this.#sendCount++;

    if (settings.mode === 'stream') {
      // A byte stream never reorders: a write arrives no earlier than the one before it.
      const latency = random.nextInt(settings.latencyMin, settings.latencyMax);
      const deliverAt = Math.max(now + latency, this.#lastDeliverAt);
      this.#lastDeliverAt = deliverAt;
      this.#insert({
        deliverAt,
        sequence: this.#sequence.take(),
        sendIndex,
        sentAt: now,
        data,
        cut: false,
      });
      return [];
    }

    if (copies === 2) {
      statistics.duplicated++;
      statistics.duplicatedBytes += data.length;
    }
    const lost: Uint8Array[] = [];
    for (let copy = 0; copy < copies; copy++) {
      // Each copy has its own bytes, so a receiver that changes one in place changes no other.
      const bytes = copy === 0 ? data : data.slice();
      if (random.chance(settings.loss)) {
        statistics.dropped++;
        statistics.droppedBytes += bytes.length;
        lost.push(bytes);
        continue;
      }
      let delay = random.nextInt(settings.latencyMin, settings.latencyMax);
      if (random.chance(settings.reordering)) {
        delay += random.nextInt(settings.reorderDelayMin, settings.reorderDelayMax);
        statistics.delayed++;
      }
      this.#insert({
        deliverAt: now + delay,
        sequence: this.#sequence.take(),
        sendIndex,
        sentAt: now,
        data: bytes,
        cut: false,
      });
    }
    return lost;
  }

  /**
   * Takes the next item off the wire if it has arrived by `now`, and counts it as delivered (the
   * caller hands it to the receiver next). In stream mode with chunking, first gathers every write
   * that has arrived, joins them and cuts the bytes into random chunks: the receiver sees
   * arbitrary chunk boundaries, as from a real socket.
   */
  take(now: number): InFlightItem | undefined {
    let item = this.#items.at(-1);
    if (item === undefined || item.deliverAt > now) return undefined;
    if (this.#settings.maxChunk !== undefined && !item.cut) {
      this.#cutWritesDue(now, this.#settings.maxChunk);
      item = this.#items.at(-1)!;
    }
    this.#items.pop();
    const statistics = this.#statistics;
    statistics.inFlight--;
    statistics.inFlightBytes -= item.data.length;
    statistics.delivered++;
    statistics.deliveredBytes += item.data.length;
    if (this.#settings.mode === 'datagram') {
      if (item.sendIndex < this.#highestDeliveredSendIndex) statistics.reordered++;
      else this.#highestDeliveredSendIndex = item.sendIndex;
    }
    return item;
  }

  #insert(item: InFlightItem): void {
    const items = this.#items;
    // Binary search for the first item that arrives no later than the new one.
    let low = 0;
    let high = items.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareItems(items[middle]!, item) > 0) low = middle + 1;
      else high = middle;
    }
    items.splice(low, 0, item);
    this.#statistics.inFlight++;
    this.#statistics.inFlightBytes += item.data.length;
  }

  /**
   * Replaces the writes that have arrived by `now` with chunks of 1 to `maxChunk` bytes of their
   * joined bytes. The chunks keep the place of the first write (its arrival time and sequence),
   * so they come before anything that arrives later. Writes that arrive at the same time are
   * coalesced, as a socket's receive buffer does.
   */
  #cutWritesDue(now: number, maxChunk: number): void {
    const items = this.#items;
    const writes: InFlightItem[] = [];
    let total = 0;
    for (let last = items.at(-1); last !== undefined; last = items.at(-1)) {
      if (last.deliverAt > now || last.cut) break;
      writes.push(last);
      total += last.data.length;
      items.pop();
    }
    const first = writes[0]!;
    const joined = new Uint8Array(total);
    const writeStarts: number[] = [];
    let offset = 0;
    for (const write of writes) {
      writeStarts.push(offset);
      joined.set(write.data, offset);
      offset += write.data.length;
    }
    const chunks: InFlightItem[] = [];
    let writeIndex = 0;
    for (let start = 0; start < total;) {
      const length = this.#random.nextInt(1, Math.min(maxChunk, total - start));
      // A chunk is sent when the write holding its first byte was.
      while (writeIndex + 1 < writes.length && writeStarts[writeIndex + 1]! <= start) writeIndex++;
      chunks.push({
        deliverAt: first.deliverAt,
        sequence: first.sequence,
        sendIndex: first.sendIndex,
        sentAt: writes[writeIndex]!.sentAt,
        data: joined.subarray(start, start + length),
        cut: true,
      });
      start += length;
    }
    // Nothing in flight arrives before these chunks, so they go on the end, first chunk last.
    for (let index = chunks.length - 1; index >= 0; index--) items.push(chunks[index]!);
    this.#statistics.inFlight += chunks.length - writes.length;
  }
}
