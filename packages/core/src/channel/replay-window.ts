/**
 * The sliding replay window of the secure channel's datagram mode.
 *
 * In datagram mode every packet carries its 64-bit counter in clear, and the counter is the AEAD
 * nonce. Datagrams may be lost, duplicated or reordered, so the receiver cannot insist on the
 * next counter; instead it accepts each counter at most once, accepts a late packet while its
 * counter is still inside a window of the most recent counters, and rejects the rest (the scheme
 * of IPsec's anti-replay window, RFC 4303 section 3.4.3 and RFC 6479, and of WireGuard).
 *
 * Why checking and committing are two calls: the counter travels in clear, so anyone on the LAN
 * can send a packet with any counter. If the window moved as soon as a counter was looked at, one
 * forged packet with a counter near 2^64 - 1 would push the window past every honest packet, and
 * the channel would reject all of them from then on. So the receiver asks {@link
 * ReplayWindow.check} first (cheap, changes nothing, and lets it drop replays without spending a
 * decryption on them), then decrypts and authenticates the packet, and calls {@link
 * ReplayWindow.commit} only if authentication succeeded. Only authenticated counters ever move
 * the window.
 *
 * A rejection is not an error: duplicated and late datagrams are normal on a LAN. The receiver
 * drops the packet and carries on.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors/lanchat-error.js';

/**
 * Default number of counters in a {@link ReplayWindow}: 2048.
 *
 * The protocol requires a receiver to keep a window of at least 1024 counters. 2048 leaves room
 * for reordering across bursts on Wi-Fi, where the link layer retransmits a frame after later
 * frames have gone through, and a sender that writes a burst of packets can see some of them
 * overtake others by hundreds of positions. It costs 256 bytes of bitmap per peer.
 */
export const DEFAULT_REPLAY_WINDOW_SIZE = 2048;

/** The smallest window size a {@link ReplayWindow} accepts: 64 counters. */
export const MIN_REPLAY_WINDOW_SIZE = 64;

/** The largest window size a {@link ReplayWindow} accepts: 65536 counters (8 KiB of bitmap). */
export const MAX_REPLAY_WINDOW_SIZE = 65_536;

/** The largest counter: a counter is an unsigned 64-bit integer. */
const MAX_COUNTER = 0xffff_ffff_ffff_ffffn;

/** Bits in one word of the bitmap. */
const WORD_BITS = 32;

/**
 * What a {@link ReplayWindow} makes of a counter.
 *
 * - `'fresh'`: never committed and not too old: the packet may be processed.
 * - `'duplicate'`: inside the window and already committed: a replay or a duplicated datagram.
 * - `'too-old'`: so far behind the highest committed counter that the window no longer remembers
 *   whether it was seen; it must be treated as a replay.
 */
export type ReplayVerdict = 'fresh' | 'duplicate' | 'too-old';

/** Options of a {@link ReplayWindow}. */
export interface ReplayWindowOptions {
  /**
   * How many counters, ending at the highest committed one, the window remembers. A multiple of
   * 32 from 64 to 65536; default {@link DEFAULT_REPLAY_WINDOW_SIZE} (2048). A secure channel must
   * use at least 1024, as the protocol requires; smaller sizes exist for tests that want to reach
   * the edges of the window quickly.
   */
  readonly size?: number;
}

/** The smallest power of two that is at least `value` (a positive integer up to 2^31). */
function powerOfTwoAtLeast(value: number): number {
  let power = 1;
  while (power < value) power *= 2;
  return power;
}

