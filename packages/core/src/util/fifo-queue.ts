/**
 * A first-in, first-out queue whose `push` and `shift` cost the same however many items wait.
 *
 * @module
 */

/** Taken items before the array is compacted, at the least: compaction copies what waits. */
const COMPACT_AFTER = 1024;

/**
 * Items waiting in order. `Array.prototype.shift` moves every remaining item, which turns a
 * queue that keeps thousands waiting quadratic; this one advances a head index instead, drops its
 * reference to each item taken, and compacts once the taken part is at least half the array.
 */
export class FifoQueue<Item> {
  #items: (Item | undefined)[] = [];
  #head = 0;

  /** Items waiting. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: Item): void {
    this.#items.push(item);
  }

  /** The item `index` places after the oldest (0: the oldest), or `undefined`. */
  peek(index = 0): Item | undefined {
    return index < this.length ? this.#items[this.#head + index] : undefined;
  }

  /** Takes the oldest item, or `undefined` when none waits. */
  shift(): Item | undefined {
    const items = this.#items;
    const head = this.#head;
    if (head >= items.length) return undefined;
    const item = items[head];
    items[head] = undefined;
    this.#head = head + 1;
    if (this.#head === items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= items.length) {
      items.splice(0, this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Drops every item. */
  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}
