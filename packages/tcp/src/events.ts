/**
 * Events collected from a callback, with a way to wait for one: for tests, which must wait for
 * what happens with a deadline, never for a fixed time.
 *
 * @module
 */

/** Collected events with a way to wait for one, with a deadline (never a fixed sleep). */
export class Events<Event extends { readonly type: string }> {
  readonly all: Event[] = [];
  readonly #waiters = new Set<() => void>();

  push = (event: Event): void => {
    this.all.push(event);
    for (const waiter of this.#waiters) waiter();
  };

  ofType<Type extends Event['type']>(type: Type): Extract<Event, { type: Type }>[] {
    return this.all.filter((event): event is Extract<Event, { type: Type }> => event.type === type);
  }

  /** Resolves with the first event (already seen or to come) that matches. */
  waitFor<Type extends Event['type']>(
    type: Type,
    predicate: (event: Extract<Event, { type: Type }>) => boolean = () => true,
    timeout = 10_000,
  ): Promise<Extract<Event, { type: Type }>> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.ofType(type).find(predicate);
        if (found === undefined) return false;
        this.#waiters.delete(waiter);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const waiter = (): void => {
        check();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(
            `no ${type} event within ${timeout} ms; saw ${this.all.map((event) => event.type).join(', ')}`,
          ),
        );
      }, timeout);
      this.#waiters.add(waiter);
      check();
    });
  }
}