/**
 * The anti-replay window of one receiving direction of a datagram channel.
 *
 * Let H be the highest committed counter. Before the first commit every counter is fresh. After
 * it, a counter above H is fresh; a counter c with H - c >= `size` is too old; any other counter
 * (the window is [H - size + 1, H]) is fresh if it has not been committed and a duplicate if it
 * has. Use it in two steps:
 *
 * ```ts
 * if (window.check(counter) !== 'fresh') return drop(); // a replay: not worth decrypting
 * const plaintext = open(key, counter, packet); // throws or returns undefined if forged
 * if (plaintext === undefined) return drop();
 * if (window.commit(counter) !== 'fresh') return drop(); // another copy got there first
 * deliver(plaintext);
 * ```
 *
 * `commit()` checks again because the verdict may have changed since `check()` (two copies of a
 * packet decrypted concurrently); drop the packet unless `commit()` says `'fresh'`.
 *
 * Memory: one bit per counter in a ring of 32-bit words, whose length is `size` rounded up to a
 * power of two so that a counter's place in the ring is its low bits: `size` / 8 bytes for a
 * power-of-two size (256 bytes by default, 8 KiB at most), up to twice that otherwise. Nothing
 * else grows: the window never stores counters themselves.
 *
 * Time: {@link ReplayWindow.check} and a commit inside the window cost a few comparisons and one
 * bit test, and allocate nothing beyond the bigint temporary of masking the counter's low bits. A
 * commit that moves the window by d counters clears d bits, word by word, so it costs at most one
 * pass over the ring however far the window jumps (even from 0 to 2^64 - 1).
 */
export class ReplayWindow {
  /** How many counters the window covers, ending at {@link ReplayWindow.highest}. */
  readonly size: number;

  /** Bit `counter mod ringBits` is set when that counter, if inside the window, was committed. */
  readonly #words: Uint32Array;
  /** Bits in the ring: a power of two, at least `size`. */
  readonly #ringBits: number;
  /** `#ringBits` as a bigint, for comparing distances between counters. */
  readonly #ringBitsBig: bigint;
  /** `#ringBits - 1` as a bigint: masks a counter down to its place in the ring. */
  readonly #positionMask: bigint;
  readonly #sizeBig: bigint;

  /**
   * The highest committed counter, or -1 before the first commit. The sentinel makes every
   * counter "above the highest" before the first commit, so check() needs no special case.
   */
  #highest = -1n;
  /** H - size + 1: counters below it are too old. Negative while the window reaches below 0. */
  #oldestInWindow: bigint;

  #accepted = 0;
  #rejectedDuplicate = 0;
  #rejectedTooOld = 0;

  /**
   * Creates an empty window: every counter is fresh until the first commit.
   *
   * @throws {@link InvalidArgumentError} if `size` is not a multiple of 32 from 64 to 65536.
   */
  constructor(options?: ReplayWindowOptions) {
    const size = options?.size ?? DEFAULT_REPLAY_WINDOW_SIZE;
    if (
      !Number.isInteger(size) ||
      size < MIN_REPLAY_WINDOW_SIZE ||
      size > MAX_REPLAY_WINDOW_SIZE ||
      size % WORD_BITS !== 0
    ) {
      throw new InvalidArgumentError(
        `a replay window size must be a multiple of ${WORD_BITS} from ${MIN_REPLAY_WINDOW_SIZE} ` +
          `to ${MAX_REPLAY_WINDOW_SIZE}, got ${String(size)}`,
      );
    }
    this.size = size;
    this.#ringBits = powerOfTwoAtLeast(size);
    this.#ringBitsBig = BigInt(this.#ringBits);
    this.#positionMask = this.#ringBitsBig - 1n;
    this.#sizeBig = BigInt(size);
    this.#words = new Uint32Array(this.#ringBits / WORD_BITS);
    this.#oldestInWindow = this.#highest - this.#sizeBig + 1n;
  }

  /** The highest committed counter, or `undefined` before the first commit. */
  get highest(): bigint | undefined {
    return this.#highest < 0n ? undefined : this.#highest;
  }

  /**
   * How many counters {@link ReplayWindow.commit} found fresh and marked as seen. Counts, like the
   * two below, are exact up to 2^53 - 1, far more packets than one key ever protects.
   */
  get accepted(): number {
    return this.#accepted;
  }

  /** How many times {@link ReplayWindow.commit} was given a counter already committed. */
  get rejectedDuplicate(): number {
    return this.#rejectedDuplicate;
  }

  /** How many times {@link ReplayWindow.commit} was given a counter below the window. */
  get rejectedTooOld(): number {
    return this.#rejectedTooOld;
  }

