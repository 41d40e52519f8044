/**
 * A wrapper that keeps a secret (a password) out of logs.
 *
 * @module
 */

const REDACTED = '[redacted]';

/**
 * Holds a secret string so that logging the object that carries it never prints it:
 * `JSON.stringify`, `String()`, template literals and Node's `util.inspect` (console.log) all show
 * `[redacted]`. Only {@link Secret.reveal} returns the value.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself. Call it only where the secret is used (to check a password hash). */
  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  /** What Node's util.inspect (and so console.log) prints. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret(${REDACTED})`;
  }
}
