/**
 * A first-in, first-out queue of events whose `shift` costs the same however many wait.
 *
 * @module
 */

/** Events waiting for `nextEvent()`; taking one never copies the rest. */
export class FifoQueue<Item> {
  #items: Item[] = [];
  #head = 0;

  push(item: Item): void {
    this.#items.push(item);
  }

  /** The oldest item, or `undefined` when none waits. */
  shift(): Item | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head++];
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
    return item;
  }
}