  /**
   * Tells what the window makes of `counter`, without changing anything (not even the tallies).
   * Call it before decrypting a packet; a counter it calls fresh is not yet marked as seen.
   *
   * @throws {@link InvalidArgumentError} if `counter` is not a bigint from 0 to 2^64 - 1. A
   * counter parsed from 8 bytes of a packet always is, so this is a programming error.
   */
  check(counter: bigint): ReplayVerdict {
    checkCounter(counter);
    if (counter > this.#highest) return 'fresh';
    if (counter < this.#oldestInWindow) return 'too-old';
    return this.#isMarked(counter) ? 'duplicate' : 'fresh';
  }

  /**
   * Marks `counter` as seen if it is fresh, moving the window forward when it is above the highest
   * committed counter, and returns the verdict it had before the call: so committing a counter
   * twice gives `'fresh'` and then `'duplicate'`. Counts the verdict in {@link
   * ReplayWindow.accepted}, {@link ReplayWindow.rejectedDuplicate} or {@link
   * ReplayWindow.rejectedTooOld}; a duplicate or too-old counter changes nothing else.
   *
   * Call it only for a packet that authenticated: a commit is what lets a counter move the
   * window, and a forged counter must never do that. Once 2^64 - 1 is committed the window cannot
   * move further; the channel rekeys long before.
   *
   * @throws {@link InvalidArgumentError} if `counter` is not a bigint from 0 to 2^64 - 1; nothing
   * changes.
   */
  commit(counter: bigint): ReplayVerdict {
    checkCounter(counter);
    if (counter > this.#highest) {
      this.#advanceTo(counter);
      this.#accepted += 1;
      return 'fresh';
    }
    if (counter < this.#oldestInWindow) {
      this.#rejectedTooOld += 1;
      return 'too-old';
    }
    const position = Number(counter & this.#positionMask);
    const word = position >>> 5;
    const bit = 1 << (position & 31);
    if ((this.#words[word]! & bit) !== 0) {
      this.#rejectedDuplicate += 1;
      return 'duplicate';
    }
    this.#words[word]! |= bit;
    this.#accepted += 1;
    return 'fresh';
  }

  #isMarked(counter: bigint): boolean {
    const position = Number(counter & this.#positionMask);
    return (this.#words[position >>> 5]! & (1 << (position & 31))) !== 0;
  }

  /**
   * Makes `counter` (above the highest) the new highest and marks it. The ring places of the
   * counters entering the window, H + 1 to `counter`, still hold the bits of counters one ring
   * earlier, which have left the window; clear them. Every place of a counter still inside the
   * window keeps its bit, because the ring has at least `size` places.
   */
  #advanceTo(counter: bigint): void {
    // With the -1 sentinel the first commit clears places 0 to `counter` of a ring that is
    // already clear: harmless, and it keeps this path free of special cases.
    const distance = counter - this.#highest;
    if (distance >= this.#ringBitsBig) {
      this.#words.fill(0);
    } else {
      this.#clearPlaces(Number((this.#highest + 1n) & this.#positionMask), Number(distance));
    }
    this.#highest = counter;
    this.#oldestInWindow = counter - this.#sizeBig + 1n;
    const position = Number(counter & this.#positionMask);
    this.#words[position >>> 5]! |= 1 << (position & 31);
  }

  /** Clears `count` (less than the ring's length) consecutive ring places from `start`, wrapping. */
  #clearPlaces(start: number, count: number): void {
    const lastPosition = this.#ringBits - 1;
    let position = start;
    let remaining = count;
    while (remaining > 0) {
      const offset = position & 31;
      const run = Math.min(WORD_BITS - offset, remaining);
      // `run` low bits set (all 32 when run is 32), shifted to the place of the first one.
      const mask = (0xffff_ffff >>> (WORD_BITS - run)) << offset;
      this.#words[position >>> 5]! &= ~mask;
      position = (position + run) & lastPosition;
      remaining -= run;
    }
  }
}

/** Throws {@link InvalidArgumentError} unless `counter` is a bigint from 0 to 2^64 - 1. */
function checkCounter(counter: bigint): void {
  // typeof guards against JavaScript callers passing a number, which would compare fine with
  // bigints and then fail deep inside with a TypeError.
  if (typeof counter !== 'bigint' || counter < 0n || counter > MAX_COUNTER) {
    throw new InvalidArgumentError(
      `a packet counter is a bigint from 0 to 2^64 - 1, got ${String(counter)}`,
    );
  }
}
